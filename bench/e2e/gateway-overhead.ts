/**
 * What the gateway adds to a remote call. Open-loop load (constant arrival rate,
 * latency from each request's *scheduled* send time, HDR histograms) against the
 * mock upstream (a separate process, loopback only), two ways in the same run:
 *   - direct:  undici keep-alive pool → POST /v1/chat/completions → parse the SSE
 *              stream (the least a client must do to get the text);
 *   - gateway: Gateway.complete (openai provider, one target, same upstream), with
 *              a token sink, i.e. routing + planner + attempt watchdog + provider.
 * "added" is gateway minus direct per percentile. Checks the answer before timing.
 *
 *   node bench/lib/run.mjs bench/e2e/gateway-overhead.ts [--rates 1000,5000] [--duration 10000] [--rounds 2]
 *
 * The lead's full HTTP server path is not measured here.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { DEFAULT_SAMPLING, type InferenceRequest } from '../../src/core/types';
import { Gateway } from '../../src/gateway';
import { SseParser } from '../../src/gateway/providers/sse';
import { FIXTURE_TEXT } from '../../test/mocks/upstream/fixtures';
import { serveMockUpstreamChild, spawnMockUpstream } from '../lib/upstream-child';
import { type LatencySummary, machineLine, runOpenLoop, writeResult } from '../lib';

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '1000,5000' },
    duration: { type: 'string', default: '10000' },
    warmup: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '128' },
    rounds: { type: 'string', default: '2' },
    'serve-upstream': { type: 'boolean', default: false },
  },
});

const BODY = JSON.stringify({
  model: 'gpt-mock',
  messages: [{ role: 'user', content: 'Is the market up?' }],
  max_tokens: 64,
  stream: true,
  stream_options: { include_usage: true },
});

async function directOnce(pool: Pool): Promise<string> {
  const res = await pool.request({
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json' },
    body: BODY,
  });
  if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  const parser = new SseParser();
  let text = '';
  for await (const chunk of res.body) {
    for (const ev of parser.push(chunk as Buffer)) {
      if (ev.data === '[DONE]') continue;
      const j = JSON.parse(ev.data) as { choices: { delta?: { content?: string } }[] };
      text += j.choices[0]?.delta?.content ?? '';
    }
  }
  return text;
}

let seq = 0;
function request(): InferenceRequest {
  return {
    id: `b${++seq}`,
    model: 'remote',
    messages: [{ role: 'user', content: 'Is the market up?' }],
    sampling: { ...DEFAULT_SAMPLING, maxTokens: 64 },
    deadlineMs: 5000,
    priority: 0,
    stream: true,
  };
}

async function main(): Promise<void> {
  const rates = values.rates!.split(',').map(Number);
  const durationMs = Number(values.duration);
  const warmupMs = Number(values.warmup);
  const connections = Number(values.connections);
  const roundsN = Number(values.rounds);
  const upstream = await spawnMockUpstream();
  const pool = new Pool(upstream.url, { connections, pipelining: 1 });
  const gateway = Gateway.create({
    targets: [
      { name: 'remote', provider: 'openai', baseUrl: `${upstream.url}/v1`, model: 'gpt-mock', connections },
    ],
  });
  const sink = { onToken: (_t: string) => {} };
  // One signal per request, as the server gives each request its own.
  const viaGateway = async (): Promise<string> =>
    (await gateway.complete(request(), sink, new AbortController().signal, performance.now())).text;
  const direct = (): Promise<string> => directOnce(pool);
  const modes = { direct, gateway: viaGateway } as const;

  try {
    // The answer first: both paths must return the fixture's text.
    for (const [name, fn] of Object.entries(modes)) {
      const text = await fn();
      if (text !== FIXTURE_TEXT)
        throw new Error(`${name} answered ${JSON.stringify(text)}, expected ${JSON.stringify(FIXTURE_TEXT)}`);
    }
    console.error(machineLine());
    // Warm both paths (JIT, connections) before anything is measured.
    for (const fn of Object.values(modes))
      await runOpenLoop({ ratePerSec: 1000, durationMs: warmupMs, send: fn });
    const results: Record<string, unknown>[] = [];
    for (const rate of rates) {
      // Rounds alternate the order (direct first, then gateway first) so drift on a
      // shared box does not favour one path; each round is reported.
      const rounds: Record<string, unknown>[] = [];
      for (let round = 0; round < roundsN; round++) {
        const order = round % 2 === 0 ? (['direct', 'gateway'] as const) : (['gateway', 'direct'] as const);
        const row: Record<string, unknown> = { round };
        for (const name of order) {
          const r = await runOpenLoop({ ratePerSec: rate, durationMs, send: modes[name] });
          row[name] = {
            sent: r.sent,
            completed: r.completed,
            errors: r.errors,
            achievedRatePerSec: Math.round(r.achievedRatePerSec),
            maxSendLagUs: r.maxSendLagUs,
            latency: r.latency,
          };
          console.error(
            `${rate}/s round ${round} ${name}: p50 ${r.latency.p50} p99 ${r.latency.p99} p99.9 ${r.latency.p999} µs, errors ${r.errors}`,
          );
        }
        const d = (row.direct as { latency: LatencySummary }).latency;
        const g = (row.gateway as { latency: LatencySummary }).latency;
        row.addedUs = {
          p50: round1(g.p50 - d.p50),
          p99: round1(g.p99 - d.p99),
          p999: round1(g.p999 - d.p999),
          mean: round1(g.mean - d.mean),
        };
        rounds.push(row);
      }
      const added = (k: 'p50' | 'p99' | 'p999') =>
        median(rounds.map((r) => (r.addedUs as Record<string, number>)[k]!));
      results.push({
        ratePerSec: rate,
        durationMs,
        rounds,
        medianAddedUs: { p50: added('p50'), p99: added('p99'), p999: added('p999') },
      });
    }
    const out = { bench: 'gateway-overhead', unit: 'us', stats: gateway.stats(), results };
    console.log(JSON.stringify(out, null, 2));
    const path = writeResult('gateway-overhead', 'e2e', out);
    if (path) console.error(`wrote ${path}`);
  } finally {
    await gateway.close();
    await pool.close();
    await upstream.stop();
  }
}

const round1 = (v: number): number => Math.round(v * 10) / 10;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : round1((s[s.length / 2 - 1]! + s[s.length / 2]!) / 2);
};

// Last, so every module-level constant above is initialised (the bundle hoists them).
if (values['serve-upstream']) {
  await serveMockUpstreamChild();
} else {
  await main();
}
