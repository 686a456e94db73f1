/**
 * Where a stream's CPU goes, per thread, and what the box's cores allow: back-to-back
 * greedy streams over one WebSocket from this process to a Colo server (its own
 * process, the default config but for the response cache and a pinned attention
 * setting), with each thread's CPU time read from /proc before and after and divided by
 * the tokens streamed. Subjects (builds, or one build with a different environment) run
 * one at a time, each server started fresh and stopped after its round, rounds
 * alternating, so no idle server's polling loop overlaps another's run.
 *
 * Per subject (medians of rounds): tokens/s over the whole run (first token waits,
 * results and the next request included), each stream's decode rate (first to last
 * token), the client's time to first token and the server's own (receipt → worker,
 * receipt → first token), and CPU µs per token of the server's main (network) thread,
 * its busiest other thread (the model worker's JavaScript), the rest of its threads
 * together (llama.cpp's compute runs on libuv's pool with threads: 1) and this client.
 *
 *   npm run build && node bench/lib/run.mjs bench/e2e/stream-threads.ts \
 *     [--colo poll=dist/cli.js,nopoll=dist/cli.js] [--colo-env nopoll:COLO_BUSY_POLL_MS=0]
 *     [--rounds 3] [--streams 120] [--tokens 128] [--attention off-f32]
 *
 * Linux only (/proc). Checks that every stream returns the same text first.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { decodeServerFrame, encodeRequest } from '../../src/protocol';
import { machineLine, writeResult } from '../lib';
import { DEFAULT_MODEL_PATH, ROOT, startColoProcess } from './colo-process';

const { values } = parseArgs({
  options: {
    colo: { type: 'string', default: 'colo=dist/cli.js' },
    /** `label:KEY=VALUE`, comma-separated: environment for one subject's server. */
    'colo-env': { type: 'string', default: '' },
    rounds: { type: 'string', default: '3' },
    streams: { type: 'string', default: '120' },
    tokens: { type: 'string', default: '128' },
    warmup: { type: 'string', default: '30' },
    /** The attention setting every server runs (not probed at load: same kernels for all). */
    attention: { type: 'string', default: 'off-f32' },
  },
});
const ROUNDS = Number(values.rounds);
const STREAMS = Number(values.streams);
const TOKENS = Number(values.tokens);

const att = /^(on|off)-(f16|f32)$/.exec(values.attention!);
if (!att) throw new Error(`--attention: on|off-f16|f32, got ${values.attention}`);
const subjects = values.colo!.split(',').map((s) => {
  const [label, cli] = s.split('=');
  return { label: label!, cli: resolve(ROOT, cli!), env: {} as Record<string, string> };
});
for (const item of values['colo-env']!.split(',').filter(Boolean)) {
  const m = /^([^:]+):([^=]+)=(.*)$/.exec(item);
  const s = m && subjects.find((x) => x.label === m[1]);
  if (!m || !s) throw new Error(`--colo-env: expected label:KEY=VALUE for a --colo label, got ${item}`);
  s.env[m[2]!] = m[3]!;
}

/** CPU ms per thread id of a process (utime + stime, in clock ticks of 10 ms). */
function threadCpuMs(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(Number(t), (Number(f[11]) + Number(f[12])) * 10);
  }
  return out;
}
const delta = (after: Map<number, number>, before: Map<number, number>) =>
  new Map([...after].map(([t, ms]) => [t, ms - (before.get(t) ?? 0)] as const));

