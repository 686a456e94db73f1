/**
 * Realistic model sizes on CPU: random-weight llama GGUFs in the shape of a 0.5B
 * (Qwen2.5-0.5B blocks) and a 1B (Llama-3.2-1B) model, Q4_0 and Q8_0, generated once by
 * Colo's own writer into models/cache/ (git-ignored). For each: time to first token for
 * a 128-token prompt and decode tokens/s at 1 stream, llama.cpp threads 2, through Colo
 * (WebSocket, FlatBuffers, a separate server process) against in-process
 * node-llama-cpp (LlamaCompletion) in the same run. Temperature 0.
 *
 * Kept small on purpose: 32 generated tokens and 3 measured runs per path (after one
 * warm-up), because a 1B decode on 2 shared cores runs at a few tokens/s. Each run
 * starts with a different word so no run reuses another's cached prompt prefix (both
 * Colo's sequence pool and LlamaCompletion would): every TTFT is a full 128-token
 * prompt evaluation.
 *
 *   node bench/lib/run.mjs bench/e2e/synthetic-shapes.ts [--shapes 0.5b,1b] [--quants q4_0,q8_0] [--tokens 32] [--runs 3] [--threads 2]
 *
 * Checks the answer first: both paths must see the same prompt length and, at
 * temperature 0, produce the same tokens (text compared; random weights make it noise,
 * but the same noise).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getLlama, LlamaCompletion } from 'node-llama-cpp';
import WebSocket from 'ws';
import { resolveModel, type SyntheticQuant, type SyntheticShapeName } from '../../src/models';
import { decodeServerFrame, encodeRequest } from '../../src/protocol';
import { machineLine, writeResult } from '../lib';
import { ROOT, startColoProcess } from './colo-process';
import { loadNow } from './loadgen-core';

const { values } = parseArgs({
  options: {
    shapes: { type: 'string', default: '0.5b,1b' },
    quants: { type: 'string', default: 'q4_0,q8_0' },
    tokens: { type: 'string', default: '32' },
    runs: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    'prompt-tokens': { type: 'string', default: '128' },
    quick: { type: 'boolean', default: false },
  },
});
const QUICK = values.quick || process.env.BENCH_QUICK === '1';
const SHAPES = (QUICK ? '0.5b' : values.shapes!).split(',') as SyntheticShapeName[];
const QUANTS = (QUICK ? 'q4_0' : values.quants!).split(',') as SyntheticQuant[];
const TOKENS = QUICK ? 8 : Number(values.tokens);
const RUNS = QUICK ? 1 : Number(values.runs);
const THREADS = Number(values.threads);
const PROMPT_TOKENS = Number(values['prompt-tokens']);
const CACHE_DIR = resolve(ROOT, 'models/cache');

const WORDS =
  'the stock market rose after the company said quarter revenue growth beat estimates and the bank raised its price target while oil and gold fell'.split(
    ' ',
  );
const STARTS = [
  'price',
  'shares',
  'earnings',
  'inflation',
  'bond',
  'dollar',
  'euro',
  'trade',
  'deal',
  'yield',
];

interface Run {
  ttftMs: number;
  decodeTokensPerSec: number;
  totalMs: number;
  tokens: number;
  promptTokens: number;
  text: string;
}

interface PathStats {
  runs: Run[];
  ttftMsMedian: number;
  decodeTokensPerSecMedian: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
};
const stats = (runs: Run[]): PathStats => ({
  runs,
  ttftMsMedian: median(runs.map((r) => r.ttftMs)),
  decodeTokensPerSecMedian: median(runs.map((r) => r.decodeTokensPerSec)),
});
/** Decode speed excludes the first token, which carries the prompt evaluation. */
const decodeRate = (tokens: number, totalMs: number, ttftMs: number): number =>
  tokens > 1 ? ((tokens - 1) * 1000) / Math.max(totalMs - ttftMs, 1e-6) : 0;

/** run i's prompt: a distinct first word, then words up to the token budget. */
function promptFor(i: number, words: number): string {
  return [
    STARTS[i % STARTS.length]!,
    ...Array.from({ length: words - 1 }, (_, k) => WORDS[k % WORDS.length]!),
  ].join(' ');
}

async function inProcess(path: string): Promise<{ stats: PathStats; words: number; loadMs: number }> {
  const t0 = performance.now();
  const llama = await getLlama({ gpu: false, maxThreads: THREADS, logLevel: 'error' as never });
  const model = await llama.loadModel({ modelPath: path });
  const ctx = await model.createContext({ contextSize: 512, sequences: 1, threads: THREADS });
  const loadMs = performance.now() - t0;
  // Find how many words make PROMPT_TOKENS tokens (with BOS) in this vocabulary.
  let words = PROMPT_TOKENS;
  while (words > 1 && model.tokenize(promptFor(0, words)).length + 1 > PROMPT_TOKENS) words--; // + BOS
  const seq = ctx.getSequence();
  const runs: Run[] = [];
  try {
    for (let i = 0; i <= RUNS; i++) {
      const prompt = promptFor(i, words);
      const completion = new LlamaCompletion({ contextSequence: seq });
      let first = 0;
      let tokens = 0;
      const t = performance.now();
      // Tokens, not the string: Colo tokenizes with model.tokenize(prompt) (SentencePiece
      // space prefix), while LlamaCompletion given a string trims it; same input both ways.
      const text = await completion.generateCompletion(model.tokenize(prompt), {
        maxTokens: TOKENS,
        temperature: 0,
        onToken: (ts) => {
          if (tokens === 0) first = performance.now() - t;
          tokens += ts.length;
        },
      });
      const totalMs = performance.now() - t;
      completion.dispose();
      if (i > 0)
        runs.push({
          ttftMs: first,
          totalMs,
          tokens,
          promptTokens: model.tokenize(prompt).length,
          text,
          decodeTokensPerSec: decodeRate(tokens, totalMs, first),
        });
    }
  } finally {
    await ctx.dispose();
    await model.dispose();
    await llama.dispose();
  }
  return { stats: stats(runs), words, loadMs };
}

