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
 * token), the client's time to first token and the server's own (receipt → dispatch to
 * the worker, receipt → first token, from the Result's timings), and CPU µs per token
 * of the server's main (network) thread, its busiest other thread (the model worker's
 * JavaScript), the rest of its threads together (llama.cpp's compute runs on libuv's
 * pool with threads: 1) and this client.
 *
 *   npm run build && node bench/lib/run.mjs bench/e2e/stream-threads.ts \
 *     [--colo poll=dist/cli.js,nopoll=dist/cli.js] [--colo-env nopoll:COLO_BUSY_POLL_MS=0]
 *     [--rounds 3] [--streams 120] [--tokens 128] [--attention off-f32]
 *
 * Linux only (/proc). Every stream must return the same (greedy) text, or the run fails.
 */
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { decodeServerFrame, encodeRequest } from '../../src/protocol';
import { machineLine, writeResult } from '../lib';
import { threadCpuUs } from '../lib/profile';
import { coloSubjects, DEFAULT_MODEL_PATH, pinnedAttention, startColoProcess } from './colo-process';

const { values } = parseArgs({
  options: {
    colo: { type: 'string', default: 'colo=dist/cli.js' },
    /** `label:KEY=VALUE`, comma-separated: environment for one subject's server. */
    'colo-env': { type: 'string', default: '' },
    rounds: { type: 'string', default: '3' },
    streams: { type: 'string', default: '120' },
    tokens: { type: 'string', default: '128' },
    warmup: { type: 'string', default: '30' },
    /** The attention setting every server runs: on|off-f16|f32 (the same kernels for all), or auto (each probes at load). */
    attention: { type: 'string', default: 'off-f32' },
  },
});
const ROUNDS = Number(values.rounds);
const STREAMS = Number(values.streams);
const TOKENS = Number(values.tokens);

const ATTENTION = pinnedAttention(values.attention!);
const subjects = coloSubjects(values.colo!, values['colo-env']);

/** CPU µs per thread, the second read minus the first (threads that ended are left out). */
const delta = (after: Map<number, number>, before: Map<number, number>) =>
  new Map([...after].map(([t, us]) => [t, us - (before.get(t) ?? 0)] as const));

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
            ...ATTENTION,
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
    const sBefore = threadCpuUs(pid);
    const cBefore = threadCpuUs(process.pid);
    const t0 = performance.now();
    let tokens = 0;
    for (let i = 0; i < STREAMS; i++) tokens += await one(i);
    const wallMs = performance.now() - t0;
    const server = delta(threadCpuUs(pid), sBefore);
    const client = delta(threadCpuUs(process.pid), cBefore);
    ws.close();
    const perToken = (us: number) => us / tokens;
    const others = [...server].filter(([t]) => t !== pid).map(([, us]) => us);
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