interface Round {
  tokS: number;
  decodeTokS: number;
  ttftUs: number;
  serverQueueUs: number;
  serverTtftUs: number;
  mainUs: number;
  workerUs: number;
  restUs: number;
  clientUs: number;
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;

let expected: string | undefined;

async function round(s: (typeof subjects)[number]): Promise<Round> {
  const proc = await startColoProcess(
    {
      cache: { enabled: false },
      engine: {
        models: [
          {
            name: 'bench',
            source: DEFAULT_MODEL_PATH,
            sequences: 8,
            threads: 1,
            contextSize: 512,
            flashAttention: att![1] === 'on',
            kvCacheType: att![2],
          },
        ],
      },
    },
    s.env,
    [],
    s.cli,
  );
  try {
    const pid = proc.child.pid!;
    const ws = new WebSocket(`ws://127.0.0.1:${proc.port}/v1/ws`);
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    const streams: { ttftUs: number; decodeTokS: number; queueUs: number; srvTtftUs: number }[] = [];
    const one = (i: number) =>
      new Promise<number>((res, rej) => {
        const t0 = performance.now();
        let first = 0;
        let last = 0;
        let text = '';
        const on = (d: Buffer) => {
          const m = decodeServerFrame(new Uint8Array(d));
          if (m.kind === 'token') {
            last = performance.now();
            first ||= last;
            text += m.text;
          } else if (m.kind === 'result') {
            ws.off('message', on);
            const n = m.result.usage.completionTokens;
            if ((expected ??= text) !== text)
              rej(new Error(`stream ${i}: text differs from the first stream's`));
            streams.push({
              ttftUs: (first - t0) * 1000,
              decodeTokS: ((n - 1) / (last - first)) * 1000,
              queueUs: m.result.timings.queueUs,
              srvTtftUs: m.result.timings.ttftUs,
            });
            res(n);
          } else if (m.kind === 'error') {
            ws.off('message', on);
            rej(new Error(`stream ${i}: ${m.error.code} ${m.error.message}`));
          }
        };
        ws.on('message', on);
        ws.send(
          encodeRequest({
            id: `s${i}`,
            model: 'bench',
            prompt: 'Once upon a time',
            sampling: { maxTokens: TOKENS, temperature: 0 },
            stream: true,
          }),
        );
      });
    for (let i = 0; i < Number(values.warmup); i++) await one(-1 - i);
    streams.length = 0;
    const sBefore = threadCpuMs(pid);
    const cBefore = threadCpuMs(process.pid);
    const t0 = performance.now();
    let tokens = 0;
    for (let i = 0; i < STREAMS; i++) tokens += await one(i);
    const wallMs = performance.now() - t0;
    const server = delta(threadCpuMs(pid), sBefore);
    const client = delta(threadCpuMs(process.pid), cBefore);
    ws.close();
    const perToken = (ms: number) => (ms * 1000) / tokens;
    const others = [...server].filter(([t]) => t !== pid).map(([, ms]) => ms);
    const busiest = Math.max(0, ...others);
    return {
      tokS: (tokens / wallMs) * 1000,
      decodeTokS: med(streams.map((x) => x.decodeTokS)),
      ttftUs: med(streams.map((x) => x.ttftUs)),
      serverQueueUs: med(streams.map((x) => x.queueUs)),
      serverTtftUs: med(streams.map((x) => x.srvTtftUs)),
      mainUs: perToken(server.get(pid) ?? 0),
      workerUs: perToken(busiest),
      restUs: perToken(others.reduce((a, b) => a + b, 0) - busiest),
      clientUs: perToken(client.get(process.pid) ?? 0),
    };
  } finally {
    await proc.stop();
  }
}

const rounds = new Map<string, Round[]>(subjects.map((s) => [s.label, []]));
for (let r = 0; r < ROUNDS; r++)
  for (const s of r % 2 === 0 ? subjects : [...subjects].reverse()) rounds.get(s.label)!.push(await round(s));

console.log(
  `# stream threads: ${STREAMS} streams × ${TOKENS} tokens per round, ${ROUNDS} rounds, ${values.attention}`,
);
console.log(machineLine());
const summary: Record<string, Record<keyof Round, number> & { env: Record<string, string> }> = {};
for (const s of subjects) {
  const rs = rounds.get(s.label)!;
  const m = Object.fromEntries(
    (Object.keys(rs[0]!) as (keyof Round)[]).map((k) => [k, med(rs.map((x) => x[k]))]),
  ) as Record<keyof Round, number>;
  summary[s.label] = { ...m, env: s.env };
  console.log(
    `${s.label.padEnd(10)} ${m.tokS.toFixed(0)} tok/s (decode ${m.decodeTokS.toFixed(0)}; rounds ${rs.map((x) => x.tokS.toFixed(0)).join(' ')})` +
      `  ttft ${m.ttftUs.toFixed(0)} µs (server: queue ${m.serverQueueUs.toFixed(0)}, first ${m.serverTtftUs.toFixed(0)})` +
      `  CPU µs/token: main ${m.mainUs.toFixed(1)}, worker ${m.workerUs.toFixed(1)}, other threads ${m.restUs.toFixed(1)}, client ${m.clientUs.toFixed(1)}`,
  );
}
writeResult('stream-threads', 'e2e', {
  streams: STREAMS,
  tokens: TOKENS,
  rounds: ROUNDS,
  attention: values.attention,
  machine: machineLine(),
  subjects: summary,
});
process.exit(0);
