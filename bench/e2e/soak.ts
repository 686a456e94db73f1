/**
 * Soak: a real Colo (child process, default config plus a classifier and a remote
 * alias on the built-in `dummy` provider) under mixed traffic for a long time, sampled
 * every `--every` seconds: RSS and heap, event-loop delay (from /metrics), requests and
 * errors by kind. Nothing may grow without bound: the last third's RSS must stay within
 * `--rss-slack` (default 1.5×) of the first third's, and every error must carry a stable
 * code. Traffic, each in its own loop:
 *   - WebSocket streams (stories260K, 64 tokens), a third dropped mid-stream (terminate);
 *   - SSE streams over HTTP, a third aborted mid-stream;
 *   - the gateway: chat completions on the `remote` alias (dummy provider, echo);
 *   - the classifier over WebSocket.
 *
 *   npm run build && node bench/lib/run.mjs bench/e2e/soak.ts [--minutes 10] [--every 10]
 */
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { decodeServerFrame, encodeRequest } from '../../src/protocol';
import { machineLine, writeResult } from '../lib';
import { trainBenchClassifier } from './bench-classifier';
import { startColoProcess } from './colo-process';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    every: { type: 'string', default: '10' },
    'rss-slack': { type: 'string', default: '1.5' },
  },
});
const END = performance.now() + Number(values.minutes) * 60_000;
const clf = await trainBenchClassifier(2);
const colo = await startColoProcess({
  engine: { models: [{ name: 'stories260K', sequences: 4, threads: 1, fallback: 'remote', maxQueue: 32 }] },
  classifiers: { models: [{ name: 'fin-sentiment', dir: clf.dir }] },
  gateway: {
    targets: [{ name: 'echo', provider: 'dummy', model: 'echo' }],
    aliases: [{ name: 'remote', targets: ['echo'] }],
  },
});
const base = `http://127.0.0.1:${colo.port}`;
const counts: Record<string, number> = {};
const bump = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);

function wsStream(drop: boolean): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${colo.port}/v1/ws`);
    let tokens = 0;
    ws.on('open', () =>
      ws.send(
        encodeRequest({
          id: 's',
          model: 'stories260K',
          prompt: 'Once upon a time',
          sampling: { maxTokens: 64 },
        }),
      ),
    );
    ws.on('message', (d: Buffer) => {
      const m = decodeServerFrame(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
      if (m.kind === 'token' && drop && ++tokens === 8) {
        bump('ws dropped');
        ws.terminate();
      } else if (m.kind === 'result' || m.kind === 'error') {
        bump(m.kind === 'result' ? 'ws ok' : `ws ${m.error.code}`);
        ws.close();
      }
    });
    ws.on('close', () => resolve());
    ws.on('error', () => (bump('ws socket error'), resolve()));
  });
}

async function sse(drop: boolean): Promise<void> {
  const ctl = new AbortController();
  try {
    const r = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'stories260K', prompt: 'The dog', max_tokens: 64, stream: true }),
      signal: ctl.signal,
    });
    const reader = r.body!.getReader();
    let chunks = 0;
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
      if (drop && ++chunks === 4) {
        ctl.abort();
        bump('sse dropped');
        return;
      }
    }
    bump(r.status === 200 ? 'sse ok' : `sse ${r.status}`);
  } catch (e) {
    if (!ctl.signal.aborted) bump(`sse failed ${(e as Error).name}`);
  }
}

async function gateway(): Promise<void> {
  const r = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    body: JSON.stringify({ model: 'remote', messages: [{ role: 'user', content: 'ping' }], max_tokens: 16 }),
  });
  bump(r.status === 200 ? 'gateway ok' : `gateway ${r.status}`);
  await r.arrayBuffer();
}

async function classify(ws: WebSocket, i: number): Promise<void> {
  await new Promise<void>((resolve) => {
    ws.once('message', (d: Buffer) => {
      const m = decodeServerFrame(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
      bump(m.kind === 'result' ? 'classify ok' : `classify ${m.kind === 'error' ? m.error.code : m.kind}`);
      resolve();
    });
    ws.send(
      encodeRequest({ id: `c${i}`, model: 'fin-sentiment', prompt: '$AAPL beats estimates', stream: false }),
    );
  });
}

const loop = async (fn: (i: number) => Promise<void>) => {
  for (let i = 0; performance.now() < END; i++) await fn(i);
};
const clfWs = new WebSocket(`ws://127.0.0.1:${colo.port}/v1/ws`);
await new Promise((r) => clfWs.once('open', r));

const samples: Record<string, number | string>[] = [];
async function sample(): Promise<void> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const g = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
  const s = {
    t: Math.round((Number(values.minutes) * 60_000 - (END - performance.now())) / 1000),
    rssMB: Math.round(g(/colo_process_memory_bytes\{kind="rss"\} (\S+)/) / 1e6),
    heapMB: Math.round(g(/colo_process_memory_bytes\{kind="heap_used"\} (\S+)/) / 1e6),
    loopP99Ms: +(g(/colo_eventloop_delay_seconds\{stat="p99"\} (\S+)/) * 1000).toFixed(2),
    loopMaxMs: +(g(/colo_eventloop_delay_seconds\{stat="max"\} (\S+)/) * 1000).toFixed(2),
    ...counts,
  };
  samples.push(s);
  console.log(JSON.stringify(s));
}
console.log(`# soak ${values.minutes} min\n${machineLine()}`);
const sampler = setInterval(() => void sample(), Number(values.every) * 1000);
await Promise.all([
  loop((i) => wsStream(i % 3 === 0)),
  loop((i) => sse(i % 3 === 1)),
  loop(() => gateway()),
  loop((i) => classify(clfWs, i)),
]);
clearInterval(sampler);
await sample();
clfWs.close();
await colo.stop();

const third = Math.max(1, Math.floor(samples.length / 3));
const mean = (xs: Record<string, number | string>[]) =>
  xs.reduce((n, s) => n + Number(s.rssMB), 0) / xs.length;
const first = mean(samples.slice(0, third));
const last = mean(samples.slice(-third));
const unstable = Object.keys(counts).filter((k) => / (failed|socket error|INTERNAL|5\d\d)/.test(k));
const verdict = {
  rssFirstThirdMB: Math.round(first),
  rssLastThirdMB: Math.round(last),
  rssBounded: last <= first * Number(values['rss-slack']),
  unexpectedErrors: unstable.map((k) => `${k}: ${counts[k]}`),
};
console.log(JSON.stringify(verdict));
writeResult('soak', 'e2e', { minutes: Number(values.minutes), samples, verdict });
process.exit(verdict.rssBounded && unstable.length === 0 ? 0 : 1);
