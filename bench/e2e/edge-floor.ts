/**
 * Issue 16's edge targets, each against its floor on the same connection, in one run:
 *   - WebSocket: a classifier InferenceRequest (stream=false → one Result) against a
 *     Ping on the same /v1/ws connection (target: p50 ≤ +150 µs, p99 ≤ +300 µs);
 *   - HTTP: POST /v1/classify against GET /healthz on the same keep-alive socket
 *     (target: p50 ≤ +150 µs).
 * Every Colo is a separate server process (dist/cli.js, or saved builds for a
 * before/after) with the DEFAULT configuration (durable audit on) plus one classifier;
 * the client is this process. Closed loop, one request in flight; rounds interleave
 * every build and path, so a neighbour's load hits them alike. Figures are the medians
 * of the per-round percentiles.
 *
 *   npm run build && node bench/lib/run.mjs bench/e2e/edge-floor.ts \
 *     [--n 5000] [--warmup 5000] [--rounds 3] [--colo after=dist/cli.js,before=SAVED/cli.js]
 *
 * Checks the answers first (labels of known headlines on both transports).
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { Agent, request } from 'undici';
import WebSocket from 'ws';
import { decodeServerFrame, encodePing, encodeRequest } from '../../src/protocol';
import { machineLine, writeResult } from '../lib';
import { CHECK_HEADLINES, trainBenchClassifier } from './bench-classifier';
import { ROOT, startColoProcess, type ColoProcess } from './colo-process';
import { loadNow } from './loadgen-core';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '5000' },
    warmup: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '3' },
    colo: { type: 'string', default: 'colo=dist/cli.js' },
  },
});
const N = Number(values.n);
const WARMUP = Number(values.warmup);
const ROUNDS = Number(values.rounds);
const HEADLINE = CHECK_HEADLINES[0]!.text;

interface Subject {
  name: string;
  proc: ColoProcess;
  ws: WsClient;
  http: HttpClient;
}

/** One /v1/ws connection, one request at a time. */
class WsClient {
  private waiting: ((frame: Buffer) => void) | null = null;
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const w = this.waiting;
      this.waiting = null;
      w?.(data);
    });
  }
  static connect(port: number): Promise<WsClient> {
    return new Promise((res, rej) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, { perMessageDeflate: false });
      ws.binaryType = 'nodebuffer';
      ws.once('open', () => res(new WsClient(ws)));
      ws.once('error', rej);
    });
  }
  ask(frame: Uint8Array): Promise<Buffer> {
    return new Promise((r) => {
      this.waiting = r;
      this.ws.send(frame);
    });
  }
  close(): void {
    this.ws.close();
  }
}

/** One keep-alive socket (undici, pipelining 1, one connection). */
class HttpClient {
  readonly agent: Agent;
  constructor(readonly origin: string) {
    this.agent = new Agent({ connections: 1, pipelining: 1, keepAliveTimeout: 60_000 });
  }
  async get(path: string): Promise<string> {
    const r = await request(this.origin + path, { dispatcher: this.agent });
    return r.body.text();
  }
  async post(path: string, body: string): Promise<string> {
    const r = await request(this.origin + path, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
      dispatcher: this.agent,
    });
    const text = await r.body.text();
    if (r.statusCode !== 200) throw new Error(`POST ${path}: ${r.statusCode} ${text}`);
    return text;
  }
}

const wsPing = (s: Subject, i: number) => s.ws.ask(encodePing(BigInt(i)));
const wsClassify = (s: Subject, i: number) =>
  s.ws.ask(encodeRequest({ id: `c${i}`, model: 'fin-sentiment', prompt: HEADLINE, stream: false }));
const httpHealth = (s: Subject) => s.http.get('/healthz');
const CLASSIFY_BODY = JSON.stringify({ model: 'fin-sentiment', input: HEADLINE });
const httpClassify = (s: Subject) => s.http.post('/v1/classify', CLASSIFY_BODY);

const PATHS = {
  'ws ping': wsPing,
  'ws classifier': wsClassify,
  'http healthz': httpHealth,
  'http classify': httpClassify,
} as const;
type PathName = keyof typeof PATHS;

