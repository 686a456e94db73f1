/**
 * Where the classifier round trip over /v1/ws goes with the audit log on: two Colo
 * servers in this process (audit off; audit on with fsync 'background', the default;
 * optionally 'never'), one `ws` client each, requests interleaved one by one with a Ping
 * on the same socket as the floor. Warm: 3,000 requests per server before timing, since
 * the first thousands run cold (JIT) and dominate a short run. Prints p50/p99 of the
 * round trip and of the server's own total (Result.timings.total_us).
 *
 *   npx tsx bench/e2e/classifier-ws-audit.ts [--n 5000]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { startColo, type Colo } from '../../src/app/colo';
import { parseConfig } from '../../src/config';
import { createLogger } from '../../src/core/log';
import { decodeServerFrame, encodePing, encodeRequest, type ServerMessage } from '../../src/protocol';
import { machineLine } from '../lib';
import { SHARED_MODELS } from '../../test/helpers/engine';
import { trainBenchClassifier } from './bench-classifier';

const { values } = parseArgs({ options: { n: { type: 'string', default: '5000' } } });
const N = Number(values.n);
const clf = await trainBenchClassifier(2);

async function server(audit: Record<string, unknown> | false) {
  const dir = mkdtempSync(join(tmpdir(), 'colo-ws-audit-'));
  const colo: Colo = await startColo(
    parseConfig({
      server: { port: 0 },
      audit: audit === false ? { enabled: false } : { dir: join(dir, 'audit'), ...audit },
      auth: { storePath: join(dir, 'auth.json') },
      engine: { modelDirs: [SHARED_MODELS], models: [{ name: 'stories260K', sequences: 1, threads: 1 }] },
      classifiers: { models: [{ name: 'fin-sentiment', dir: clf.dir }] },
    }),
    createLogger('error'),
  );
  const ws = new WebSocket(`ws://127.0.0.1:${colo.port}/v1/ws`);
  await new Promise((r) => ws.once('open', r));
  let resolve: (m: ServerMessage) => void = () => undefined;
  ws.on('message', (d: Buffer) =>
    resolve(decodeServerFrame(new Uint8Array(d.buffer, d.byteOffset, d.byteLength))),
  );
  let id = 0;
  const rt = async (bytes: Uint8Array) => {
    const t = process.hrtime.bigint();
    const p = new Promise<ServerMessage>((r) => (resolve = r));
    ws.send(bytes);
    const m = await p;
    return { us: Number(process.hrtime.bigint() - t) / 1000, m };
  };
  const clfReq = () =>
    encodeRequest({
      id: `c${id++}`,
      model: 'fin-sentiment',
      prompt: '$AAPL beats estimates, raises guidance',
      stream: false,
    });
  return { colo, ws, rt, clfReq };
}

const subjects = {
  'audit off': await server(false),
  'audit background (default)': await server({}),
  'audit never': await server({ fsync: 'never' }),
};
console.log(`# classifier over /v1/ws with and without the audit log\n${machineLine()}`);
for (const s of Object.values(subjects)) for (let i = 0; i < 3000; i++) await s.rt(s.clfReq());
const rows = Object.fromEntries(
  Object.keys(subjects).map((k) => [k, { ping: [] as number[], clf: [] as number[], srv: [] as number[] }]),
);
for (let i = 0; i < N; i++) {
  for (const [k, s] of Object.entries(subjects)) {
    rows[k]!.ping.push((await s.rt(encodePing(i))).us);
    const r = await s.rt(s.clfReq());
    rows[k]!.clf.push(r.us);
    rows[k]!.srv.push(r.m.kind === 'result' ? r.m.result.timings.totalUs : NaN);
  }
}
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)]!;
for (const [k, r] of Object.entries(rows))
  console.log(
    `${k.padEnd(28)} ping p50 ${q(r.ping, 0.5).toFixed(0)} p99 ${q(r.ping, 0.99).toFixed(0)} | classifier p50 ${q(r.clf, 0.5).toFixed(0)} p99 ${q(r.clf, 0.99).toFixed(0)} | added p50 ${(q(r.clf, 0.5) - q(r.ping, 0.5)).toFixed(0)} | server total p50 ${q(r.srv, 0.5).toFixed(0)} µs`,
  );
for (const s of Object.values(subjects)) {
  s.ws.close();
  await s.colo.shutdown('bench end');
}
process.exit(0);
