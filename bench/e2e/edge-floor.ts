/**
 * Issue 16's edge targets, each against its floor on the same connection, in one run:
 *   - WebSocket: a classifier InferenceRequest (stream=false → one Result) against a
 *     Ping on the same /v1/ws connection (target: p50 ≤ +150 µs, p99 ≤ +300 µs);
 *   - HTTP: POST /v1/classify against GET /healthz on the same keep-alive socket
 *     (target: p50 ≤ +150 µs), from a raw-socket client (HttpClient below).
 * Every Colo is a separate server process (dist/cli.js, or saved builds for a
 * before/after) with the DEFAULT configuration (durable audit on) plus one classifier;
 * the client is this process. Closed loop, one request in flight; rounds interleave
 * every build and path, so a neighbour's load hits them alike. Figures are the medians
 * of the per-round percentiles.
 *
 *   npm run build && node bench/lib/run.mjs bench/e2e/edge-floor.ts \
 *     [--n 5000] [--warmup 5000] [--rounds 3] [--colo after=dist/cli.js,before=SAVED/cli.js]
 *     [--config '{"audit":{"fsync":"never"}}']
 *
 * Checks the answers first (labels of known headlines on both transports).
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { connect, type Socket } from 'node:net';
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
    /** Extra config merged into every server's (JSON), e.g. '{"audit":{"fsync":"never"}}'; default none. */
    config: { type: 'string', default: '{}' },
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

/**
 * One keep-alive HTTP/1.1 socket, one request at a time, on a raw `net` socket: the
 * request bytes are built once and the response is read by content-length, so the
 * client costs the same for GET /healthz and POST /v1/classify and the difference
 * between the two is the server's (undici adds tens of µs more to a POST than a GET).
 */
class HttpClient {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: ((r: { status: number; body: string }) => void) | null = null;
  private constructor(private readonly sock: Socket) {
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString('latin1');
      const len = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (this.buf.length < end + 4 + len) return;
      const body = this.buf.subarray(end + 4, end + 4 + len).toString('utf8');
      this.buf = this.buf.subarray(end + 4 + len);
      const w = this.waiting;
      this.waiting = null;
      w?.({ status: Number(head.slice(9, 12)), body });
    });
  }
  static connect(port: number): Promise<HttpClient> {
    return new Promise((res, rej) => {
      const sock = connect(port, '127.0.0.1', () => res(new HttpClient(sock)));
      sock.once('error', rej);
    });
  }
  send(req: Buffer): Promise<{ status: number; body: string }> {
    return new Promise((r) => {
      this.waiting = r;
      this.sock.write(req);
    });
  }
  close(): void {
    this.sock.destroy();
  }
}

const getRequest = (path: string) => Buffer.from(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`, 'latin1');
function postRequest(path: string, json: string): Buffer {
  const body = Buffer.from(json);
  return Buffer.concat([
    Buffer.from(
      `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
      'latin1',
    ),
    body,
  ]);
}
async function ok(r: Promise<{ status: number; body: string }>): Promise<string> {
  const { status, body } = await r;
  if (status !== 200) throw new Error(`HTTP ${status}: ${body}`);
  return body;
}

const wsPing = (s: Subject, i: number) => s.ws.ask(encodePing(BigInt(i)));
const wsClassify = (s: Subject, i: number) =>
  s.ws.ask(encodeRequest({ id: `c${i}`, model: 'fin-sentiment', prompt: HEADLINE, stream: false }));
const HEALTHZ = getRequest('/healthz');
const CLASSIFY = postRequest('/v1/classify', JSON.stringify({ model: 'fin-sentiment', input: HEADLINE }));
const httpHealth = (s: Subject) => ok(s.http.send(HEALTHZ));
const httpClassify = (s: Subject) => ok(s.http.send(CLASSIFY));

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
    {
      ...(JSON.parse(values.config!) as object),
      classifiers: { models: [{ name: 'fin-sentiment', dir: clf.dir }] },
    },
    {},
    [],
    b.cli,
  );
  subjects.push({
    name: b.name,
    proc,
    ws: await WsClient.connect(proc.port),
    http: await HttpClient.connect(proc.port),
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
        await ok(
          s.http.send(postRequest('/v1/classify', JSON.stringify({ model: 'fin-sentiment', input: h.text }))),
        ),
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
    s.http.close();
    await s.proc.stop();
  }
}
