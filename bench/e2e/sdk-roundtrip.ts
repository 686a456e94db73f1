/**
 * Client round trips against one Colo (child process, loopback): the TypeScript client
 * (`ws` + src/protocol/client.ts) against the C++ SDK over its own RFC 6455 transport
 * (blocking poll and busy-poll), the C++ SDK over Boost.Beast, and the Python SDK, in the
 * same run, in interleaved rounds (the order rotates each round). Two round trips, one at a
 * time on one connection (closed loop):
 *   ping      Ping -> Pong (the protocol floor: no pipeline)
 *   classify  a non-streamed InferenceRequest to the ONNX headline classifier -> Result + Signal
 *
 *   cmake -S native/clients/cpp -B native/build/cpp-client -DCOLO_BENCH_BEAST=ON && cmake --build native/build/cpp-client
 *   npm run build && node bench/lib/run.mjs bench/e2e/sdk-roundtrip.ts [--count 3000] [--rounds 3] [--quick]
 *
 * Colo runs with the audit log off, so the classify figure is the serving path without an
 * fsync per request (see colo-vs-echo.ts for the audit's cost). Every client's samples are
 * summarised by the same code (summarizeValues); the C++ and Python programs write raw ns.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { decodeServerFrame, encodePing, encodeRequest } from '../../src/protocol';
import { formatSummary, machineLine, summarizeValues, writeResult, type LatencySummary } from '../lib';
import { trainBenchClassifier } from './bench-classifier';
import { ROOT, startColoProcess } from './colo-process';
import { loadNow } from './loadgen-core';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '3000' },
    rounds: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
  },
});
const QUICK = values.quick || process.env.BENCH_QUICK === '1';
const COUNT = QUICK ? 500 : Number(values.count);
const ROUNDS = QUICK ? 1 : Number(values.rounds);
const WARMUP = 300;
const TEXT = '$TSLA downgraded to sell at Goldman';
const BUILD = join(ROOT, 'native/build/cpp-client');
const run = promisify(execFile);
type Mode = 'ping' | 'classify';

async function tsClient(url: string, mode: Mode): Promise<number[]> {
  const ws = new WebSocket(url);
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  let wake: ((b: Buffer) => void) | null = null;
  ws.on('message', (d: Buffer) => wake?.(d));
  const next = () => new Promise<Buffer>((r) => (wake = r));
  const out: number[] = [];
  for (let i = 0; i < WARMUP + COUNT; i++) {
    const t0 = process.hrtime.bigint();
    if (mode === 'ping') {
      ws.send(encodePing(i));
      const m = decodeServerFrame(new Uint8Array(await next()));
      if (m.kind !== 'pong' || m.nonce !== BigInt(i)) throw new Error('answer check failed: bad pong');
    } else {
      ws.send(encodeRequest({ id: `t${i}`, model: 'fin-sentiment', prompt: TEXT, stream: false }));
      const m = decodeServerFrame(new Uint8Array(await next()));
      if (m.kind !== 'result' || m.signals.length !== 1) throw new Error('answer check failed: no signal');
    }
    if (i >= WARMUP) out.push(Number(process.hrtime.bigint() - t0));
  }
  ws.close();
  return out;
}

const samples = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map(Number);

async function cpp(url: string, mode: Mode, extra: string[]): Promise<number[]> {
  const file = join(mkdtempSync(join(tmpdir(), 'sdk-rt-')), 's.txt');
  await run(join(BUILD, extra.includes('beast') ? 'colo_bench_beast' : 'colo_bench'), [
    url,
    mode,
    String(COUNT),
    '--warmup',
    String(WARMUP),
    '--samples',
    file,
    ...extra,
  ]);
  return samples(file);
}

async function python(url: string, mode: Mode): Promise<number[]> {
  const file = join(mkdtempSync(join(tmpdir(), 'sdk-rt-')), 's.txt');
  await run(
    '/usr/bin/python3',
    [join(ROOT, 'bench/e2e/sdk-roundtrip.py'), url, mode, String(COUNT), String(WARMUP), file],
    {
      env: { ...process.env, PYTHONPATH: join(ROOT, 'native/clients/python'), PYTHONDONTWRITEBYTECODE: '1' },
    },
  );
  return samples(file);
}

const CLIENTS: Record<string, (url: string, mode: Mode) => Promise<number[]>> = {
  ts: tsClient,
  'cpp-raw': (u, m) => cpp(u, m, ['--transport', 'raw']),
  'cpp-raw-busypoll': (u, m) => cpp(u, m, ['--transport', 'raw', '--busy-poll']),
  'cpp-beast': (u, m) => cpp(u, m, ['--transport', 'beast']),
  python,
};

for (const bin of ['colo_bench', 'colo_bench_beast'])
  if (!existsSync(join(BUILD, bin)))
    throw new Error(
      `${bin} missing: cmake -S native/clients/cpp -B native/build/cpp-client -DCOLO_BENCH_BEAST=ON && cmake --build native/build/cpp-client`,
    );

console.log(machineLine());
const clf = await trainBenchClassifier();
const colo = await startColoProcess({
  audit: { enabled: false },
  engine: { models: [{ name: 'stories260K', sequences: 1, threads: 1 }] },
  classifiers: { models: [{ name: 'fin-sentiment', dir: clf.dir }] },
});
const url = `ws://127.0.0.1:${colo.port}/v1/ws`;
interface Row {
  round: number;
  client: string;
  mode: Mode;
  summary: LatencySummary;
  load: string;
}
const rows: Row[] = [];
try {
  const names = Object.keys(CLIENTS);
  for (let round = 0; round < ROUNDS; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]!);
    for (const mode of ['ping', 'classify'] as const) {
      for (const name of order) {
        const summary = summarizeValues(await CLIENTS[name]!(url, mode));
        const load = loadNow();
        rows.push({ round, client: name, mode, summary, load: String(load) });
        console.log(
          `round ${round} ${mode.padEnd(8)} ${name.padEnd(17)} ${formatSummary(summary)}  load ${load}`,
        );
      }
    }
  }
} finally {
  await colo.stop();
}
console.log('\nmedian over rounds of each p50 / p99 (µs):');
for (const mode of ['ping', 'classify'] as const) {
  for (const name of Object.keys(CLIENTS)) {
    const mine = rows.filter((r) => r.mode === mode && r.client === name);
    const med = (k: 'p50' | 'p99') => mine.map((r) => r.summary[k]).sort((a, b) => a - b)[mine.length >> 1]!;
    console.log(
      `${mode.padEnd(8)} ${name.padEnd(17)} p50 ${med('p50').toFixed(1)}  p99 ${med('p99').toFixed(1)}`,
    );
  }
}
const file = writeResult('sdk-roundtrip', 'e2e', { count: COUNT, rounds: ROUNDS, rows });
if (file) console.log(`results: ${file}`);
