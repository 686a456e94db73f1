/**
 * One greedy stream through Colo against its floor, in one run: the low-level
 * `sequence.evaluate` generator in this process on a 1-sequence context (the floor the
 * issue names, for each attention setting Colo may choose at load: flash attention on
 * or off, KV cache f16 or f32; each Colo is read against the one with its own setting,
 * and against the best of them), the same on an 8-sequence context (what batching costs a lone stream),
 * and one or more Colo servers (separate processes, WebSocket, FlatBuffers, default
 * config but for the response cache, which would answer a repeated greedy prompt without
 * the model); `--sse` adds each server over HTTP SSE (`POST /v1/completions`, Node's
 * fetch: its figures include fetch itself, ~1.3–2 ms of first token and ~7–12% of decode rate here, bench/e2e/sse-ttft.ts); `--client cpp` (or `ts,cpp`) streams over WebSocket from the C++ SDK's
 * `colo_bench` in its own process instead of (or as well as) the ws package in this one.
 * Rounds interleave every subject; ratios and added TTFT are taken per round
 * against the floor's round, then the median, so neighbours' load hits every subject alike.
 *
 *   npm run build && node bench/lib/run.mjs bench/e2e/stream-floor.ts \
 *     [--rounds 5] [--runs 12] [--tokens 128] [--warmup 500] [--sse] [--client ts,cpp]
 *     [--colo after=dist/cli.js,before=SAVED/cli.js] [--colo-env before:KEY=VALUE]
 *     [--attention auto|off-f32|...]
 *
 * Checks the answer first: greedy decoding must give the same text on every path (the
 * same number of tokens for the C++ client, which reports counts).
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { getLlama, type LlamaContextSequence, type LlamaModel, type Token } from 'node-llama-cpp';
import WebSocket from 'ws';
import { decodeServerFrame, encodeRequest } from '../../src/protocol';
import { machineLine, writeResult } from '../lib';
import {
  coloSubjects,
  DEFAULT_MODEL_PATH,
  pinnedAttention,
  ROOT,
  startColoProcess,
  type ColoProcess,
} from './colo-process';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: DEFAULT_MODEL_PATH },
    tokens: { type: 'string', default: '128' },
    runs: { type: 'string', default: '12' },
    rounds: { type: 'string', default: '5' },
    prompt: { type: 'string', default: 'Once upon a time' },
    colo: { type: 'string', default: 'colo=dist/cli.js' },
    /** Also stream over HTTP SSE (POST /v1/completions) from each build. */
    sse: { type: 'boolean', default: false },
    sequences: { type: 'string', default: '8' },
    /**
     * WebSocket clients, comma-separated: ts (the ws package in this process) and/or cpp
     * (the C++ SDK's colo_bench in stream mode, in its own process, as an execution
     * engine's client would be). cpp needs
     * `cmake -S native/clients/cpp -B native/build/cpp-client && cmake --build native/build/cpp-client`.
     */
    client: { type: 'string', default: 'ts' },
    /** Short requests (2 tokens) sent to each Colo before timing, so its JIT is warm as a serving process's is. */
    warmup: { type: 'string', default: '500' },
    /**
     * Environment for one build's server, `label:KEY=VALUE` (comma-separated), e.g.
     * `--colo a=dist/cli.js,b=dist/cli.js --colo-env b:COLO_BUSY_POLL_MS=0` reads a
     * setting against the default in one run.
     */
    'colo-env': { type: 'string', default: '' },
    /** Pin every Colo's attention setting (e.g. off-f32) instead of its load-time probe: two builds then run the same kernels. */
    attention: { type: 'string', default: 'auto' },
  },
});
const TOKENS = Number(values.tokens);
const RUNS = Number(values.runs);
const ROUNDS = Number(values.rounds);
const PROMPT = values.prompt!;

