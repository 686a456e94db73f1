/**
 * Colo's own overhead against the transport floor, in one run: the same request frames
 * (same bytes) through (a) the uWS echo server and (b) a real Colo server (dist/cli.js),
 * both in child processes, same `ws` client, loopback. Colo paths, none of which needs a
 * language model's compute except the last:
 *   - ping:       Ping → Pong, answered on the uWS thread (verify + decode + encode);
 *   - classifier: InferenceRequest for an ONNX classifier, stream=false → one Result
 *                 with a Signal (verify, router, featurize + onnxruntime inline, encode);
 *   - llm-1tok:   stories260K, max_tokens 1, stream=false → one Result (adds the
 *                 Piscina worker hop and one llama.cpp decode of the prompt).
 * Closed loop with 1 client, then open loop at a fixed rate (latency from schedule).
 * The echo returns as many bytes as it got; Colo's replies differ (sizes printed).
 *
 *   node bench/lib/run.mjs bench/e2e/colo-vs-echo.ts [--count 5000] [--rate 1000] [--open-ms 3000] [--rounds 2]
 *        [--audit shipped|fsync-never|interval-0|fsync-never-interval-0|off] [--profile] [--only ping,classifier,llm-1tok] [--quick]
 *
 * --audit picks Colo's audit log config: as shipped (fsync 'always', the answer waits
 * for the 2 ms group commit), fsync-never, interval-0 (flushIntervalMs 0),
 * fsync-never-interval-0, or off; audit files go to a temporary dir.
 *
 * --profile runs Colo under `node --cpu-prof` and prints its main thread's top self-time
 * functions; --only classifier (comma list) runs some scenarios.
 * Checks the answers first: Pong nonce, the classifier's labels, one LLM token.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as flatbuffers from 'flatbuffers';
import { getLlama, LlamaCompletion } from 'node-llama-cpp';
import WebSocket from 'ws';
import { Classifier } from '../../src/classifier';
import { decodeServerFrame, encodePing, encodeRequest } from '../../src/protocol';
import * as fb from '../../src/protocol/generated/colo_generated';
import {
  compareLatency,
  formatSummary,
  machineLine,
  runClosedLoop,
  runOpenLoop,
  writeResult,
  type ComparisonRow,
  type LatencySummary,
} from '../lib';
import { CHECK_HEADLINES, trainBenchClassifier } from './bench-classifier';
import { loadNow } from './loadgen-core';
import { DEFAULT_MODEL_PATH, startColoProcess } from './colo-process';
import { EchoClient } from './uws-echo-client';
import { startEchoChild } from './uws-echo';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '5000' },
    'llm-count': { type: 'string', default: '1500' },
    warmup: { type: 'string', default: '500' },
    rate: { type: 'string', default: '1000' },
    'llm-rate': { type: 'string', default: '200' },
    'open-ms': { type: 'string', default: '3000' },
    model: { type: 'string', default: DEFAULT_MODEL_PATH },
    profile: { type: 'boolean', default: false },
    only: { type: 'string', default: 'ping,classifier,llm-1tok' },
    rounds: { type: 'string', default: '2' },
    audit: { type: 'string', default: 'shipped' },
    quick: { type: 'boolean', default: false },
  },
});
const QUICK = values.quick || process.env.BENCH_QUICK === '1';
const COUNT = QUICK ? 1000 : Number(values.count);
const LLM_COUNT = QUICK ? 300 : Number(values['llm-count']);
const WARMUP = QUICK ? 200 : Number(values.warmup);
const OPEN_MS = QUICK ? 1000 : Number(values['open-ms']);
const RATE = Number(values.rate);
const ROUNDS = QUICK ? 1 : Number(values.rounds);
/**
 * Colo's durable audit log as shipped (fsync 'always', 2 ms group commit, awaited
 * before the answer), with fsync 'never' (the OS has the bytes), or off.
 */
