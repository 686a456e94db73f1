/**
 * Reading an upstream answer: undici's `request()` with its Readable body (what the
 * gateway did before: `body.text()` for a JSON answer, `for await` over the body into
 * the SSE parser for a stream) against Colo's dispatch handlers
 * (src/gateway/providers/http.ts: `sendJson`, and the OpenAI provider's call, which
 * streams through `streamSse`), alternated in one process against the mock OpenAI
 * upstream in a child process, one request at a time.
 *
 *   node bench/lib/run.mjs bench/e2e/upstream-read.ts [--n 5000] [--rounds 5] [--variant json|sse]
 *
 * Per round and way: this process's CPU per request (user + system) and the round trip's
 * p50 / p99. The round trip includes the mock and two loopback hops; the CPU column is the
 * part the change is about.
 */
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { Cancel } from '../../src/core/cancel';
import { sendJson } from '../../src/gateway/providers/http';
import { openaiProvider } from '../../src/gateway/providers/openai';
import { parseEvent } from '../../src/gateway/providers/openai/stream';
import { SseParser, type SseEvent } from '../../src/gateway/providers/sse';
import { DEFAULT_SAMPLING } from '../../src/core/types';
import type { ProviderCall, ProviderChunk, UnifiedRequest } from '../../src/gateway/providers/types';
import { machineLine, writeResult } from '../lib';
import { serveMockUpstreamChild, spawnMockUpstream } from '../lib/upstream-child';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '5' },
    variant: { type: 'string', default: 'json' },
    'serve-upstream': { type: 'boolean', default: false },
  },
});

async function main(): Promise<void> {
  const N = Number(values.n);
  const upstream = await spawnMockUpstream();
  const pool = new Pool(upstream.url, { connections: 4 });
  const body = {
    model: 'gpt-mock',
    messages: [{ role: 'user', content: 'Is the market up?' }],
    max_tokens: 64,
    stream: false,
  };
  const call: ProviderCall = {
    target: {
      name: 'mock',
      baseUrl: `${upstream.url}/v1`,
      model: 'gpt-mock',
      apiKey: undefined,
      headers: {},
      endpoint: 'chat',
      stream: false,
      streamUsage: false,
    },
    http: pool,
    signal: new Cancel(),
  };
  const sse = values.variant === 'sse';
  const sseCall: ProviderCall = { ...call, target: { ...call.target, stream: true, streamUsage: true } };
  const unified: UnifiedRequest = {
    messages: [{ role: 'user', content: 'Is the market up?' }],
    sampling: { ...DEFAULT_SAMPLING, maxTokens: 64 },
  };
  const ways: Record<string, () => Promise<unknown>> = sse
    ? {
        'request+iterate': async () => {
          const res = await pool.request({
            method: 'POST',
            path: '/v1/chat/completions',
            headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
            body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
            headersTimeout: 0,
            bodyTimeout: 0,
          });
          // The loop the gateway ran before (sseChunks): parse each body chunk, translate its events.
          const parser = new SseParser();
          const out: ProviderChunk[] = [];
          let text = '';
          let done = false;
          for await (const bytes of res.body) {
            if (done) continue;
            const events: SseEvent[] = parser.push(bytes as Uint8Array);
            for (let i = 0; i < events.length && !done; i++) done = parseEvent('mock', events[i]!, out);
            for (const c of out) if (c.kind === 'text') text += c.text;
            out.length = 0;
          }
          return { choices: text };
        },
        streamSse: async () => {
          let text = '';
          for await (const c of openaiProvider.call(sseCall, unified)) if (c.kind === 'text') text += c.text;
          return { choices: text };
        },
      }
    : {
        'request+text': async () => {
          const res = await pool.request({
            method: 'POST',
            path: '/v1/chat/completions',
            headers: { 'content-type': 'application/json', accept: 'application/json' },
            body: JSON.stringify(body),
            headersTimeout: 0,
            bodyTimeout: 0,
          });
          return JSON.parse(await res.body.text()) as unknown;
        },
        sendJson: async () => {
          const x = sendJson(call, '/chat/completions', {}, body);
          await x.opened;
          return x.json;
        },
      };
  const check = (v: unknown) => {
    if (!(v as { choices?: unknown }).choices) throw new Error(`not an answer: ${JSON.stringify(v)}`);
  };
  console.log(`variant ${sse ? 'sse (stream: true)' : 'json (stream: false)'}`);
  for (const f of Object.values(ways)) for (let i = 0; i < 2000; i++) check(await f());

  console.log(machineLine());
  console.log(`${N} requests a round, one at a time, ways alternated per round`);
  const rows: { round: number; way: string; cpuUsPerReq: number; p50Us: number; p99Us: number }[] = [];
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const [way, f] of round % 2 ? Object.entries(ways).reverse() : Object.entries(ways)) {
      const lat: number[] = [];
      const c0 = process.cpuUsage();
      for (let i = 0; i < N; i++) {
        const t = performance.now();
        check(await f());
        lat.push((performance.now() - t) * 1000);
      }
      const c = process.cpuUsage(c0);
      lat.sort((a, b) => a - b);
      const row = {
        round,
        way,
        cpuUsPerReq: Math.round(((c.user + c.system) / N) * 10) / 10,
        p50Us: Math.round(lat[N >> 1]!),
        p99Us: Math.round(lat[Math.floor(N * 0.99)]!),
      };
      rows.push(row);
      console.log(
        `round ${round} ${way.padEnd(13)} cpu/req ${String(row.cpuUsPerReq).padStart(6)} µs  p50 ${row.p50Us} µs  p99 ${row.p99Us} µs`,
      );
    }
  }
  for (const way of Object.keys(ways)) {
    const r = rows.filter((x) => x.way === way);
    const med = (k: 'cpuUsPerReq' | 'p50Us' | 'p99Us') =>
      r.map((x) => x[k]).sort((a, b) => a - b)[r.length >> 1];
    console.log(
      `median ${way.padEnd(13)} cpu/req ${med('cpuUsPerReq')} µs  p50 ${med('p50Us')} µs  p99 ${med('p99Us')} µs`,
    );
  }
  writeResult(sse ? 'upstream-read-sse' : 'upstream-read', 'e2e', {
    variant: sse ? 'sse' : 'json',
    n: N,
    rows,
  });
  await pool.close();
  await upstream.stop();
}

if (values['serve-upstream']) await serveMockUpstreamChild();
else await main();
