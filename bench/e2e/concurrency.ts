/**
 * Concurrency scaling on one model: 1, 2, 4, 8, 16, 32 concurrent streams through Colo
 * (stories260K, one worker with 32 sequences, WebSocket, one connection per stream,
 * closed loop: each stream sends its next request when the last one finished), for
 * llama.cpp threads 1 (and 2 with --threads 1,2). Reports aggregate tokens/s and per-stream inter-token
 * latency, and the batching evidence: aggregate tokens/s at 8 streams over 1 stream.
 * Baseline in the same run: in-process node-llama-cpp, N sequences on one context,
 * N concurrent LlamaCompletions (what Colo's worker does, without Colo around it).
 *
 *   node bench/lib/run.mjs bench/e2e/concurrency.ts [--streams 1,2,4,8,16,32] [--threads 1] [--tokens 64] [--rounds 4] [--no-inprocess] [--quick] [--cli SAVED/cli.js]
 *
 * Checks the answer first: at temperature 0, 8 concurrent streams must each return
 * `--tokens` tokens, and the run reports how many match the single-stream text.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getLlama, LlamaCompletion } from 'node-llama-cpp';
import WebSocket from 'ws';
import { decodeServerFrame, encodeRequest } from '../../src/protocol';
import { formatSummary, machineLine, summarizeValues, writeResult, type LatencySummary } from '../lib';
import { DEFAULT_MODEL_PATH, ROOT, startColoProcess } from './colo-process';
import { LOAD_DEFAULTS, loadNow, type LoadOptions } from './loadgen-core';
import { runLoad } from './loadgen';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '1,2,4,8,16,32' },
    threads: { type: 'string', default: '1' },
    tokens: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '4' },
    model: { type: 'string', default: DEFAULT_MODEL_PATH },
    prompt: { type: 'string', default: 'Once upon a time' },
    'no-inprocess': { type: 'boolean', default: false },
    /** The built CLI to serve (a saved build compares before/after). */
    cli: { type: 'string', default: 'dist/cli.js' },
    quick: { type: 'boolean', default: false },
  },
});
const QUICK = values.quick || process.env.BENCH_QUICK === '1';
const STREAMS = (QUICK ? '1,8' : values.streams!).split(',').map(Number);
const THREADS = (QUICK ? '1' : values.threads!).split(',').map(Number);
const TOKENS = Number(values.tokens);
/** Requests per stream at each level (closed loop). */
const ROUNDS = QUICK ? 2 : Number(values.rounds);
const PROMPT = values.prompt!;
const MAX_SEQ = Math.max(...STREAMS);

interface Level {
  streams: number;
  aggregateTokensPerSec: number;
  perStreamTokensPerSec: number;
  itl: LatencySummary;
  ttft: LatencySummary;
  errors: number;
  requests: number;
}

/** N concurrent requests over N connections; returns the texts (for the answer check). */
async function concurrentTexts(port: number, n: number): Promise<{ text: string; tokens: number }[]> {
  return Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise<{ text: string; tokens: number }>((res, rej) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`);
          ws.once('error', rej);
          ws.once('open', () =>
            ws.send(
              encodeRequest({
                id: `c${i}`,
                model: 'bench',
                prompt: PROMPT,
                sampling: { maxTokens: TOKENS, temperature: 0 },
                stream: false,
              }),
            ),
          );
          ws.on('message', (d: Buffer) => {
            const m = decodeServerFrame(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
            if (m.kind === 'result') {
              if (m.result.route.cached) rej(new Error('answer came from the response cache'));
              res({ text: m.result.text, tokens: m.result.usage.completionTokens });
            }
            if (m.kind === 'error') rej(m.error);
            if (m.kind === 'result' || m.kind === 'error') ws.close();
          });
        }),
    ),
  );
}

async function throughColo(
  threads: number,
): Promise<{ levels: Level[]; check: { single: string; identical: number; of: number } }> {
  const colo = await startColoProcess(
    {
      // Repeated temperature-0 prompts would otherwise be answered from the response cache.
      cache: { enabled: false },
      engine: {
        models: [
          {
            name: 'bench',
            source: values.model,
            sequences: MAX_SEQ,
            threads,
            contextSize: 256,
            maxQueue: 4096,
          },
        ],
      },
    },
    {},
    [],
    resolve(ROOT, values.cli!),
  );
  try {
    const [single] = await concurrentTexts(colo.port, 1);
    const many = await concurrentTexts(colo.port, Math.min(8, MAX_SEQ));
    for (const r of [single!, ...many]) {
      if (r.text.length === 0 || r.tokens !== TOKENS)
        throw new Error(
          `answer check failed: got ${r.tokens} tokens ("${r.text.slice(0, 40)}"), wanted ${TOKENS}`,
        );
    }
    const check = {
      single: single!.text,
      identical: many.filter((r) => r.text === single!.text).length,
      of: many.length,
    };
    console.log(
      `threads ${threads}: answers ok (${TOKENS} tokens each); ${check.identical}/${check.of} concurrent greedy texts identical to the single-stream one`,
    );
    const levels: Level[] = [];
    for (const n of STREAMS) {
      const o: LoadOptions = {
        ...LOAD_DEFAULTS,
        url: `ws://127.0.0.1:${colo.port}`,
        transport: 'ws',
        mode: 'closed',
        concurrency: n,
        connections: n,
        count: n * ROUNDS,
        durationMs: 60_000,
        warmup: Math.min(n, 4),
        model: 'bench',
        prompt: PROMPT,
        maxTokens: TOKENS,
        temperature: 0,
        stream: true,
        modelPath: values.model!,
      };
      const { report: r } = await runLoad(o, o.url!);
      if (r.cached > 0)
        throw new Error(
          `${r.cached} answers came from the response cache; the figures would not be inference`,
        );
      const level: Level = {
        streams: n,
        aggregateTokensPerSec: r.tokensPerSec,
        perStreamTokensPerSec: r.tokensPerSec / n,
        itl: r.itl,
        ttft: r.ttft,
        errors: r.errors,
        requests: r.completed,
      };
      levels.push(level);
      console.log(
        `  colo      t${threads} streams ${String(n).padStart(2)}: ${Math.round(level.aggregateTokensPerSec)} tok/s aggregate, ${Math.round(level.perStreamTokensPerSec)} per stream; itl ${formatSummary(r.itl)}${r.errors ? `; errors ${JSON.stringify(r.errorsByCode)}` : ''}`,
      );
    }
    return { levels, check };
  } finally {
    await colo.stop();
  }
}

