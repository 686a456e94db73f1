/**
 * The admission decision (src/router/decide.ts) — runs once per request.
 *
 *   node bench/lib/run.mjs bench/micro/decide.bench.ts
 *
 * Each call decides 1,000 inputs cycling through every outcome (local, remote for
 * capacity or deadline, reject); figures are per decision.
 */
import { decide, type DecisionInput } from '../../src/router/decide';
import { runMicro } from '../lib';

const BATCH = 1000;
const base: DecisionInput = {
  local: true,
  localFits: true,
  remote: true,
  remainingMs: 250,
  policy: 'local-first',
};
const inputs: DecisionInput[] = [
  base,
  { ...base, localFits: false, localFull: true },
  { ...base, localFits: false, localCode: 'OVERLOADED' },
  { ...base, remote: false, localFits: false, localFull: true },
  { ...base, remainingMs: 0 },
  { ...base, local: false },
  { ...base, policy: 'remote-first' },
  { ...base, policy: 'local-only' },
];
let sink = 0;

await runMicro('decide', [
  {
    name: 'decide (8 cycling inputs)',
    batch: BATCH,
    fn: () => {
      for (let i = 0; i < BATCH; i++) sink += decide(inputs[i & 7]!).route.length;
    },
    check: () => {
      const routes = inputs.map((d) => decide(d).route);
      const want = ['local', 'remote', 'remote', 'reject', 'reject', 'remote', 'remote', 'local'];
      if (routes.join() !== want.join()) throw new Error(`decide gave ${routes.join()}, want ${want.join()}`);
    },
  },
]);
if (sink < 0) console.log(sink);
