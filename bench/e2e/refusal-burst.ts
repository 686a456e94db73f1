/**
 * What a refusal costs the server: bursts of requests that admission refuses at once
 * (DEADLINE: they cannot finish in time), over one WebSocket, the way a burst reaches an
 * overloaded Colo. The burst must be refused within 50 ms of arrival; the last
 * refusal of a burst waits behind every refusal before it on the network thread, so the
 * cost of one refusal sets how big a burst can be refused in time.
 *
 * Per burst: `--burst` requests sent at once (skill calls, `sentiment` on the default
 * model, and plain generations, alternately), deadline 5 ms; the time from the first
 * send to the last Error frame, and the server process's CPU (all threads, /proc) per
 * refused request. Every answer must be a DEADLINE Error frame. Rounds interleave the
 * builds (`--colo name=cli,...`), each a separate server process with the default config
 * but the response cache off.
 *
 *   npm run build && node bench/lib/run.mjs bench/e2e/refusal-burst.ts [--burst 64] [--bursts 40]
 *     [--rounds 3] [--colo after=dist/cli.js,before=SAVED/cli.js] [--profile DIR]
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import WebSocket from 'ws';
import { decodeServerFrame, encodeRequest } from '../../src/protocol';
import { machineLine, writeResult } from '../lib';
import { processCpuUs, summarizeCpuProfile } from '../lib/profile';
import { DEFAULT_MODEL_PATH, ROOT, startColoProcess, type ColoProcess } from './colo-process';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: DEFAULT_MODEL_PATH },
    burst: { type: 'string', default: '64' },
    bursts: { type: 'string', default: '40' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '20' },
    colo: { type: 'string', default: 'colo=dist/cli.js' },
    /** Write each server's CPU profile under this directory and print its top self times (measured rounds only). */
    profile: { type: 'string' },
  },
});
const BURST = Number(values.burst);
const HEADLINE = 'Shares of the bank rose after it said quarterly revenue beat estimates.';

interface Subject {
  name: string;
  proc: ColoProcess;
  ws: WebSocket;
}

let seq = 0;
/** One burst: resolves with ms from the first send to the last answer, once all are DEADLINE errors. */
function burst(s: Subject): Promise<number> {
  return new Promise((res, rej) => {
    let left = BURST;
    const t0 = performance.now();
    const onMsg = (data: Buffer) => {
      const m = decodeServerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (m.kind !== 'error' || m.error.code !== 'DEADLINE') {
        s.ws.off('message', onMsg);
        return rej(
          new Error(`${s.name}: expected a DEADLINE Error frame, got ${JSON.stringify(m).slice(0, 200)}`),
        );
      }
      if (--left === 0) {
        s.ws.off('message', onMsg);
        res(performance.now() - t0);
      }
    };
    s.ws.on('message', onMsg);
    for (let i = 0; i < BURST; i++) {
      const id = `b${seq++}`;
      s.ws.send(
        i % 2 === 0
          ? encodeRequest({
              id,
              skill: 'sentiment',
              model: '',
              prompt: HEADLINE,
              stream: false,
              deadlineMs: 5,
            })
          : encodeRequest({
              id,
              model: 'stories260K',
              prompt: HEADLINE,
              sampling: { maxTokens: 200 },
              stream: true,
              deadlineMs: 5,
            }),
      );
    }
  });
}

const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const subjects: Subject[] = [];
/** CLOCK_MONOTONIC µs when the measured rounds start (profiles are read from here on). */
let measuredFromUs = 0;
for (const spec of values.colo!.split(',')) {
  const [name, cli] = spec.split('=');
  const proc = await startColoProcess(
    {
      cache: { enabled: false },
      engine: { models: [{ name: 'stories260K', source: values.model }] },
    },
    {},
    values.profile ? ['--cpu-prof', `--cpu-prof-dir=${resolve(values.profile, name!)}`] : [],
    resolve(ROOT, cli!),
  );
  const ws = new WebSocket(`ws://127.0.0.1:${proc.port}/v1/ws`, { perMessageDeflate: false });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  subjects.push({ name: name!, proc, ws });
}
try {
  console.log(machineLine());
  console.log(
    `${values.bursts} bursts of ${BURST} refused requests (skill and generation alternately, deadline 5 ms) per round`,
  );
  for (const s of subjects) for (let i = 0; i < Number(values.warmup); i++) await burst(s);
  const rows: Record<string, { lastMs: number[]; cpuUs: number[] }> = {};
  measuredFromUs = Number(process.hrtime.bigint() / 1000n);
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const s of subjects) {
      const ms: number[] = [];
      const cpu0 = processCpuUs(s.proc.child.pid!);
      for (let i = 0; i < Number(values.bursts); i++) ms.push(await burst(s));
      const cpuPer = (processCpuUs(s.proc.child.pid!) - cpu0) / (BURST * Number(values.bursts));
      const row = (rows[s.name] ??= { lastMs: [], cpuUs: [] });
      row.lastMs.push(med(ms));
      row.cpuUs.push(cpuPer);
      console.log(
        `round ${r} ${s.name.padEnd(8)} last refusal of a burst p50 ${med(ms).toFixed(1)} ms (max ${Math.max(...ms).toFixed(1)}), server CPU ${cpuPer.toFixed(0)} µs per refusal`,
      );
    }
  }
  for (const [name, row] of Object.entries(rows))
    console.log(
      `${name.padEnd(8)} median of rounds: last refusal ${med(row.lastMs).toFixed(1)} ms, ${((med(row.lastMs) * 1000) / BURST).toFixed(0)} µs a refusal; server CPU ${med(row.cpuUs).toFixed(0)} µs per refusal`,
    );
  const out = writeResult('refusal-burst', 'e2e', { burst: BURST, bursts: Number(values.bursts), rows });
  if (out) console.log(`wrote ${out}`);
} finally {
  for (const s of subjects) {
    s.ws.close();
    await s.proc.stop();
  }
}
if (values.profile)
  for (const s of subjects) {
    const p = summarizeCpuProfile(resolve(values.profile, s.name), measuredFromUs, ROOT, 25);
    console.log(
      `\n${s.name}: main thread ${p.totalMs.toFixed(0)} ms busy in the measured rounds; top self time:`,
    );
    for (const f of p.functions)
      console.log(`${f.selfMs.toFixed(1).padStart(9)} ms ${f.pct.toFixed(1).padStart(5)}%  ${f.name}`);
  }
process.exit(0);