const AUDIT: Record<string, Record<string, unknown>> = {
  shipped: {},
  'fsync-never': { audit: { fsync: 'never' } },
  /** fsync 'always' but no group-commit wait: a batch is flushed as soon as the writer is idle. */
  'interval-0': { audit: { flushIntervalMs: 0 } },
  'fsync-never-interval-0': { audit: { fsync: 'never', flushIntervalMs: 0 } },
  off: { audit: { enabled: false } },
};
if (!(values.audit! in AUDIT)) throw new Error(`--audit: expected one of ${Object.keys(AUDIT).join(', ')}`);
const LLM_RATE = Number(values['llm-rate']);
/** Distinct ids/nonces pre-encoded per scenario; more than can ever be in flight here. */
const RING = 4096;

/** A Colo client that sends pre-encoded frames and matches replies by id without verifying (checked before). */
class ColoClient {
  private readonly pending = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  private readonly bb = new flatbuffers.ByteBuffer(new Uint8Array(0));
  private readonly frame = new fb.ServerFrame();
  replyBytes = 0;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => this.onFrame(data));
  }

  static connect(port: number): Promise<ColoClient> {
    return new Promise((res, rej) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, { perMessageDeflate: false });
      ws.binaryType = 'nodebuffer';
      ws.once('open', () => res(new ColoClient(ws)));
      ws.once('error', rej);
    });
  }

  /** The key a reply answers: `p<nonce>` for a Pong, the request id otherwise. */
  private onFrame(data: Buffer): void {
    this.replyBytes = data.byteLength;
    const bb = new flatbuffers.ByteBuffer(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    const f = fb.ServerFrame.getRootAsServerFrame(bb, this.frame);
    let key: string | null = null;
    let failed = false;
    switch (f.bodyType()) {
      case fb.ServerBody.Pong:
        key = `p${(f.body(new fb.Pong()) as fb.Pong).nonce()}`;
        break;
      case fb.ServerBody.Result:
        key = (f.body(new fb.Result()) as fb.Result).id();
        break;
      case fb.ServerBody.Error:
        key = (f.body(new fb.Error()) as fb.Error).id();
        failed = true;
        break;
      default:
        return; // Accepted / TokenChunk: not the end of the answer.
    }
    const p = key === null ? undefined : this.pending.get(key);
    if (!p) return;
    this.pending.delete(key as string);
    if (failed) p.reject(new Error(`error frame for ${key}`));
    else p.resolve();
  }

  roundTrip(frame: Uint8Array, key: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.set(key, { resolve, reject });
      this.ws.send(frame, { binary: true, compress: false });
    });
  }

  /** Sends one frame and returns the fully decoded (verified) reply: for the answer check. */
  ask(frame: Uint8Array): Promise<ReturnType<typeof decodeServerFrame>> {
    return new Promise((resolve) => {
      const onMsg = (data: Buffer) => {
        const m = decodeServerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        if (m.kind === 'token' || m.kind === 'accepted') return;
        this.ws.off('message', onMsg);
        resolve(m);
      };
      this.ws.on('message', onMsg);
      this.ws.send(frame, { binary: true, compress: false });
    });
  }

  close(): Promise<void> {
    return new Promise((r) => {
      this.ws.once('close', () => r());
      this.ws.close();
    });
  }
}

interface Scenario {
  name: string;
  /** Pre-encoded frames and the reply key of each. */
  frames: Uint8Array[];
  keys: string[];
  count: number;
  rate: number;
}

function scenario(
  name: string,
  count: number,
  rate: number,
  make: (i: number) => { frame: Uint8Array; key: string },
): Scenario {
  const frames: Uint8Array[] = [];
  const keys: string[] = [];
  for (let i = 0; i < RING; i++) {
    const { frame, key } = make(i);
    frames.push(frame);
    keys.push(key);
  }
  return { name, frames, keys, count, rate };
}

interface Row {
  scenario: string;
  round: number;
  mode: string;
  requestBytes: number;
  coloReplyBytes: number;
  echo: LatencySummary;
  colo: LatencySummary;
  coloErrors: number;
  ratios: ComparisonRow[];
  echoSendLagMaxUs?: number;
  coloSendLagMaxUs?: number;
}

async function closedEcho(url: string, bytes: number, count: number): Promise<LatencySummary> {
  const c = await EchoClient.connect(url);
  const r = await runClosedLoop({ concurrency: 1, count, warmup: WARMUP, send: () => c.roundTrip(bytes) });
  await c.close();
  return r.rtt;
}