interface Run {
  ttftUs: number;
  decodeTokS: number;
  text: string;
  /** Tokens generated (in-process runs). */
  tokens?: number;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

const llama = await getLlama({ gpu: false, maxThreads: 1, logLevel: 'error' as never });
const model = await llama.loadModel({ modelPath: values.model! });
const ctx1 = await model.createContext({ contextSize: 512, sequences: 1, threads: 1 });
// Colo chooses flash attention and the KV cache type by measurement on the CPU
// (src/engine/attention.ts), and the choice moves both the decode rate and the first
// token: each Colo is read against the in-process floor with its own setting (what
// Colo's path adds), and against the best of the settings per figure (the highest rate,
// the lowest TTFT: what a user could have in-process at best).
const ctx1off = await model.createContext({
  contextSize: 512,
  sequences: 1,
  threads: 1,
  flashAttention: false,
});
const ctx1off32 = await model.createContext({
  contextSize: 512,
  sequences: 1,
  threads: 1,
  flashAttention: false,
  experimentalKvCacheKeyType: 'F32',
  experimentalKvCacheValueType: 'F32',
});
const ctx8 = await model.createContext({ contextSize: 512 * 8, sequences: 8, threads: 1 });
const seq1 = ctx1.getSequence();
const seq1off = ctx1off.getSequence();
const seq1off32 = ctx1off32.getSequence();
const seq8 = ctx8.getSequence();

function promptTokens(m: LlamaModel): Token[] {
  const t = m.tokenize(PROMPT);
  return m.tokens.shouldPrependBosToken && m.tokens.bos !== null ? [m.tokens.bos, ...t] : t;
}

/** The floor: evaluate's generator, greedy, detokenizing each token as a stream would. */
async function inProcess(seq: LlamaContextSequence): Promise<Run> {
  await seq.clearHistory();
  const out: Token[] = [];
  let first = 0;
  let last = 0;
  const t0 = performance.now();
  for await (const tok of seq.evaluate(promptTokens(model), { temperature: 0 })) {
    if (model.isEogToken(tok)) break;
    model.detokenize([tok], false, out);
    out.push(tok);
    last = performance.now();
    if (first === 0) first = last;
    if (out.length >= TOKENS) break;
  }
  return {
    ttftUs: (first - t0) * 1000,
    decodeTokS: ((out.length - 1) / (last - first)) * 1000,
    text: model.detokenize(out),
    tokens: out.length,
  };
}

async function openWs(colo: ColoProcess): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${colo.port}/v1/ws`);
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  return ws;
}

let reqId = 0;
function throughColo(ws: WebSocket, tokens = TOKENS): Promise<Run> {
  return new Promise<Run>((res, rej) => {
    let first = 0;
    let last = 0;
    const t0 = performance.now();
    const onMsg = (data: Buffer) => {
      const m = decodeServerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (m.kind === 'token') {
        last = performance.now();
        if (first === 0) first = last;
      } else if (m.kind === 'result') {
        ws.off('message', onMsg);
        res({
          ttftUs: (first - t0) * 1000,
          decodeTokS: ((m.result.usage.completionTokens - 1) / (last - first)) * 1000,
          text: m.result.text,
        });
      } else if (m.kind === 'error') {
        ws.off('message', onMsg);
        rej(new Error(`${m.error.code}: ${m.error.message}`));
      }
    };
    ws.on('message', onMsg);
    ws.send(
      encodeRequest({
        id: `s${reqId++}`,
        model: 'bench',
        prompt: PROMPT,
        sampling: { maxTokens: tokens, temperature: 0 },
        stream: true,
      }),
    );
  });
}

/**
 * The same stream over HTTP SSE (`POST /v1/completions`, `stream: true`, the first
 * transport) with Node's fetch on a keep-alive connection. Tokens: the final usage
 * (`stream_options.include_usage`); first/last: the first and last chunk carrying text.
 */
async function throughSse(port: number, tokens = TOKENS): Promise<Run> {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'bench',
      prompt: PROMPT,
      max_tokens: tokens,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (!res.ok || !res.body) throw new Error(`SSE ${res.status}: ${await res.text()}`);
  const decoder = new TextDecoder();
  let first = 0;
  let last = 0;
  let text = '';
  let completion = 0;
  let buf = '';
  for await (const bytes of res.body) {
    const now = performance.now();
    buf += decoder.decode(bytes, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, nl);
      buf = buf.slice(nl + 2);
      if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
      const chunk = JSON.parse(event.slice(6)) as {
        choices: { text?: string }[];
        usage?: { completion_tokens: number } | null;
      };
      const piece = chunk.choices[0]?.text ?? '';
      if (piece.length > 0) {
        text += piece;
        last = now;
        if (first === 0) first = now;
      }
      if (chunk.usage) completion = chunk.usage.completion_tokens;
    }
  }
  return { ttftUs: (first - t0) * 1000, decodeTokS: ((completion - 1) / (last - first)) * 1000, text };
}

const coloSpecs = coloSubjects(values.colo!, values['colo-env']);
const colos: { label: string; proc: ColoProcess; ws: WebSocket }[] = [];
for (const c of coloSpecs) {
  const proc = await startColoProcess(
    {
      cache: { enabled: false },
      engine: {
        models: [
          {
            name: 'bench',
            source: values.model,
            sequences: Number(values.sequences),
            threads: 1,
            contextSize: 512,
            ...pinnedAttention(values.attention!),
          },
        ],
      },
    },
    c.env,
    [],
    c.cli,
  );
  colos.push({ label: c.label, proc, ws: await openWs(proc) });
}

const CPP_BENCH = resolve(ROOT, 'native/build/cpp-client/colo_bench');
const clients = values.client!.split(',');
if (clients.includes('cpp') && !existsSync(CPP_BENCH))
  throw new Error(
    `${CPP_BENCH} missing: cmake -S native/clients/cpp -B native/build/cpp-client && cmake --build native/build/cpp-client`,
  );

/** n streams (after 2 unmeasured) from the C++ SDK, its own process on its own connection. */
function throughCpp(port: number, n: number, tokens = TOKENS): Run[] {
  const r = spawnSync(
    CPP_BENCH,
    [
      `ws://127.0.0.1:${port}/v1/ws`,
      'stream',
      String(n),
      '--warmup',
      '2',
      '--model',
      'bench',
      '--text',
      PROMPT,
      '--max-tokens',
      String(tokens),
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`colo_bench stream failed: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [ttftNs, decodeNs, completion] = line.split(' ').map(Number) as [number, number, number];
      // The SDK's bench reports counts, not text: the answer check compares token counts.
      return {
        ttftUs: ttftNs / 1000,
        decodeTokS: (completion - 1) / (decodeNs / 1e9),
        text: `#${completion}`,
      };
    });
}

