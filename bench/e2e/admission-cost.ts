/**
 * What admitting a local request costs the network thread before the worker has it: the
 * router's `pool.predict(req)` followed, in the same synchronous run, by
 * `pool.complete(req)` up to the moment it has dispatched (its synchronous part). Since
 * complete() reuses the job predict() just built (its route across the sequences'
 * texts), timed against the same pair where complete() gets a copy of the request and
 * builds the job again (what every admitted request paid before), alternated in one
 * process. Requests are chat-shaped: a ~1,300-character system prompt the sequences
 * hold, then a short user message; each runs 1 token, and the next pair starts when it
 * ends.
 *
 *   npm run build && npx tsx bench/e2e/admission-cost.ts [--pairs 400] [--rounds 3]
 *
 * (tsx, not run.mjs: the pool finds its worker in dist/ only from the TypeScript sources.)
 */
import { parseArgs } from 'node:util';
import { DEFAULT_SAMPLING, type InferenceRequest } from '../../src/core/types';
import { machineLine, writeResult } from '../lib';
import { DEFAULT_MODEL_PATH } from './colo-process';
import { defaultPool } from './default-pool';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: DEFAULT_MODEL_PATH },
    pairs: { type: 'string', default: '400' },
    rounds: { type: 'string', default: '3' },
  },
});
const pool = await defaultPool('p', values.model!);
const SYSTEM = 'You read market news for a trading desk and answer in one short line. '.repeat(18);
let n = 0;
function request(): InferenceRequest {
  const receivedAt = performance.now();
  return {
    id: `a${n}`,
    model: 'p',
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: `Ticker T${n++ % 10}: shares rose after the report.` },
    ],
    sampling: { ...DEFAULT_SAMPLING, maxTokens: 1, temperature: 0 },
    deadlineMs: 10_000,
    deadlineAt: receivedAt + 10_000,
    receivedAt,
    priority: 0,
    stream: false,
  };
}

/** µs from predict() to complete() having dispatched; `reuse` false hands complete() a copy. */
async function pair(reuse: boolean): Promise<number> {
  const req = request();
  const t = performance.now();
  const prediction = pool.predict(req, req.receivedAt);
  if (!prediction.fits) throw new Error(`not admitted: ${JSON.stringify(prediction)}`);
  const done = pool.complete(reuse ? req : { ...req }, null, new AbortController().signal);
  const us = (performance.now() - t) * 1000;
  await done;
  return us;
}

const pct = (a: number[], p: number) => [...a].sort((x, y) => x - y)[Math.floor(a.length * p)]!;
console.log(machineLine());
for (let i = 0; i < 50; i++) await pair(i % 2 === 0);
const rows: { round: number; reuse: { p50: number; p99: number }; rebuild: { p50: number; p99: number } }[] =
  [];
for (let r = 0; r < Number(values.rounds); r++) {
  const reuse: number[] = [];
  const rebuild: number[] = [];
  for (let i = 0; i < Number(values.pairs); i++) {
    reuse.push(await pair(true));
    rebuild.push(await pair(false));
  }
  const row = {
    round: r,
    reuse: { p50: pct(reuse, 0.5), p99: pct(reuse, 0.99) },
    rebuild: { p50: pct(rebuild, 0.5), p99: pct(rebuild, 0.99) },
  };
  rows.push(row);
  console.log(
    `round ${r}: predict + complete until dispatched, job reused p50 ${row.reuse.p50.toFixed(1)} µs (p99 ${row.reuse.p99.toFixed(1)}), built again p50 ${row.rebuild.p50.toFixed(1)} µs (p99 ${row.rebuild.p99.toFixed(1)})`,
  );
}
const out = writeResult('admission-cost', 'e2e', { pairs: Number(values.pairs), rows });
if (out) console.log(`wrote ${out}`);
process.exit(0);