async function openEcho(
  url: string,
  bytes: number,
  rate: number,
): Promise<{ s: LatencySummary; lag: number }> {
  const c = await EchoClient.connect(url);
  for (let i = 0; i < WARMUP; i++) await c.roundTrip(bytes);
  const r = await runOpenLoop({ ratePerSec: rate, durationMs: OPEN_MS, send: () => c.roundTrip(bytes) });
  await c.close();
  return { s: r.latency, lag: r.maxSendLagUs };
}

async function closedColo(
  c: ColoClient,
  s: Scenario,
  count: number,
): Promise<{ s: LatencySummary; errors: number }> {
  const r = await runClosedLoop({
    concurrency: 1,
    count,
    warmup: WARMUP,
    send: (_c, i) => c.roundTrip(s.frames[i % RING]!, s.keys[i % RING]!),
  });
  return { s: r.rtt, errors: r.errors };
}

async function openColo(
  c: ColoClient,
  s: Scenario,
): Promise<{ s: LatencySummary; errors: number; lag: number }> {
  for (let i = 0; i < WARMUP; i++) await c.roundTrip(s.frames[i % RING]!, s.keys[i % RING]!);
  const r = await runOpenLoop({
    ratePerSec: s.rate,
    durationMs: OPEN_MS,
    send: (i) => c.roundTrip(s.frames[i % RING]!, s.keys[i % RING]!),
  });
  return { s: r.latency, errors: r.errors, lag: r.maxSendLagUs };
}

/**
 * The work itself, in this process with nothing around it, to split Colo's figure into
 * transport floor + work + Colo's own overhead: the same headline through an inline
 * Classifier, and a 1-token LlamaCompletion on one reused sequence (Colo's engine also
 * keeps a sequence's matching prompt prefix), same model, threads 1, temperature 0.
 */
async function inProcessWork(
  clfDir: string,
  headline: string,
): Promise<{ classifier: LatencySummary; llm1tok: LatencySummary }> {
  const c = await Classifier.load(clfDir, { mode: 'inline' });
  const rc = await runClosedLoop({
    concurrency: 1,
    count: COUNT,
    warmup: WARMUP,
    send: () => c.classifyOne(headline),
  });
  await c.close();
  const llama = await getLlama({ gpu: false, maxThreads: 1, logLevel: 'error' as never });
  const model = await llama.loadModel({ modelPath: values.model! });
  const ctx = await model.createContext({ contextSize: 512, sequences: 1, threads: 1 });
  const seq = ctx.getSequence();
  // Tokens, as Colo's engine passes them (LlamaCompletion given a string trims the space prefix).
  const promptTokens = model.tokenize('Once upon a time');
  const rl = await runClosedLoop({
    concurrency: 1,
    count: LLM_COUNT,
    warmup: WARMUP,
    send: async () => {
      const completion = new LlamaCompletion({ contextSequence: seq });
      await completion.generateCompletion(promptTokens, { maxTokens: 1, temperature: 0 });
      completion.dispose();
    },
  });
  await ctx.dispose();
  await model.dispose();
  await llama.dispose();
  return { classifier: rc.rtt, llm1tok: rl.rtt };
}

/**
 * Top self-time functions of the server's main thread (uWS, router, classifier inline)
 * from its .cpuprofile (CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile, tid 0), in ms;
 * percentages are of non-idle time. Worker threads (llama) are left out.
 */
function topOfProfile(dir: string, n = 20): { fn: string; selfMs: number; pct: number }[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && f.split('.')[4] === '0');
  const self = new Map<string, number>();
  let total = 0;
  for (const f of files) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
      nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
      samples: number[];
      timeDeltas: number[];
    };
    const byId = new Map(p.nodes.map((node) => [node.id, node]));
    p.samples.forEach((id, i) => {
      const cf = byId.get(id)!.callFrame;
      const key = `${cf.functionName || '(anonymous)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`;
      const dt = (p.timeDeltas[i] ?? 0) / 1000;
      if (cf.functionName === '(idle)') return;
      total += dt;
      self.set(key, (self.get(key) ?? 0) + dt);
    });
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, ms]) => ({
      fn,
      selfMs: Math.round(ms),
      pct: Math.round((ms / Math.max(total, 1e-9)) * 1000) / 10,
    }));
}

