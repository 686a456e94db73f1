/**
 * What a message to another thread costs when that thread sleeps: the main thread posts
 * a request-sized task (the chat-shaped task of admission-cost.ts: a ~1,300-character
 * system prompt) on a MessagePort to an echo worker, which answers at once. Timed: the
 * `postMessage` call on the sender, and the round trip. With no gap between messages
 * the worker is still awake; with a gap of a few ms its thread sleeps in epoll, and on a
 * virtual machine waking it (an interrupt to an idle vCPU) is paid partly by the sender.
 *
 *   node bench/lib/run.mjs bench/e2e/port-wakeup.ts [--n 500] [--gaps 0,2,5]
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { machineLine, writeResult } from '../lib';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '500' },
    gaps: { type: 'string', default: '0,2,5' },
  },
});
const N = Number(values.n);
const { port1, port2 } = new MessageChannel();
const worker = new Worker(
  `const { workerData } = require('node:worker_threads');
   workerData.port.on('message', () => workerData.port.postMessage(1));`,
  { eval: true, workerData: { port: port2 }, transferList: [port2] },
);
const SYSTEM = 'You read market news for a trading desk and answer in one short line. '.repeat(18);
const task = {
  kind: 'generate',
  id: 1,
  messages: [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: 'Ticker T1: shares rose after the report.' },
  ],
  sampling: { maxTokens: 1, temperature: 0, topP: 1, stop: [] },
  priority: 0,
};
let answered: () => void = () => {};
port1.on('message', () => answered());
const pct = (a: number[], q: number) => [...a].sort((x, y) => x - y)[Math.floor(a.length * q)]!;

console.log('# a message to a sleeping thread: postMessage and round trip, µs');
console.log(machineLine());
const results: Record<string, { postP50: number; postP90: number; rtP50: number; rtP90: number }> = {};
for (const gap of values.gaps!.split(',').map(Number)) {
  const post: number[] = [];
  const rt: number[] = [];
  for (let i = 0; i < N + 100; i++) {
    if (gap > 0) await sleep(gap);
    const done = new Promise<void>((r) => (answered = r));
    const t0 = performance.now();
    port1.postMessage(task);
    const t1 = performance.now();
    await done;
    const t2 = performance.now();
    if (i >= 100) {
      post.push((t1 - t0) * 1000);
      rt.push((t2 - t0) * 1000);
    }
  }
  const r = { postP50: pct(post, 0.5), postP90: pct(post, 0.9), rtP50: pct(rt, 0.5), rtP90: pct(rt, 0.9) };
  results[`gap${gap}ms`] = r;
  console.log(
    `gap ${gap} ms: postMessage p50 ${r.postP50.toFixed(1)} p90 ${r.postP90.toFixed(1)}; round trip p50 ${r.rtP50.toFixed(1)} p90 ${r.rtP90.toFixed(1)}`,
  );
}
writeResult('port-wakeup', 'e2e', { n: N, machine: machineLine(), results });
await worker.terminate();