async function throughColo(path: string, words: number): Promise<{ stats: PathStats; startMs: number }> {
  const t0 = performance.now();
  const colo = await startColoProcess({
    cache: { enabled: false },
    engine: {
      models: [
        {
          name: 'synthetic',
          source: path,
          sequences: 1,
          threads: THREADS,
          contextSize: 512,
          warmupPrompt: 'hello',
        },
      ],
    },
  });
  const startMs = performance.now() - t0;
  const runs: Run[] = [];
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${colo.port}/v1/ws`);
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    for (let i = 0; i <= RUNS; i++) {
      const run = await new Promise<Run>((res, rej) => {
        let first = 0;
        const t = performance.now();
        const onMsg = (d: Buffer) => {
          const m = decodeServerFrame(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
          if (m.kind === 'token' && first === 0) first = performance.now() - t;
          if (m.kind === 'error') rej(m.error);
          if (m.kind !== 'result') return;
          ws.off('message', onMsg);
          const totalMs = performance.now() - t;
          const tokens = m.result.usage.completionTokens;
          // A token that decodes to no text sends no TokenChunk; fall back to the server's own TTFT.
          const ttftMs = first || m.result.timings.ttftUs / 1000;
          res({
            ttftMs,
            totalMs,
            tokens,
            promptTokens: m.result.usage.promptTokens,
            text: m.result.text,
            decodeTokensPerSec: decodeRate(tokens, totalMs, ttftMs),
          });
        };
        ws.on('message', onMsg);
        ws.send(
          encodeRequest({
            id: `s${i}`,
            model: 'synthetic',
            prompt: promptFor(i, words),
            sampling: { maxTokens: TOKENS, temperature: 0 },
            stream: true,
          }),
        );
      });
      if (i > 0) runs.push(run);
    }
    ws.close();
  } finally {
    await colo.stop();
  }
  return { stats: stats(runs), startMs };
}

const loadavgStart = loadNow();
console.log(
  `# synthetic-shapes\n${machineLine()}\n${TOKENS} tokens, ${RUNS} runs + 1 warm-up per path, threads ${THREADS}, ~${PROMPT_TOKENS}-token prompt, temperature 0`,
);
const rows = [];
for (const shape of SHAPES) {
  for (const quant of QUANTS) {
    const t0 = performance.now();
    const model = await resolveModel(`synthetic:${shape}-${quant}`, { cacheDir: CACHE_DIR, offline: true });
    const resolveMs = performance.now() - t0;
    const base = await inProcess(model.path);
    const colo = await throughColo(model.path, base.words);
    // Answer check: same prompt length, same greedy text.
    const b0 = base.stats.runs[0]!;
    const c0 = colo.stats.runs[0]!;
    // Both count the prompt without BOS (Colo's usage.prompt_tokens does not include it).
    const samePrompt = b0.promptTokens === c0.promptTokens;
    const sameText = base.stats.runs.every((r, i) => r.text === colo.stats.runs[i]?.text);
    if (!samePrompt)
      throw new Error(
        `answer check failed: prompt is ${b0.promptTokens} tokens in-process, ${c0.promptTokens} through Colo`,
      );
    const row = {
      model: `${shape}-${quant}`,
      file: model.path,
      origin: model.origin,
      resolveMs: Math.round(resolveMs),
      promptTokens: b0.promptTokens,
      sameText,
      inProcess: { ...base.stats, loadMs: Math.round(base.loadMs) },
      colo: { ...colo.stats, startMs: Math.round(colo.startMs) },
      ttftRatio: colo.stats.ttftMsMedian / base.stats.ttftMsMedian,
      decodeRatio: colo.stats.decodeTokensPerSecMedian / base.stats.decodeTokensPerSecMedian,
      loadavg: loadNow(),
    };
    rows.push(row);
    console.log(
      `${row.model} (${row.origin}, prompt ${row.promptTokens} tokens, texts ${sameText ? 'identical' : 'DIFFER'}): ` +
        `ttft in-process ${base.stats.ttftMsMedian.toFixed(0)} ms, colo ${colo.stats.ttftMsMedian.toFixed(0)} ms (${row.ttftRatio.toFixed(2)}x); ` +
        `decode in-process ${base.stats.decodeTokensPerSecMedian.toFixed(1)} tok/s, colo ${colo.stats.decodeTokensPerSecMedian.toFixed(1)} tok/s (${row.decodeRatio.toFixed(2)}x)`,
    );
  }
}
const results = { tokens: TOKENS, runs: RUNS, threads: THREADS, loadavgStart, loadavgEnd: loadNow(), rows };
const path = writeResult('synthetic-shapes', 'e2e', results);
console.log(JSON.stringify(results));
if (path) console.log(`wrote ${path}`);