/** The audit section for --audit, writing into a temporary directory (never the repo's data/). */
function auditConfig(mode: string): Record<string, unknown> {
  if (mode === 'off') return AUDIT.off!;
  const dir = mkdtempSync(join(tmpdir(), 'colo-bench-audit-'));
  return { audit: { ...((AUDIT[mode]!.audit as object | undefined) ?? {}), dir } };
}

const loadavgStart = loadNow();
console.log(`# colo-vs-echo (audit ${values.audit})\n${machineLine()}`);
const clf = await trainBenchClassifier();
console.log(
  `classifier trained in ${Math.round(clf.trainMs)} ms (valid accuracy ${clf.accuracy.toFixed(3)})`,
);
const profDir = values.profile ? mkdtempSync(join(tmpdir(), 'colo-prof-')) : undefined;
const colo = await startColoProcess(
  {
    // Repeated temperature-0 prompts would otherwise be answered from the response cache.
    cache: { enabled: false },
    ...auditConfig(values.audit!),
    engine: {
      models: [
        {
          name: 'stories260K',
          source: values.model,
          sequences: 1,
          threads: 1,
          contextSize: 512,
          maxQueue: 4096,
        },
      ],
    },
    classifiers: { models: [{ name: 'fin-sentiment', dir: clf.dir }] },
  },
  {},
  profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
);
const echo = await startEchoChild();
const rows: Row[] = [];
let inProcess: Awaited<ReturnType<typeof inProcessWork>> | undefined;
try {
  const client = await ColoClient.connect(colo.port);
  // 1. Answers first.
  const pong = await client.ask(encodePing(42n));
  if (pong.kind !== 'pong' || pong.nonce !== 42n)
    throw new Error(`answer check failed: ping got ${JSON.stringify(pong.kind)}`);
  for (const h of CHECK_HEADLINES) {
    const m = await client.ask(
      encodeRequest({ id: 'check', model: 'fin-sentiment', prompt: h.text, stream: false }),
    );
    if (m.kind !== 'result' || m.signals[0]?.label !== h.label)
      throw new Error(
        `answer check failed: "${h.text}" should be ${h.label}, got ${m.kind === 'result' ? m.signals[0]?.label : m.kind}`,
      );
  }
  const llm = await client.ask(
    encodeRequest({
      id: 'check',
      model: 'stories260K',
      prompt: 'Once upon a time',
      sampling: { maxTokens: 1, temperature: 0 },
      stream: false,
    }),
  );
  if (llm.kind !== 'result' || llm.result.usage.completionTokens !== 1 || llm.result.route.cached)
    throw new Error(`answer check failed: llm-1tok got ${llm.kind}`);
  console.log(
    `answers ok: pong nonce, ${CHECK_HEADLINES.length} headlines labelled as expected, 1 LLM token ("${llm.result.text}")`,
  );

  const headline = CHECK_HEADLINES[0]!.text;
  inProcess = await inProcessWork(clf.dir, headline);
  console.log(`in-process work, closed c=1: classifyOne ${formatSummary(inProcess.classifier)}`);
  console.log(`in-process work, closed c=1: llm 1 token ${formatSummary(inProcess.llm1tok)}`);
  const scenarios = [
    scenario('ping', COUNT, RATE, (i) => ({ frame: encodePing(BigInt(i)), key: `p${i}` })),
    scenario('classifier', COUNT, RATE, (i) => ({
      frame: encodeRequest({ id: `c${i}`, model: 'fin-sentiment', prompt: headline, stream: false }),
      key: `c${i}`,
    })),
    scenario('llm-1tok', LLM_COUNT, LLM_RATE, (i) => ({
      frame: encodeRequest({
        id: `l${i}`,
        model: 'stories260K',
        prompt: 'Once upon a time',
        sampling: { maxTokens: 1, temperature: 0 },
        stream: false,
      }),
      key: `l${i}`,
    })),
  ];
  const only = new Set(values.only!.split(','));
  for (const s of scenarios.filter((x) => only.has(x.name))) {
    const bytes = s.frames[0]!.byteLength;
    for (let round = 0; round < ROUNDS; round++) {
      // 2. Closed loop, 1 client, then 3. open loop at a fixed rate; echo and Colo
      // alternate which goes first per round, so a burst of neighbours' load is not
      // always charged to the same side.
      const echoFirst = round % 2 === 0;
      let e: LatencySummary;
      let c: Awaited<ReturnType<typeof closedColo>>;
      if (echoFirst) {
        e = await closedEcho(echo.url, bytes, s.count);
        c = await closedColo(client, s, s.count);
      } else {
        c = await closedColo(client, s, s.count);
        e = await closedEcho(echo.url, bytes, s.count);
      }
      rows.push({
        scenario: s.name,
        round,
        mode: 'closed c=1',
        requestBytes: bytes,
        coloReplyBytes: client.replyBytes,
        echo: e,
        colo: c.s,
        coloErrors: c.errors,
        ratios: compareLatency(e, c.s),
      });
      let eo: Awaited<ReturnType<typeof openEcho>>;
      let co: Awaited<ReturnType<typeof openColo>>;
      if (echoFirst) {
        eo = await openEcho(echo.url, bytes, s.rate);
        co = await openColo(client, s);
      } else {
        co = await openColo(client, s);
        eo = await openEcho(echo.url, bytes, s.rate);
      }
      rows.push({
        scenario: s.name,
        round,
        mode: `open ${s.rate}/s`,
        requestBytes: bytes,
        coloReplyBytes: client.replyBytes,
        echo: eo.s,
        colo: co.s,
        coloErrors: co.errors,
        ratios: compareLatency(eo.s, co.s),
        echoSendLagMaxUs: eo.lag,
        coloSendLagMaxUs: co.lag,
      });
      for (const r of rows.slice(-2)) {
        const ratio = (m: string) => r.ratios.find((x) => x.metric === m)?.ratio.toFixed(2) ?? 'n/a';
        console.log(
          `${r.scenario} (${r.requestBytes} B → ${r.coloReplyBytes} B) ${r.mode}, round ${round + 1}${r.coloErrors ? ` errors ${r.coloErrors}` : ''}`,
        );
        console.log(`  echo ${formatSummary(r.echo)}`);
        console.log(`  colo ${formatSummary(r.colo)}`);
        console.log(
          `  colo/echo p50 ${ratio('p50')}x  p99 ${ratio('p99')}x  p99.9 ${ratio('p999')}x  max ${ratio('max')}x`,
        );
      }
    }
  }
  await client.close();
} finally {
  echo.close();
  await colo.stop();
}
const profile = profDir ? topOfProfile(profDir) : undefined;
if (profile) {
  console.log(`colo server cpu profile (self time, all scenarios, ${profDir}):`);
  for (const p of profile) console.log(`  ${String(p.pct).padStart(5)}%  ${p.selfMs} ms  ${p.fn}`);
}
// Colo's own overhead at p50 (closed loop): Colo minus the echo floor minus the work in-process.
const work: Record<string, number> = {
  ping: 0,
  classifier: inProcess?.classifier.p50 ?? 0,
  'llm-1tok': inProcess?.llm1tok.p50 ?? 0,
};
const overheadP50Us = rows
  .filter((r) => r.mode === 'closed c=1')
  .map((r) => ({
    scenario: r.scenario,
    round: r.round,
    coloP50: r.colo.p50,
    echoP50: r.echo.p50,
    workP50: work[r.scenario] ?? 0,
    overheadUs: Math.round((r.colo.p50 - r.echo.p50 - (work[r.scenario] ?? 0)) * 10) / 10,
  }));
for (const o of overheadP50Us)
  console.log(
    `p50 closed ${o.scenario} round ${o.round + 1}: colo ${o.coloP50} = echo ${o.echoP50} + work ${o.workP50} + colo overhead ${o.overheadUs} µs`,
  );
const results = {
  audit: values.audit,
  loadavgStart,
  loadavgEnd: loadNow(),
  echoServer: echo.label,
  classifierAccuracy: clf.accuracy,
  inProcess,
  overheadP50Us,
  rows,
  profile,
};
const path = writeResult(
  values.audit === 'shipped' ? 'colo-vs-echo' : `colo-vs-echo-audit-${values.audit}`,
  'e2e',
  results,
);
console.log(JSON.stringify(results));
if (path) console.log(`wrote ${path}`);
