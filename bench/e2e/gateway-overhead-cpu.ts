/**
 * CPU cost per request of the gateway path against a bare client, closed loop, with
 * the mock upstream in the same process (so the figure is client + server CPU; the
 * server's share is the same in both modes, so the difference is the gateway's).
 * CPU time is steadier than latency on a shared box, which makes this the figure to
 * watch when changing the per-token path. Rounds alternate the modes; the first
 * round of each is warm-up and is dropped.
 *
 *   node bench/lib/run.mjs bench/e2e/gateway-overhead-cpu.ts [--requests 5000] [--concurrency 8] [--rounds 3]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { DEFAULT_SAMPLING } from '../../src/core/types';
import { Gateway } from '../../src/gateway';
import { SseParser } from '../../src/gateway/providers/sse';
import { FIXTURE_TEXT } from '../../test/mocks/upstream/fixtures';
import { startMockUpstream } from '../../test/mocks/upstream/server';
import { machineLine, writeResult } from '../lib';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
  },
});
const N = Number(values.requests);
const CONC = Number(values.concurrency);
const ROUNDS = Number(values.rounds);

const mock = await startMockUpstream({ record: false });
const pool = new Pool(mock.url, { connections: 32 });
const gateway = Gateway.create({
  targets: [{ name: 'r', provider: 'openai', baseUrl: mock.baseUrl.openai, model: 'x', connections: 32 }],
});
const BODY = JSON.stringify({
  model: 'x',
  messages: [{ role: 'user', content: 'hi' }],
  stream: true,
  stream_options: { include_usage: true },
});

async function direct(): Promise<string> {
  const res = await pool.request({
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json' },
    body: BODY,
  });
  const parser = new SseParser();
  let text = '';
  for await (const c of res.body) {
    for (const ev of parser.push(c as Buffer)) {
      if (ev.data !== '[DONE]')
        text +=
          (JSON.parse(ev.data) as { choices: { delta?: { content?: string } }[] }).choices[0]?.delta
            ?.content ?? '';
    }
  }
  return text;
}
let seq = 0;
const sink = { onToken: (_t: string) => {} };
async function viaGateway(): Promise<string> {
  const req = {
    id: `${seq++}`,
    model: 'r',
    messages: [{ role: 'user' as const, content: 'hi' }],
    sampling: DEFAULT_SAMPLING,
    deadlineMs: 5000,
    priority: 0,
    stream: true,
  };
  return (await gateway.complete(req, sink, new AbortController().signal)).text;
}
const modes = { direct, gateway: viaGateway };

for (const [name, fn] of Object.entries(modes)) {
  const text = await fn();
  if (text !== FIXTURE_TEXT) throw new Error(`${name} answered ${JSON.stringify(text)}`);
}
console.error(machineLine());
const samples: Record<string, number[]> = { direct: [], gateway: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of Object.entries(modes)) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let i = 0;
    await Promise.all(
      Array.from({ length: CONC }, async () => {
        while (i++ < N) await fn();
      }),
    );
    const cpu = process.cpuUsage(c0);
    const us = (cpu.user + cpu.system) / N;
    console.error(
      `round ${round} ${name}: ${us.toFixed(1)} µs CPU/request, ${(N / ((performance.now() - t0) / 1000)).toFixed(0)} req/s`,
    );
    if (round > 0) samples[name]!.push(us);
  }
}
const best = (xs: number[]) => Math.round(Math.min(...xs) * 10) / 10;
const out = {
  bench: 'gateway-overhead-cpu',
  requestsPerRound: N,
  concurrency: CONC,
  cpuUsPerRequest: { direct: best(samples.direct!), gateway: best(samples.gateway!) },
  addedCpuUsPerRequest: Math.round((best(samples.gateway!) - best(samples.direct!)) * 10) / 10,
  samples,
};
console.log(JSON.stringify(out, null, 2));
const path = writeResult('gateway-overhead-cpu', 'e2e', out);
if (path) console.error(`wrote ${path}`);
await gateway.close();
await pool.close();
await mock.close();