async function timeLoop(s: Subject, fn: (s: Subject, i: number) => Promise<unknown>, n: number) {
  const us: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn(s, i);
    us[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  us.sort((a, b) => a - b);
  const at = (p: number) => us[Math.min(us.length - 1, Math.floor(us.length * p))]!;
  return { p50: at(0.5), p99: at(0.99), p999: at(0.999) };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

const clf = await trainBenchClassifier();
const builds = values.colo!.split(',').map((kv) => {
  const [name, path] = kv.split('=');
  return { name: name!, cli: resolve(ROOT, path!) };
});
const subjects: Subject[] = [];
for (const b of builds) {
  const proc = await startColoProcess(
    { classifiers: { models: [{ name: 'fin-sentiment', dir: clf.dir }] } },
    {},
    [],
    b.cli,
  );
  subjects.push({
    name: b.name,
    proc,
    ws: await WsClient.connect(proc.port),
    http: new HttpClient(`http://127.0.0.1:${proc.port}`),
  });
}
try {
  console.log(`# edge floor: classifier vs Ping (WS) and vs /healthz (HTTP)\n${machineLine()}`);
  // 1. Answers first.
  for (const s of subjects) {
    for (const h of CHECK_HEADLINES) {
      const f = decodeServerFrame(
        new Uint8Array(
          await s.ws.ask(encodeRequest({ id: 'chk', model: 'fin-sentiment', prompt: h.text, stream: false })),
        ),
      );
      const label = f.kind === 'result' ? f.signals[0]?.label : f.kind;
      if (label !== h.label) throw new Error(`${s.name} ws: "${h.text}" → ${label}, want ${h.label}`);
      const body = JSON.parse(
        await s.http.post('/v1/classify', JSON.stringify({ model: 'fin-sentiment', input: h.text })),
      ) as { results?: { label?: string }[] };
      if (body.results?.[0]?.label !== h.label)
        throw new Error(`${s.name} http: "${h.text}" → ${JSON.stringify(body)}, want ${h.label}`);
    }
  }
  console.log(`answers ok: ${CHECK_HEADLINES.length} headlines on WS and HTTP, ${subjects.length} build(s)`);
  // 2. Warm every path (JIT), then interleaved rounds.
  for (const s of subjects) for (const fn of Object.values(PATHS)) await timeLoop(s, fn, WARMUP);
  const runs: Record<string, Record<PathName, { p50: number[]; p99: number[]; p999: number[] }>> = {};
  const loadStart = loadNow();
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of subjects) {
      for (const [name, fn] of Object.entries(PATHS) as [
        PathName,
        (s: Subject, i: number) => Promise<unknown>,
      ][]) {
        const t = await timeLoop(s, fn, N);
        const row = ((runs[s.name] ??= {} as never)[name] ??= { p50: [], p99: [], p999: [] });
        row.p50.push(t.p50);
        row.p99.push(t.p99);
        row.p999.push(t.p999);
      }
    }
  }
  const loadEnd = loadNow();
  const out: Record<string, unknown> = {};
  for (const s of subjects) {
    const r = runs[s.name]!;
    const m = (p: PathName, k: 'p50' | 'p99' | 'p999') => median(r[p][k]);
    console.log(`\n${s.name}:`);
    for (const p of Object.keys(PATHS) as PathName[])
      console.log(
        `  ${p.padEnd(14)} p50 ${m(p, 'p50').toFixed(0).padStart(5)} µs  p99 ${m(p, 'p99').toFixed(0).padStart(6)} µs  p99.9 ${m(p, 'p999').toFixed(0).padStart(6)} µs   (rounds p50: ${r[p].p50.map((x) => x.toFixed(0)).join(', ')})`,
      );
    const added = {
      wsP50: m('ws classifier', 'p50') - m('ws ping', 'p50'),
      wsP99: m('ws classifier', 'p99') - m('ws ping', 'p99'),
      httpP50: m('http classify', 'p50') - m('http healthz', 'p50'),
      httpP99: m('http classify', 'p99') - m('http healthz', 'p99'),
    };
    console.log(
      `  added: WS classifier over Ping p50 +${added.wsP50.toFixed(0)} µs (target ≤ +150), p99 +${added.wsP99.toFixed(0)} µs (target ≤ +300); ` +
        `HTTP classify over /healthz p50 +${added.httpP50.toFixed(0)} µs (target ≤ +150), p99 +${added.httpP99.toFixed(0)} µs`,
    );
    out[s.name] = { paths: r, added };
  }
  console.log(`\nload ${loadStart.toFixed(2)} → ${loadEnd.toFixed(2)}`);
  writeResult('edge-floor', 'e2e', { n: N, rounds: ROUNDS, loadStart, loadEnd, builds, results: out });
} finally {
  for (const s of subjects) {
    s.ws.close();
    await s.http.agent.close();
    await s.proc.stop();
  }
}
