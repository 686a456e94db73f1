/**
 * Goodput: requests completed inside their deadline per second, against offered load,
 * for Colo's scheduler (predict-then-admit, EDF, src/engine/scheduler.ts) next to an
 * admit-all FIFO baseline, in the same run (each load level runs both, one after the
 * other, on two pools of the same model with the default engine settings:
 * sequences 8, contextSize 2048, maxQueue 64, threads 1). Then the burst:
 * 40 requests at once, max_tokens 200, deadline 300 ms, local only.
 *
 *   npm run build && npx tsx bench/e2e/goodput.ts [--seconds 4] [--rates 5,10,20,40,80] [--flash auto|on|off] [--kv auto|f16|f32]
 *     [--replicas 1] [--sequences 8] [--burst-deadline 300] [--bursts 3]
 *
 * (tsx, not run.mjs: the pool finds its worker in dist/ only from the TypeScript sources.)
 *
 * Outcomes per request: in time (a result before its deadline), refused fast (an error
 * within 50 ms of arrival), failed slow (any other error or a late result).
 */
import { parseArgs } from 'node:util';
import type { ModelPool } from '../../src/engine';
import { DEFAULT_SAMPLING, type InferenceRequest } from '../../src/core/types';
import { machineLine, writeResult } from '../lib';
import { DEFAULT_MODEL_PATH } from './colo-process';
import { defaultPool } from './default-pool';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: DEFAULT_MODEL_PATH },
    seconds: { type: 'string', default: '4' },
    rates: { type: 'string', default: '5,10,20,40,80' },
    tokens: { type: 'string', default: '64' },
    deadline: { type: 'string', default: '300' },
    /** Flash attention for both pools: auto (Colo's default: measured on the CPU), on or off. */
    flash: { type: 'string', default: 'auto' },
    /** KV cache type for both pools: auto (Colo's default: measured on the CPU), f16 or f32. */
    kv: { type: 'string', default: 'auto' },
    /** Workers and sequences per worker for both pools (Colo's default: 1 and 8). */
    replicas: { type: 'string', default: '1' },
    sequences: { type: 'string', default: '8' },
    /** The burst's deadline, ms (the issue's: 300). */
    'burst-deadline': { type: 'string', default: '300' },
    bursts: { type: 'string', default: '3' },
  },
});

const mk = (admission: 'predict' | 'admit-all') =>
  defaultPool(admission, values.model!, {
    flashAttention: values.flash === 'on' ? true : values.flash === 'off' ? false : 'auto',
    kvCacheType: values.kv === 'f16' || values.kv === 'f32' ? values.kv : 'auto',
    admission,
    replicas: Number(values.replicas),
    sequences: Number(values.sequences),
  });
const pools = { predict: await mk('predict'), 'admit-all': await mk('admit-all') };

interface Tally {
  offered: number;
  inTime: number;
  refusedFast: number;
  failedSlow: number;
  /** ms from arrival to the end of each request that was not refused fast. */
  admittedMs: number[];
}
let n = 0;
function one(pool: ModelPool, maxTokens: number, deadlineMs: number, t: Tally): Promise<void> {
  const receivedAt = performance.now();
  const req: InferenceRequest = {
    id: `g${n++}`,
    model: pool.name,
    prompt: 'Once upon a time',
    sampling: { ...DEFAULT_SAMPLING, maxTokens, temperature: 0 },
    deadlineMs,
    deadlineAt: receivedAt + deadlineMs,
    receivedAt,
    priority: 0,
    stream: true,
  };
  t.offered++;
  return pool.complete(req, null, new AbortController().signal).then(
    () => {
      const ms = performance.now() - receivedAt;
      t.admittedMs.push(Math.round(ms));
      if (ms <= deadlineMs) t.inTime++;
      else t.failedSlow++;
    },
    (err: { code?: string }) => {
      const ms = performance.now() - receivedAt;
      if (ms <= 50) t.refusedFast++;
      else {
        if (process.env.GOODPUT_DEBUG)
          console.log(`${pool.name}: failed after ${Math.round(ms)} ms: ${err?.code} ${String(err)}`);
        t.failedSlow++;
        t.admittedMs.push(Math.round(ms));
      }
    },
  );
}

async function openLoop(pool: ModelPool, rate: number, seconds: number): Promise<Tally> {
  const t: Tally = { offered: 0, inTime: 0, refusedFast: 0, failedSlow: 0, admittedMs: [] };
  const all: Promise<void>[] = [];
  const t0 = performance.now();
  const total = Math.round(rate * seconds);
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    all.push(one(pool, Number(values.tokens), Number(values.deadline), t));
  }
  await Promise.all(all);
  return t;
}