type Subject = { label: string; runs: (n: number) => Promise<Run[]> };
const each = (run: () => Promise<Run>) => async (n: number) => {
  const out: Run[] = [];
  for (let i = 0; i < n + 2; i++) {
    const x = await run();
    if (i >= 2) out.push(x);
  }
  return out;
};
const subjects: Subject[] = [
  { label: 'in-process evaluate, 1-seq', runs: each(() => inProcess(seq1)) },
  { label: 'in-process, 1-seq, flash off', runs: each(() => inProcess(seq1off)) },
  { label: 'in-process, 1-seq, off, kv f32', runs: each(() => inProcess(seq1off32)) },
  { label: 'in-process evaluate, 8-seq', runs: each(() => inProcess(seq8)) },
  ...(clients.includes('ts')
    ? colos.map((c) => ({ label: `${c.label} over ws`, runs: each(() => throughColo(c.ws)) }))
    : []),
  ...(clients.includes('cpp')
    ? colos.map((c) => ({
        label: `${c.label} over ws, C++ client`,
        runs: async (n: number) => throughCpp(c.proc.port, n),
      }))
    : []),
  ...(values.sse
    ? colos.map((c) => ({ label: `${c.label} over http sse`, runs: each(() => throughSse(c.proc.port)) }))
    : []),
];

// 1. Check the answer: greedy text is identical on every path (token count for the C++ client).
const floorRun = await inProcess(seq1);
for (const s of subjects) {
  const [got] = await s.runs(1);
  const want = got!.text.startsWith('#') ? `#${floorRun.tokens}` : floorRun.text;
  if (got!.text !== want) {
    console.error(`answer check failed: ${s.label} differs from the in-process floor`);
    console.error({ floor: want, got: got!.text });
    process.exit(1);
  }
}

// 2. Warm each server's request path (a serving process has run thousands of requests).
for (const c of colos) for (let i = 0; i < Number(values.warmup); i++) await throughColo(c.ws, 2);
if (values.sse) for (const c of colos) for (let i = 0; i < 200; i++) await throughSse(c.proc.port, 2);