/** In-process: one context with n sequences, n concurrent completions per round. */
async function inProcess(threads: number): Promise<Level[]> {
  const llama = await getLlama({ gpu: false, maxThreads: threads, logLevel: 'error' as never });
  const model = await llama.loadModel({ modelPath: values.model! });
  const levels: Level[] = [];
  try {
    for (const n of STREAMS) {
      const ctx = await model.createContext({
        contextSize: 256 * n,
        sequences: n,
        threads,
        batchSize: Math.max(512, n * 16),
      });
      const seqs = Array.from({ length: n }, () => ctx.getSequence());
      const promptTokens = model.tokenize(PROMPT);
      const itl: number[] = [];
      let tokens = 0;
      const round = () =>
        Promise.all(
          seqs.map(async (seq) => {
            const c = new LlamaCompletion({ contextSequence: seq });
            let last = 0;
            // Tokens, as Colo's engine passes them (model.tokenize keeps the SentencePiece
            // space prefix; LlamaCompletion given a string would trim it).
            await c.generateCompletion(promptTokens, {
              maxTokens: TOKENS,
              temperature: 0,
              onToken: (t) => (tokens += t.length),
              onTextChunk: () => {
                const now = Number(process.hrtime.bigint());
                if (last) itl.push(now - last);
                last = now;
              },
            });
            c.dispose();
          }),
        );
      await round(); // warm-up
      itl.length = 0;
      tokens = 0;
      const t0 = process.hrtime.bigint();
      for (let r = 0; r < ROUNDS; r++) await round();
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      await ctx.dispose();
      const agg = tokens / secs;
      const level: Level = {
        streams: n,
        aggregateTokensPerSec: agg,
        perStreamTokensPerSec: agg / n,
        itl: summarizeValues(itl),
        ttft: summarizeValues([]),
        errors: 0,
        requests: n * ROUNDS,
      };
      levels.push(level);
      console.log(
        `  in-proc   t${threads} streams ${String(n).padStart(2)}: ${Math.round(agg)} tok/s aggregate, ${Math.round(agg / n)} per stream; itl ${formatSummary(level.itl)}`,
      );
    }
  } finally {
    await model.dispose();
    await llama.dispose();
  }
  return levels;
}

const batchingGain = (levels: Level[], n: number): number | undefined => {
  const one = levels.find((l) => l.streams === 1);
  const at = levels.find((l) => l.streams === n);
  return one && at ? at.aggregateTokensPerSec / one.aggregateTokensPerSec : undefined;
};

const loadavgStart = loadNow();
console.log(
  `# concurrency\n${machineLine()}\nmodel ${values.model}, ${TOKENS} tokens per request, ${ROUNDS} requests per stream, temperature 0`,
);
const runs = [];
for (const threads of THREADS) {
  let colo: Awaited<ReturnType<typeof throughColo>>;
  try {
    colo = await throughColo(threads);
  } catch (err) {
    // Kept as a result: e.g. threads 2 on a loaded 2-core box can miss the 30 s deadline.
    const e = err as { code?: string; message?: string };
    console.log(`  threads ${threads}: failed: ${e.code ?? ''} ${e.message ?? String(err)}`);
    runs.push({ threads, failed: { code: e.code, message: e.message ?? String(err) }, loadavg: loadNow() });
    continue;
  }
  const base = values['no-inprocess'] ? undefined : await inProcess(threads);
  const gain = batchingGain(colo.levels, 8);
  const baseGain = base ? batchingGain(base, 8) : undefined;
  console.log(
    `  threads ${threads}: aggregate 8 streams / 1 stream = colo ${gain?.toFixed(2) ?? 'n/a'}x, in-process ${baseGain?.toFixed(2) ?? 'n/a'}x (target >= 3x)`,
  );
  runs.push({
    threads,
    check: colo.check,
    colo: colo.levels,
    inProcess: base,
    batchingGain8: gain,
    inProcessBatchingGain8: baseGain,
    loadavg: loadNow(),
  });
}
const results = {
  model: values.model,
  tokens: TOKENS,
  rounds: ROUNDS,
  loadavgStart,
  loadavgEnd: loadNow(),
  runs,
};
const path = writeResult('concurrency', 'e2e', results);
console.log(JSON.stringify(results));
if (path) console.log(`wrote ${path}`);
