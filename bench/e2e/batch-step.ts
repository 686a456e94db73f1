/**
 * Do concurrent streams share decode batches, and what does a step cost? In this
 * process, no Colo around it: k greedy streams of `--tokens` tokens on one k-sequence
 * context, started together, for each attention setting (flash attention on/off, KV
 * cache f16/f32) and three dispatch rules:
 *
 *   - library: node-llama-cpp's own dispatch (next loop turn), streams free-running;
 *   - gate: Colo's BatchGate (src/engine/batching.ts) attached to the context, and each
 *     stream driving it as Colo's decode loop does (sent / received / ready);
 *   - unordered: the same gate without keeping the decode queue in sequence-id order
 *     (llama.cpp then splits a step into micro-batches and rebuilds their graphs).
 *
 * Reports per setting, rule and k: the median over rounds of the wall time for all k
 * streams, decode batches run, tokens per batch (counted on the native context), and ms
 * per batch. Rounds interleave every cell; the first round is a warm-up.
 *
 *   node bench/lib/run.mjs bench/e2e/batch-step.ts [--streams 1,2,3,4,8] [--tokens 200]
 *     [--rounds 5] [--settings off-f16,off-f32,on-f16] [--rules library,unordered,gate]
 */
import { parseArgs } from 'node:util';
import { getLlama, type LlamaContext, type LlamaContextSequence, type Token } from 'node-llama-cpp';
import { BatchGate } from '../../src/engine/batching';
import { kvCacheOption, type KvCacheType } from '../../src/engine/attention';
import { machineLine, writeResult } from '../lib';
import { DEFAULT_MODEL_PATH } from './colo-process';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: DEFAULT_MODEL_PATH },
    streams: { type: 'string', default: '1,2,3,4,8' },
    tokens: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '5' },
    settings: { type: 'string', default: 'off-f16,off-f32,on-f16' },
    rules: { type: 'string', default: 'library,unordered,gate' },
  },
});
const STREAMS = values.streams!.split(',').map(Number);
const TOKENS = Number(values.tokens);
const ROUNDS = Number(values.rounds);
const SETTINGS = values.settings!.split(',');
type Rule = 'library' | 'unordered' | 'gate';
const RULES = values.rules!.split(',') as Rule[];

const llama = await getLlama({ gpu: false, maxThreads: 1, logLevel: 'error' as never });
const model = await llama.loadModel({ modelPath: values.model! });
const prompt: Token[] = model.tokenize('Once upon a time');

interface Counted {
  batches: number;
  tokens: number;
  decodeMs: number;
}

/** Counts decode batches and their tokens on the native context (a bench-only view of internals). */
function count(context: LlamaContext): Counted {
  const c: Counted = { batches: 0, tokens: 0, decodeMs: 0 };
  const internals = context as unknown as { _ctx: Record<string, (...a: unknown[]) => unknown> };
  const real = internals._ctx;
  const add = real['addToBatch']!.bind(real);
  const decode = real['decodeBatch']!.bind(real) as () => Promise<void>;
  const view = new Proxy(real, {
    get(target, p) {
      if (p === 'addToBatch')
        return (...a: unknown[]) => {
          c.tokens += (a[2] as Uint32Array).length;
          return add(...a);
        };
      if (p === 'decodeBatch')
        return async () => {
          c.batches++;
          const t = performance.now();
          await decode();
          c.decodeMs += performance.now() - t;
        };
      const v = target[p as string];
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  Object.defineProperty(context, '_ctx', { value: view, writable: true });
  return c;
}

interface Cell {
  setting: string;
  rule: Rule;
  streams: number;
  context: LlamaContext;
  gate?: BatchGate;
  seqs?: LlamaContextSequence[];
  counted: Counted;
  runs: { ms: number; batches: number; tokens: number; decodeMs: number }[];
}

const cells: Cell[] = [];
for (const setting of SETTINGS) {
  const [flash, kv] = setting.split('-') as ['on' | 'off', KvCacheType];
  for (const rule of RULES) {
    for (const k of STREAMS) {
      const gate = rule === 'library' ? undefined : new BatchGate(rule === 'gate');
      const context = await model.createContext({
        contextSize: 512,
        sequences: k,
        threads: 1,
        flashAttention: flash === 'on',
        experimentalKvCacheKeyType: kvCacheOption(kv),
        experimentalKvCacheValueType: kvCacheOption(kv),
        ...(gate ? { batching: { dispatchSchedule: gate.schedule } } : {}),
      });
      if (gate && !gate.attach(context)) throw new Error('BatchGate could not attach');
      cells.push({ setting, rule, streams: k, context, gate, counted: count(context), runs: [] });
    }
  }
}

async function run(cell: Cell) {
  // Taken once per cell and emptied before each run: a disposed sequence's id is
  // reclaimed asynchronously, so getting all k again at once can find none left.
  cell.seqs ??= Array.from({ length: cell.streams }, () => cell.context.getSequence());
  const seqs = cell.seqs;
  await Promise.all(seqs.map((s) => s.clearHistory()));
  const { gate, counted } = cell;
  const before = { ...counted };
  gate?.enter(seqs.length);
  const t0 = performance.now();
  await Promise.all(
    seqs.map(async (seq) => {
      const it = seq.evaluate(prompt, { temperature: 0 });
      let n = 0;
      try {
        gate?.sent();
        for (;;) {
          const r = await it.next();
          gate?.received();
          if (r.done || ++n >= TOKENS) break;
          const ready = gate?.ready();
          if (ready) await ready;
          gate?.sent();
        }
        await it.return();
      } finally {
        gate?.leave(); // as Colo's generations do: out of the batch when this stream ends
      }
    }),
  );
  const ms = performance.now() - t0;
  cell.runs.push({
    ms,
    batches: counted.batches - before.batches,
    tokens: counted.tokens - before.tokens,
    decodeMs: counted.decodeMs - before.decodeMs,
  });
}

for (let r = 0; r <= ROUNDS; r++) {
  for (const cell of cells) {
    await run(cell);
    if (r === 0) cell.runs.length = 0; // warm-up round
  }
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
console.log(machineLine());
console.log(`${TOKENS} tokens per stream, greedy, threads 1, median of ${ROUNDS} rounds`);
const rows = cells.map((c) => {
  const row = {
    setting: c.setting,
    rule: c.rule,
    streams: c.streams,
    ms: Math.round(median(c.runs.map((x) => x.ms))),
    batches: Math.round(median(c.runs.map((x) => x.batches))),
    tokensPerBatch: +median(c.runs.map((x) => x.tokens / x.batches)).toFixed(2),
    msPerBatch: +median(c.runs.map((x) => x.decodeMs / x.batches)).toFixed(3),
    stalls: c.gate?.stalls ?? 0,
  };
  console.log(
    `${row.setting.padEnd(8)} ${row.rule.padEnd(9)} ${String(row.streams).padStart(2)} streams: ${String(row.ms).padStart(5)} ms, ${String(row.batches).padStart(5)} batches, ${row.tokensPerBatch.toFixed(2)} tokens/batch, ${row.msPerBatch.toFixed(3)} ms/batch${c.gate ? `, guard stalls ${row.stalls}` : ''}`,
  );
  return row;
});
const out = writeResult('batch-step', 'e2e', { tokens: TOKENS, rounds: ROUNDS, rows });
if (out) console.log(`wrote ${out}`);
process.exit(0);