// 3. Interleaved rounds: every subject runs RUNS streams per round (2 warm-ups first).
const perRound = new Map<string, { ttftUs: number[]; decodeTokS: number[] }>();
for (const s of subjects) perRound.set(s.label, { ttftUs: [], decodeTokS: [] });
for (let r = 0; r < ROUNDS; r++) {
  for (const s of subjects) {
    const runs = await s.runs(RUNS);
    const acc = perRound.get(s.label)!;
    acc.ttftUs.push(median(runs.map((x) => x.ttftUs)));
    acc.decodeTokS.push(median(runs.map((x) => x.decodeTokS)));
  }
}

// Ratios and added TTFT are taken round by round against the floor's figure of the same
// round, then the median over rounds: this VM's speed drifts by up to 1.8x within a run
// (seen: floor rounds 1,424 to 2,541 tok/s), which a ratio of medians would fold in.
/** The floor per attention setting (flash, KV cache type), by the subject that ran it. */
const floors = new Map<string, { ttftUs: number[]; decodeTokS: number[] }>([
  ['on-f16', perRound.get(subjects[0]!.label)!],
  ['off-f16', perRound.get(subjects[1]!.label)!],
  ['off-f32', perRound.get(subjects[2]!.label)!],
]);
const floorList = [...floors.values()];
const best = {
  decodeTokS: floorList[0]!.decodeTokS.map((_, i) => Math.max(...floorList.map((f) => f.decodeTokS[i]!))),
  ttftUs: floorList[0]!.ttftUs.map((_, i) => Math.min(...floorList.map((f) => f.ttftUs[i]!))),
};
/**
 * The attention setting each Colo build's model ran (its "model loaded" line; builds
 * before the probe: flash on; before the KV choice: f16).
 */
const settingOf = new Map(
  colos.map((c) => [
    c.label,
    `${/"flashAttention":false/.test(c.proc.log) ? 'off' : 'on'}-${/"kvCacheType":"f32"/.test(c.proc.log) ? 'f32' : 'f16'}`,
  ]),
);
const IN_PROCESS_SETTING = ['on-f16', 'off-f16', 'off-f32', 'on-f16'];
const vs = (acc: { ttftUs: number[]; decodeTokS: number[] }, floor: typeof best) => ({
  decodeRatio: median(acc.decodeTokS.map((d, i) => d / floor.decodeTokS[i]!)),
  ttftAddedUs: Math.round(median(acc.ttftUs.map((t, i) => t - floor.ttftUs[i]!))),
});
const rows = subjects.map((s, i) => {
  const acc = perRound.get(s.label)!;
  const colo = colos.find((c) => s.label.startsWith(`${c.label} over`));
  const setting = colo ? settingOf.get(colo.label)! : IN_PROCESS_SETTING[i]!;
  return {
    subject: s.label,
    setting,
    decodeTokS: Math.round(median(acc.decodeTokS)),
    ...vs(acc, floors.get(setting) ?? best),
    best: vs(acc, best),
    ttftUsP50: Math.round(median(acc.ttftUs)),
    rounds: acc.decodeTokS.map(Math.round),
  };
});
console.log(machineLine());
console.log(
  `${TOKENS} tokens, greedy, threads 1, ${ROUNDS} rounds x ${RUNS} streams, Colo sequences ${values.sequences} (answers match)`,
);
console.log(
  'per round against the in-process floor with the same attention setting (flash on/off, KV f16/f32); [against the best in-process figure of any setting]',
);
for (const r of rows)
  console.log(
    `${r.subject.padEnd(32)} ${r.setting.padEnd(7)} decode ${String(r.decodeTokS).padStart(5)} tok/s (${(r.decodeRatio * 100).toFixed(1)}% [${(r.best.decodeRatio * 100).toFixed(1)}%])  ttft p50 ${r.ttftUsP50} µs (+${r.ttftAddedUs} [+${r.best.ttftAddedUs}])  rounds ${r.rounds.join(' ')}`,
  );
const out = writeResult('stream-floor', 'e2e', { tokens: TOKENS, runs: RUNS, rounds: ROUNDS, rows });
if (out) console.log(`wrote ${out}`);
for (const c of colos) {
  c.ws.close();
  await c.proc.stop();
}
await ctx1.dispose();
await ctx1off.dispose();
await ctx8.dispose();
await model.dispose();
await llama.dispose();
process.exit(0);
