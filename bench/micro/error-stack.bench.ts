/**
 * What raising an error costs on the request path: a ColoError for a refusal (no stack
 * since DEADLINE and the other outcomes skip it, src/core/errors.ts), one for a server
 * fault (INTERNAL, with a stack), and a plain Error, each made 15 calls deep (about a
 * request's depth when admission refuses it). V8 captures the stack when the error is
 * made (10 frames by default), not when it is printed.
 *
 *   node bench/lib/run.mjs bench/micro/error-stack.bench.ts
 */
import { ColoError } from '../../src/core/errors';
import { runMicro } from '../lib';

const BATCH = 100;
const deep = (n: number, make: () => Error): Error => (n === 0 ? make() : deep(n - 1, make));
const MESSAGE = 'model stories260K cannot generate 200 tokens within 5 ms (predicted 171 ms alone)';
const kinds: Record<string, () => Error> = {
  'ColoError DEADLINE (no stack)': () => new ColoError('DEADLINE', MESSAGE, { retryAfterMs: 3 }),
  'ColoError INTERNAL (stack)': () => new ColoError('INTERNAL', MESSAGE),
  'plain Error (stack)': () => new Error(MESSAGE),
};

let sink = 0;
await runMicro(
  'error-stack',
  Object.entries(kinds).map(([name, make]) => ({
    name,
    batch: BATCH,
    check: () => {
      const e = deep(15, make);
      if (e.message !== MESSAGE) throw new Error(`${name}: message ${e.message}`);
    },
    fn: () => {
      for (let i = 0; i < BATCH; i++) sink += deep(15, make).message.length;
    },
  })),
  { meta: { batch: BATCH, depth: 15 } },
);
if (sink < 0) console.log(sink);