async function burst(pool: ModelPool): Promise<Tally> {
  const t: Tally = { offered: 0, inTime: 0, refusedFast: 0, failedSlow: 0, admittedMs: [] };
  await Promise.all(Array.from({ length: 40 }, () => one(pool, 200, burstDeadline, t)));
  return t;
}

const seconds = Number(values.seconds);
const burstDeadline = Number(values['burst-deadline']);
const curve: { rate: number; predict: Tally; adminAll: Tally }[] = [];
console.log(machineLine());
console.log(
  `flash attention ${values.flash}: ${pools.predict.info?.flashAttention ? 'on' : 'off'}, KV cache ${values.kv}: ${pools.predict.info?.kvCacheType}`,
);
console.log(`open loop, ${values.tokens} tokens, deadline ${values.deadline} ms, ${seconds} s per level`);
interface Check {
  alone: { predicted: number; measured: number };
  pair: { predicted: number; measured: number };
  threePredicted: number;
}
async function predictedVsMeasured(when: string): Promise<Check> {
  const est = pools.predict.estimator;
  const promptTokens = est.promptTokens('Once upon a time'.length);
  const t: Tally = { offered: 0, inTime: 0, refusedFast: 0, failedSlow: 0, admittedMs: [] };
  const predAlone = est.serviceMs(200, promptTokens, 1);
  await one(pools.predict, 200, 10_000, t);
  const predPair = est.serviceMs(200, promptTokens, 2);
  await Promise.all([one(pools.predict, 200, 10_000, t), one(pools.predict, 200, 10_000, t)]);
  const c: Check = {
    alone: { predicted: Math.round(predAlone), measured: t.admittedMs[0]! },
    pair: { predicted: Math.round(predPair), measured: Math.max(t.admittedMs[1]!, t.admittedMs[2]!) },
    threePredicted: Math.round(est.serviceMs(200, promptTokens, 3)),
  };
  const err = (x: { predicted: number; measured: number }) =>
    `${x.measured} ms, predicted ${x.predicted} (${x.predicted >= x.measured ? '+' : ''}${Math.round((100 * (x.predicted - x.measured)) / x.measured)}%)`;
  console.log(
    `${when}: 200 tokens alone ${err(c.alone)}; two at once ${err(c.pair)}; three batched predicted ${c.threePredicted} ms`,
  );
  return c;
}
const loneBefore = await predictedVsMeasured('after warm-up');
for (const rate of values.rates!.split(',').filter(Boolean).map(Number)) {
  const predict = await openLoop(pools.predict, rate, seconds);
  const adminAll = await openLoop(pools['admit-all'], rate, seconds);
  curve.push({ rate, predict, adminAll });
  const g = (x: Tally) =>
    `goodput ${(x.inTime / seconds).toFixed(1)}/s (in time ${x.inTime}, refused fast ${x.refusedFast}, failed slow ${x.failedSlow})`;
  console.log(`${String(rate).padStart(4)} req/s  predict: ${g(predict)}  |  admit-all: ${g(adminAll)}`);
}
// What the box allows this minute, against what the estimator predicts just before:
// one 200-token request alone, then two at once (a batch of 2), then the prediction for
// three sharing a batch (three fit in 300 ms only if three batched or serial runs do).
const loneAfter = await predictedVsMeasured('after the curve');
const bursts = [];
for (let i = 0; i < Number(values.bursts); i++) {
  const p = await burst(pools.predict);
  const a = await burst(pools['admit-all']);
  bursts.push({ predict: p, adminAll: a });
  console.log(
    `burst 40 x 200 tokens, ${burstDeadline} ms: predict in time ${p.inTime}, refused fast ${p.refusedFast}, failed slow ${p.failedSlow} (ended at ${p.admittedMs.sort((x, y) => x - y).join(', ')} ms) | admit-all in time ${a.inTime}, refused fast ${a.refusedFast}, failed slow ${a.failedSlow}`,
  );
}
console.log('learnt rates (predict pool):', JSON.stringify(pools.predict.estimator.snapshot()));
const out = writeResult('goodput', 'e2e', { seconds, burstDeadline, curve, loneBefore, loneAfter, bursts });
if (out) console.log(`wrote ${out}`);
process.exit(0);
