/**
 * What metrics and tracing cost a request, on vs off, in one run.
 *
 *   node bench/lib/run.mjs bench/micro/observability.bench.ts
 *
 * The router ends every request with `publish()`: nothing but a `hasSubscribers` read
 * when nobody listens; else it builds the colo:request:done event and publishes it.
 * Metrics and tracing only queue the event there and do their work in a setImmediate,
 * after the final frame is written. Three figures per mode, for a 128-token stream
 * (127 inter-token gaps) and a classifier answer (no gaps):
 *   - request path: the synchronous publish (what delays the final frame);
 *   - recorded: publish plus the deferred work (histograms, HDR, window, spans);
 *   - CPU per request over 20,000 requests, tracing's OTLP export included (the
 *     collector is a child process that drains what it gets), modes interleaved.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Metrics, startTracing, type Tracing } from '../../src/metrics';
import { requestDone, type RequestDoneEvent } from '../../src/metrics/events';
import { runMicro, writeResult } from '../lib';

const BATCH = 100;

function event(gaps: number, provider = 'local'): RequestDoneEvent {
  return {
    api: 'ws',
    model: 'stories260K',
    route: 'local',
    provider,
    id: 'r1',
    receivedAt: performance.now(),
    maxTokens: 128,
    temperature: 0,
    queueUs: 40,
    ttftUs: 1500,
    totalUs: 1500 + gaps * 420,
    gapsUs: Array.from({ length: gaps }, (_, i) => 380 + ((i * 37) % 90)),
    result: {
      id: 'r1',
      text: '',
      finishReason: 'length',
      usage: { promptTokens: 5, completionTokens: gaps + 1 },
      route: { kind: 'local', provider, model: 'stories260K', cached: false },
      timings: { queueUs: 40, ttftUs: 1500, totalUs: 1500 + gaps * 420 },
    },
  };
}
const STREAM = event(127);
const CLASSIFY = event(0, 'onnx');

/** The router's publish(), as written there: the event is built only when someone listens. */
function publish(e: RequestDoneEvent): void {
  if (!requestDone.hasSubscribers) return;
  requestDone.publish({ ...e, receivedAt: performance.now() - e.totalUs / 1000 });
}

// An OTLP/HTTP collector in a child process: reads each export and answers 200.
const sink = spawn(
  process.execPath,
  [
    '-e',
    `require('http').createServer((q,s)=>{q.resume();q.on('end',()=>s.end('{}'))}).listen(0,'127.0.0.1',function(){console.log(this.address().port)})`,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const [portLine] = (await once(sink.stdout!, 'data')) as [Buffer];
const endpoint = `http://127.0.0.1:${Number(portLine.toString())}/v1/traces`;
const tracingCfg = {
  enabled: true,
  endpoint,
  headers: {},
  serviceName: 'bench',
  sampleRatio: 1,
  maxQueue: 1_000_000,
};

const metrics = new Metrics({ runtime: false });
metrics.labels.allowModels(['stories260K']);
let tracing: Tracing | undefined;
const metricsOn = () => void metrics.subscribe();
const allOff = async () => {
  metrics.close();
  await tracing?.close();
  tracing = undefined;
};
const tracingOn = async () => {
  metrics.subscribe();
  tracing = await startTracing(tracingCfg);
};
const turn = () => new Promise((r) => setImmediate(r));
/** Publishes a batch, then drops what the subscribers queued unrecorded: the request path alone. */
const pathOnly = (e: RequestDoneEvent) => () => {
  for (let i = 0; i < BATCH; i++) publish(e);
  (metrics as unknown as { pending: unknown[] }).pending.length = 0;
};
const recorded = (e: RequestDoneEvent) => async () => {
  for (let i = 0; i < BATCH; i++) publish(e);
  await turn();
};

const tasks = [];
for (const [kind, e] of [
  ['stream', STREAM],
  ['classify', CLASSIFY],
] as const) {
  tasks.push(
    { name: `${kind}: off`, batch: BATCH, fn: pathOnly(e) },
    {
      name: `${kind}: metrics, request path`,
      batch: BATCH,
      fn: pathOnly(e),
      beforeAll: metricsOn,
      afterAll: allOff,
    },
    {
      name: `${kind}: metrics, recorded`,
      batch: BATCH,
      fn: recorded(e),
      beforeAll: metricsOn,
      afterAll: allOff,
    },
    {
      name: `${kind}: metrics + tracing, recorded + spans built`,
      batch: BATCH,
      fn: recorded(e),
      beforeAll: tracingOn,
      afterAll: allOff,
    },
  );
}

await runMicro('observability', tasks, {
  check: async () => {
    await tracingOn();
    for (let i = 0; i < 10; i++) publish(STREAM);
    await turn();
    const spans = tracing!.spans;
    const text = metrics.render();
    await allOff();
    if (spans !== 40) throw new Error(`expected 40 spans (root, queue, prefill, decode × 10), got ${spans}`);
    if (!text.includes('colo_inter_token_seconds_count{model="stories260K",route="local"} 1270'))
      throw new Error('metrics did not record the 10 streams');
  },
  meta: { batch: BATCH, streamGaps: 127 },
});

/** CPU per request over many requests, export included; modes interleaved over rounds. */
const N = process.env.BENCH_QUICK === '1' ? 2000 : 20_000;
const modes: Record<string, { on: () => void | Promise<void>; us: number[] }> = {
  off: { on: () => undefined, us: [] },
  metrics: { on: metricsOn, us: [] },
  'metrics + tracing': { on: tracingOn, us: [] },
};
for (let round = 0; round < 3; round++) {
  for (const [name, mode] of Object.entries(modes)) {
    await mode.on();
    const t0 = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      publish(STREAM);
      if (i % BATCH === BATCH - 1) await turn();
    }
    await turn();
    metrics.flush();
    await allOff(); // tracing: builds what is left and exports everything
    const d = process.cpuUsage(t0);
    mode.us.push((d.user + d.system) / N);
    console.log(`round ${round} ${name}: ${((d.user + d.system) / N).toFixed(2)} µs CPU per request`);
  }
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const cpu = Object.fromEntries(
  Object.entries(modes).map(([k, v]) => [k, { medianUs: median(v.us), roundsUs: v.us }]),
);
console.log(JSON.stringify(cpu));
writeResult('observability-cpu', 'micro', { requests: N, streamGaps: 127, cpuPerRequest: cpu });
sink.kill();
