/**
 * The gateway path (issue 16): what Colo adds to a remote call, with its **default
 * configuration** (durable audit on, `audit.fsync: "background"`; cache, redaction and
 * metrics at their defaults), against calling the upstream directly, in one run.
 * Every party is its own process on loopback, as a user runs them:
 *   - the client: `openloop-http` (bench/e2e/openloop-http.c, built here with `cc`), an
 *     open-loop HTTP/1.1 load generator (constant arrival rate, latency from each
 *     request's scheduled send time: coordinated-omission free) that sleeps on a timerfd
 *     instead of spinning, so it leaves the box's second core to the servers;
 *   - the mock OpenAI upstream (test/mocks/upstream), its own process;
 *   - direct: client → mock;
 *   - colo: client → Colo (`dist/cli.js serve`, `POST /v1/chat/completions`, the model a
 *     gateway target) → mock;
 *   - colo-before (with `--before DIR`): the same with a saved build (`DIR/cli.js`), so a
 *     change is measured against the old code in the same run;
 *   - proxy-floor (in --paths): client → a bare uWS + undici forwarder
 *     (proxy-floor-server.ts) → mock: the least a Node gateway on Colo's stack adds;
 *   - proxy-floor-raw (in --paths): the same forwarder with a minimal raw-socket HTTP/1.1
 *     client (raw-http-pool.ts) in place of undici: what the upstream client costs;
 *   - proxy-floor-poll (in --paths): the same forwarder busy polling for 50 ms after each
 *     request, as Colo's network thread does by default;
 *   - colo-fsync-never (in --paths): Colo with `audit.fsync: "never"`, to read what the
 *     default's background fdatasync costs (not a configuration we recommend);
 *   - `--config JSON` is merged into every Colo path's configuration (before colo-alt's);
 *   - colo-alt (in --paths): this build with `--alt-config JSON` merged into its config
 *     and `--alt-node-args` ('a,b') given to node: a setting or a V8 flag read against the
 *     default in the same run.
 * Variants: `json` (stream: false end to end; Colo's target has `stream: false`, so the
 * upstream exchange is the one direct makes) and `sse` (stream: true end to end).
 *
 * Parts, in order (each optional):
 *   1. compare: every path at --rate (default 1,000/s) for --duration, --rounds rounds,
 *      order rotated per round; + = path minus direct in the same round, median of rounds.
 *      Colo's GC pauses and worst event-loop delay in the run come from its /metrics.
 *   2. sweep: rates ascending (--sweep), each path until the median p99 of its
 *      --sweep-rounds runs at a rate reaches --p99-limit-ms (default 10) or a run saturates;
 *      reports the highest rate each path sustains with p99 under the limit.
 *   3. --stages: a Colo with gateway-path-probe.mjs preloaded; per-stage times of each
 *      request (receipt → upstream request created → sent → upstream headers → upstream
 *      body complete → result → audit write), from requests that ran alone (--stage-rate,
 *      default 200/s), and each stage's own distribution at --rate.
 *   4. --profile: Colo under `node --cpu-prof` at --rate; top self-time functions.
 *
 *   npm run build && node bench/lib/run.mjs bench/e2e/gateway-path.ts [--before tmp/dist-before]
 *     [--rate 1000] [--duration 10000] [--rounds 2] [--variants json,sse] [--paths direct,colo]
 *     [--sweep 1000,2000,3000,4000,5000,6000,8000] [--no-sweep] [--no-compare] [--stages] [--profile]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { SseParser } from '../../src/gateway/providers/sse';
import { FIXTURE_TEXT } from '../../test/mocks/upstream/fixtures';
import { serveMockUpstreamChild, spawnMockUpstream } from '../lib/upstream-child';
import { machineInfo, machineLine, summarizeValues, writeResult, type LatencySummary } from '../lib';
import { processCpuUs, summarizeCpuProfile, type ProfileSummary } from '../lib/profile';
import { ROOT, startColoProcess } from './colo-process';
import { startProxyFloor } from './proxy-floor-server';

const QUICK = process.env.BENCH_QUICK === '1';
const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    duration: { type: 'string', default: QUICK ? '2000' : '10000' },
    warmup: { type: 'string', default: QUICK ? '500' : '1500' },
    rounds: { type: 'string', default: QUICK ? '1' : '2' },
    variants: { type: 'string', default: 'json,sse' },
    paths: { type: 'string', default: 'direct,colo' },
    before: { type: 'string', default: '' },
    sweep: { type: 'string', default: QUICK ? '1000,4000' : '1000,2000,3000,4000,5000,6000,8000' },
    'sweep-duration': { type: 'string', default: QUICK ? '2000' : '5000' },
    'sweep-rounds': { type: 'string', default: QUICK ? '1' : '3' },
    prewarm: { type: 'string', default: QUICK ? '500' : '3000' },
    'no-sweep': { type: 'boolean', default: false },
    'no-compare': { type: 'boolean', default: false },
    'p99-limit-ms': { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    stages: { type: 'boolean', default: false },
    'stage-rate': { type: 'string', default: '200' },
    profile: { type: 'boolean', default: false },
    'serve-upstream': { type: 'boolean', default: false },
    'serve-proxy-floor': { type: 'string', default: '' },
    /** Child mode: the forwarder's busy-poll window (proxy-floor-poll: 50). */
    'floor-busy-poll-ms': { type: 'string', default: '0' },
    /** Child mode: forward with the bench's raw HTTP client instead of undici (proxy-floor-raw). */
    'floor-raw': { type: 'boolean', default: false },
    /** Config merged into every Colo path's (JSON), e.g. '{"server":{"busyPollMs":0}}' to read CPU per request without the spin. */
    config: { type: 'string', default: '{}' },
    /** colo-alt: config merged into the default's (JSON), and node flags (comma-separated). */
    'alt-config': { type: 'string', default: '{}' },
    'alt-node-args': { type: 'string', default: '' },
  },
});

/** --config and --alt-config, parsed once (a typo fails here, before anything starts). */
const COLO_CONFIG = JSON.parse(values.config!) as Record<string, unknown>;
const ALT_CONFIG = JSON.parse(values['alt-config']!) as Record<string, unknown>;

type Variant = 'json' | 'sse';
type Path =
  | 'direct'
  | 'colo'
  | 'colo-before'
  | 'proxy-floor'
  | 'proxy-floor-poll'
  | 'proxy-floor-raw'
  | 'colo-fsync-never'
  | 'colo-alt';
const isColo = (p: Path): boolean =>
  p === 'colo' || p === 'colo-before' || p === 'colo-fsync-never' || p === 'colo-alt';

interface Server {
  name: string;
  pid: number;
  port: number;
  stop: () => Promise<void>;
}

/** What openloop-http prints. */
interface ClientRun {
  rate: number;
  sent: number;
  completed: number;
  errors: number;
  badStatus: number;
  badBody: number;
  shed: number;
  unfinished: number;
  reconnects: number;
  achievedRatePerSec: number;
  maxSendLagUs: number;
  clientCpuUsPerReq: number;
  latency: LatencySummary & { p9999: number };
  serviceTime: LatencySummary & { p9999: number };
}

interface Run extends ClientRun {
  path: Path;
  variant: Variant;
  round: number;
  saturated: boolean;
  loadavg1: number;
  /** CPU µs per completed request: the gateway (none for direct) and the mock. */
  cpuUsPerReq: { gateway: number | null; upstream: number };
  /** From Colo's /metrics over the run: GC pauses and the worst per-second event-loop delay. */
  colo?: RuntimeDelta | undefined;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

/** Builds the C client into the bench cache when the source is newer. */
function buildClient(): string {
  const src = join(ROOT, 'bench/e2e/openloop-http.c');
  const bin = join(ROOT, 'node_modules/.cache/colo-bench/openloop-http');
  if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(src).mtimeMs) {
    const r = spawnSync('cc', ['-O2', '-Wall', '-o', bin, src], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('could not build openloop-http (needs cc: apt-get install gcc)');
  }
  return bin;
}

async function startUpstream(): Promise<Server> {
  const m = await spawnMockUpstream(children);
  return { name: 'mock', pid: m.pid, port: m.port, stop: m.stop };
}

/** The bare forwarder (proxy-floor-server.ts) in its own process, in front of the mock. */
async function startFloor(upstreamPort: number, busyPollMs = 0, raw = false): Promise<Server> {
  const child = spawn(
    process.execPath,
    [
      process.argv[1]!,
      '--serve-proxy-floor',
      `http://127.0.0.1:${upstreamPort}`,
      '--floor-busy-poll-ms',
      String(busyPollMs),
      ...(raw ? ['--floor-raw'] : []),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  children.add(child);
  const line = await new Promise<string>((res, rej) => {
    createInterface({ input: child.stdout! }).once('line', res);
    child.once('exit', (c) => rej(new Error(`proxy floor exited with ${c}`)));
  });
  return {
    name: raw ? 'proxy-floor-raw' : busyPollMs > 0 ? 'proxy-floor-poll' : 'proxy-floor',
    pid: child.pid!,
    port: Number(line.split(' ')[1]),
    stop: () =>
      new Promise((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.stdin!.end();
      }),
  };
}

/** Colo with its default configuration plus two gateway targets on the mock. */
async function startColo(
  name: string,
  upstreamPort: number,
  cli: string,
  nodeArgs: string[] = [],
  env: Record<string, string> = {},
  extra: Record<string, unknown> = {},
): Promise<Server> {
  const target = { provider: 'openai', baseUrl: `http://127.0.0.1:${upstreamPort}/v1`, model: 'gpt-mock' };
  const p = await startColoProcess(
    {
      ...COLO_CONFIG,
      gateway: {
        targets: [
          { name: 'remote-sse', ...target },
          // Non-streaming upstream call, so json has the same upstream exchange as direct.
          { name: 'remote-json', ...target, stream: false },
        ],
      },
      ...extra,
    },
    env,
    nodeArgs,
    cli,
  );
  children.add(p.child);
  return { name, pid: p.child.pid!, port: p.port, stop: () => p.stop() };
}

const MESSAGES = [{ role: 'user', content: 'Is the market up?' }];
function bodyFor(model: string, variant: Variant): string {
  return JSON.stringify({
    model,
    messages: MESSAGES,
    max_tokens: 64,
    ...(variant === 'sse' ? { stream: true } : { stream: false }),
  });
}

/** The answer first: a path that does not return the fixture's text is not timed. */
async function checkAnswer(port: number, body: string, variant: Variant, viaColo: boolean): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const raw = await res.text();
  if (res.status !== 200) throw new Error(`status ${res.status}: ${raw.slice(0, 300)}`);
  let text = '';
  if (variant === 'json') {
    const j = JSON.parse(raw) as {
      choices: { message: { content: string } }[];
      colo?: { route: { kind: string } };
    };
    if (viaColo && j.colo?.route.kind !== 'remote')
      throw new Error(`colo answered from ${JSON.stringify(j.colo)}`);
    text = j.choices[0]!.message.content;
  } else {
    for (const ev of new SseParser().push(Buffer.from(raw))) {
      if (ev.data === '[DONE]') continue;
      const j = JSON.parse(ev.data) as { choices: { delta?: { content?: string } }[] };
      text += j.choices[0]?.delta?.content ?? '';
    }
  }
  if (text !== FIXTURE_TEXT)
    throw new Error(`answered ${JSON.stringify(text)}, expected ${JSON.stringify(FIXTURE_TEXT)}`);
}

/** Colo's runtime figures over a run, from two /metrics scrapes. */
interface RuntimeDelta {
  gcPauses: number;
  gcPauseMs: number;
  /** GC pauses over 1 ms. */
  gcPausesOver1ms: number;
  /** Seconds of the run whose worst event-loop delay was over 1 / 5 ms. */
  loopSecondsOver1ms: number;
  loopSecondsOver5ms: number;
  /** Warming passes run (server.warmPath). */
  warmPasses: number;
}

type Scrape = Map<string, number>;
async function scrape(port: number): Promise<Scrape> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m: Scrape = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}
function sumWhere(s: Scrape, pred: (k: string) => boolean): number {
  let t = 0;
  for (const [k, v] of s) if (pred(k)) t += v;
  return t;
}
function runtimeDelta(a: Scrape, b: Scrape): RuntimeDelta {
  const d = (pred: (k: string) => boolean) => sumWhere(b, pred) - sumWhere(a, pred);
  const gcCount = d((k) => k.startsWith('colo_gc_pause_seconds_count'));
  const gcUnder1 = d((k) => k.startsWith('colo_gc_pause_seconds_bucket') && k.includes('le="0.001"'));
  const loopCount = d((k) => k.startsWith('colo_eventloop_lag_max_seconds_count'));
  const loopUnder = (le: string) =>
    d((k) => k.startsWith('colo_eventloop_lag_max_seconds_bucket') && k.includes(`le="${le}"`));
  return {
    gcPauses: gcCount,
    gcPauseMs: Math.round(d((k) => k.startsWith('colo_gc_pause_seconds_sum')) * 1e4) / 10,
    gcPausesOver1ms: gcCount - gcUnder1,
    loopSecondsOver1ms: loopCount - loopUnder('0.001'),
    loopSecondsOver5ms: loopCount - loopUnder('0.005'),
    warmPasses: d((k) => k.startsWith('colo_warm_passes')),
  };
}

const tmp = mkdtempSync(join(os.tmpdir(), 'colo-gwpath-'));
let clientBin = '';

function runClient(
  port: number,
  bodyFile: string,
  variant: Variant,
  rate: number,
  durationMs: number,
): Promise<ClientRun> {
  const args = [
    '--port',
    String(port),
    '--path',
    '/v1/chat/completions',
    '--body',
    bodyFile,
    '--rate',
    String(rate),
    '--duration-ms',
    String(durationMs),
    '--warmup-ms',
    values.warmup!,
    '--connections',
    values.connections!,
    // json: the text is in the body; sse: the text is split over events, [DONE] ends a clean stream.
    '--expect',
    variant === 'json' ? FIXTURE_TEXT : '[DONE]',
  ];
  return new Promise((res, rej) => {
    const child = spawn(clientBin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      children.delete(child);
      if (code !== 0) return rej(new Error(`openloop-http exited with ${code}`));
      res(JSON.parse(out) as ClientRun);
    });
  });
}

async function timedRun(
  path: Path,
  variant: Variant,
  round: number,
  rate: number,
  durationMs: number,
  target: Server,
  upstream: Server,
  coloPort: number | undefined,
): Promise<Run> {
  const bodyFile = join(tmp, `${isColo(path) ? 'colo' : 'direct'}-${variant}.json`);
  const g0 = path === 'direct' ? 0 : processCpuUs(target.pid);
  const u0 = processCpuUs(upstream.pid);
  const m0 = coloPort ? await scrape(coloPort) : undefined;
  const r = await runClient(target.port, bodyFile, variant, rate, durationMs);
  const load = os.loadavg()[0]!;
  const m1 = coloPort ? await scrape(coloPort) : undefined;
  // CPU over warm-up and timed parts alike, per request sent in both.
  const n = Math.max(1, Math.round((rate * (durationMs + Number(values.warmup))) / 1000));
  const per = (us: number) => Math.round((us / n) * 10) / 10;
  return {
    ...r,
    path,
    variant,
    round,
    loadavg1: Math.round(load * 100) / 100,
    saturated:
      r.shed > 0 || r.unfinished > 0 || r.achievedRatePerSec < 0.95 * rate || r.latency.p50 > 100_000,
    cpuUsPerReq: {
      gateway: path === 'direct' ? null : per(processCpuUs(target.pid) - g0),
      upstream: per(processCpuUs(upstream.pid) - u0),
    },
    colo: m0 && m1 ? runtimeDelta(m0, m1) : undefined,
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return Math.round(m * 10) / 10;
};

function line(r: Run): string {
  const l = r.latency;
  const c = r.colo
    ? ` | gc ${r.colo.gcPauses} (${r.colo.gcPauseMs} ms, ${r.colo.gcPausesOver1ms} >1ms) loop>5ms ${r.colo.loopSecondsOver5ms}s warm ${r.colo.warmPasses}`
    : '';
  return (
    `${r.variant} ${r.rate}/s r${r.round} ${r.path.padEnd(11)} p50 ${l.p50} p99 ${l.p99} p99.9 ${l.p999} max ${l.max} µs` +
    ` | svc p50 ${r.serviceTime.p50} | ${Math.round(r.achievedRatePerSec)}/s err ${r.errors} shed ${r.shed}` +
    ` | cpu/req gw ${r.cpuUsPerReq.gateway ?? '-'} up ${r.cpuUsPerReq.upstream} cl ${r.clientCpuUsPerReq}${c}` +
    `${r.saturated ? ' SATURATED' : ''} (load ${r.loadavg1})`
  );
}

/** Per-stage breakdown from the probe's log (see gateway-path-probe.mjs). */
interface StageLog {
  log: number[];
  gc: number[];
  upstream: number[];
}
const STAGES = [
  'receipt → upstream request created (parse, validate, pipeline, router, gateway)',
  'created → sent (undici pool, socket write)',
  'sent → upstream headers (upstream, two loopback hops)',
  'headers → upstream body complete',
  'body complete → result (body parse, result, router publish)',
  'result → audit write starts (settle, audit record, hash)',
  'audit write(2)',
] as const;

function stagesOf(s: StageLog) {
  // Requests that ran alone: the events of one request in order, nothing interleaved.
  const alone: number[][] = STAGES.map(() => []);
  const seq: { k: number; t: number }[] = [];
  for (let i = 0; i < s.log.length; i += 2) seq.push({ k: s.log[i]!, t: s.log[i + 1]! });
  const order = [1, 2, 3, 4, 0, 5, 6, 7];
  let lastEnd = -Infinity;
  for (let i = 0; i + order.length <= seq.length;) {
    const win = seq.slice(i, i + order.length);
    if (!win.every((e, j) => e.k === order[j])) {
      i++;
      continue;
    }
    const t = Object.fromEntries(win.map((e) => [e.k, e.t])) as Record<number, number>;
    // Received after the previous request's audit write: nothing else was in flight.
    if (t[0]! > lastEnd && t[0]! < t[1]!) {
      const pts = [t[0]!, t[1]!, t[2]!, t[3]!, t[4]!, t[5]!, t[6]!, t[7]!];
      for (let j = 0; j < STAGES.length; j++) alone[j]!.push((pts[j + 1]! - pts[j]!) * 1e6);
    }
    lastEnd = t[7]!;
    i += order.length;
  }
  // Each stage's own distribution at load, from consecutive events of one kind pair
  // (undici's stages pair by order on one connection only, so only the receipt → result
  // span and the audit write are taken here, from the events that carry both ends).
  const total: number[] = [];
  const audit: number[] = [];
  for (let i = 0; i + 1 < seq.length; i++) {
    if (seq[i]!.k === 0 && seq[i + 1]!.k === 5) total.push((seq[i + 1]!.t - seq[i]!.t) * 1e6);
    if (seq[i]!.k === 6 && seq[i + 1]!.k === 7) audit.push((seq[i + 1]!.t - seq[i]!.t) * 1e6);
  }
  const gcMs: number[] = [];
  for (let i = 1; i < s.gc.length; i += 2) gcMs.push(s.gc[i]! * 1e6);
  // Each upstream request's own stages, at any concurrency.
  const up: number[][] = [[], [], []];
  for (let i = 0; i + 3 < s.upstream.length; i += 4)
    for (let j = 0; j < 3; j++) up[j]!.push((s.upstream[i + j + 1]! - s.upstream[i + j]!) * 1e6);
  return {
    aloneRequests: alone[0]!.length,
    alone: STAGES.map((name, j) => ({ stage: name, ...pick(summarizeValues(alone[j]!)) })),
    receiptToResult: pick(summarizeValues(total)),
    auditWrite: pick(summarizeValues(audit)),
    upstreamAtLoad: {
      createdToSent: pick(summarizeValues(up[0]!)),
      sentToHeaders: pick(summarizeValues(up[1]!)),
      headersToDone: pick(summarizeValues(up[2]!)),
    },
    gcPauses: pick(summarizeValues(gcMs)),
  };
}
const pick = (l: LatencySummary) => ({
  n: l.count,
  p50: l.p50,
  p90: l.p90,
  p99: l.p99,
  p999: l.p999,
  max: l.max,
});

async function main(): Promise<void> {
  clientBin = buildClient();
  const variants = values.variants!.split(',') as Variant[];
  const rate = Number(values.rate);
  const rounds = Number(values.rounds);
  const limitUs = Number(values['p99-limit-ms']) * 1000;
  const paths = values.paths!.split(',') as Path[];
  const before = values.before ? resolve(values.before) : '';
  if (before) {
    if (!existsSync(join(before, 'cli.js'))) throw new Error(`--before ${before}: no cli.js there`);
    if (!paths.includes('colo-before')) paths.push('colo-before');
  }
  for (const v of variants) {
    writeFileSync(join(tmp, `direct-${v}.json`), bodyFor('gpt-mock', v));
    writeFileSync(join(tmp, `colo-${v}.json`), bodyFor(v === 'json' ? 'remote-json' : 'remote-sse', v));
  }

  const upstream = await startUpstream();
  const servers = new Map<Path, Server>();
  const out: Record<string, unknown> = {
    bench: 'gateway-path',
    unit: 'us',
    loadavgAtStart: machineInfo().loadavg1,
    before: before ? { dir: before, commit: readFileSync(join(before, 'COMMIT'), 'utf8').trim() } : undefined,
    config: COLO_CONFIG,
    alt: paths.includes('colo-alt') ? { config: ALT_CONFIG, nodeArgs: values['alt-node-args'] } : undefined,
    client: 'openloop-http (bench/e2e/openloop-http.c)',
  };
  try {
    if (paths.includes('colo'))
      servers.set('colo', await startColo('colo', upstream.port, join(ROOT, 'dist/cli.js')));
    if (before)
      servers.set('colo-before', await startColo('colo-before', upstream.port, join(before, 'cli.js')));
    if (paths.includes('proxy-floor')) servers.set('proxy-floor', await startFloor(upstream.port));
    if (paths.includes('proxy-floor-poll'))
      servers.set('proxy-floor-poll', await startFloor(upstream.port, 50));
    if (paths.includes('proxy-floor-raw'))
      servers.set('proxy-floor-raw', await startFloor(upstream.port, 0, true));
    if (paths.includes('colo-fsync-never'))
      servers.set(
        'colo-fsync-never',
        await startColo(
          'colo-fsync-never',
          upstream.port,
          join(ROOT, 'dist/cli.js'),
          [],
          {},
          { audit: { fsync: 'never' } },
        ),
      );
    if (paths.includes('colo-alt'))
      servers.set(
        'colo-alt',
        await startColo(
          'colo-alt',
          upstream.port,
          join(ROOT, 'dist/cli.js'),
          values['alt-node-args'] ? values['alt-node-args'].split(',') : [],
          {},
          ALT_CONFIG,
        ),
      );
    const targetOf = (p: Path): Server => (p === 'direct' ? upstream : servers.get(p)!);
    for (const v of variants)
      for (const p of paths)
        await checkAnswer(
          targetOf(p).port,
          readFileSync(join(tmp, `${isColo(p) ? 'colo' : 'direct'}-${v}.json`), 'utf8'),
          v,
          isColo(p),
        );
    console.error(machineLine());
    // Idle CPU of each server, so CPU per request can be read net of timers.
    const idle0 = new Map([...servers].map(([p, s]) => [p, processCpuUs(s.pid)]));
    await sleep(2000);
    out.idleCpuMsPerSec = Object.fromEntries(
      [...servers].map(([p, s]) => [p, Math.round((processCpuUs(s.pid) - idle0.get(p)!) / 2000)]),
    );

    // JIT, lazy compilation and V8's young-generation sizing settle in the first seconds of
    // load: every server gets --prewarm ms of every variant at 1,000/s before anything is timed.
    for (const v of variants)
      for (const p of paths)
        await runClient(
          targetOf(p).port,
          join(tmp, `${isColo(p) ? 'colo' : 'direct'}-${v}.json`),
          v,
          1000,
          Number(values.prewarm),
        );

    const run = (p: Path, v: Variant, round: number, r: number, ms: number) =>
      timedRun(p, v, round, r, ms, targetOf(p), upstream, isColo(p) ? targetOf(p).port : undefined);

    if (!values['no-compare']) {
      const compare: Record<string, unknown>[] = [];
      for (const v of variants) {
        const runs: Run[] = [];
        for (let round = 0; round < rounds; round++) {
          const rot = [...paths.slice(round % paths.length), ...paths.slice(0, round % paths.length)];
          for (const p of round % 2 ? rot.reverse() : rot) {
            await sleep(300);
            const r = await run(p, v, round, rate, Number(values.duration));
            runs.push(r);
            console.error(line(r));
          }
        }
        const summary: Record<string, unknown> = {};
        for (const p of paths) {
          const mine = runs.filter((r) => r.path === p);
          const at = (r: Run, k: 'p50' | 'p99' | 'p999' | 'max') => r.latency[k];
          const direct = (r: Run) => runs.find((d) => d.path === 'direct' && d.round === r.round);
          const added = (k: 'p50' | 'p99' | 'p999') =>
            p === 'direct' || !paths.includes('direct')
              ? null
              : median(mine.map((r) => at(r, k) - at(direct(r)!, k)));
          const ratio =
            p === 'direct' || !paths.includes('direct')
              ? null
              : median(mine.map((r) => at(r, 'p99') / at(direct(r)!, 'p99')));
          summary[p] = {
            p50: median(mine.map((r) => at(r, 'p50'))),
            p99: median(mine.map((r) => at(r, 'p99'))),
            p999: median(mine.map((r) => at(r, 'p999'))),
            max: median(mine.map((r) => at(r, 'max'))),
            serviceP50: median(mine.map((r) => r.serviceTime.p50)),
            addedUs: { p50: added('p50'), p99: added('p99'), p999: added('p999') },
            p99VsDirect: ratio === null ? null : Math.round(ratio * 100) / 100,
            cpuUsPerReq: p === 'direct' ? null : median(mine.map((r) => r.cpuUsPerReq.gateway!)),
            errors: mine.reduce((a, r) => a + r.errors, 0),
            saturated: mine.some((r) => r.saturated),
          };
        }
        compare.push({ variant: v, ratePerSec: rate, durationMs: Number(values.duration), summary, runs });
        printCompare(v, rate, summary);
      }
      out.compare = compare;
    }

    if (!values['no-sweep']) {
      const sweepRates = values.sweep!.split(',').map(Number);
      const sweep: Record<string, unknown>[] = [];
      for (const v of variants) {
        const runs: Run[] = [];
        const best: Record<string, number> = {};
        const live = new Set(paths);
        // Each rate is run --sweep-rounds times per path (paths interleaved); a path passes
        // a rate when the median of its p99s is under the limit and no run saturated.
        const sweepRounds = Number(values['sweep-rounds']);
        for (const r of sweepRates) {
          const atRate: Run[] = [];
          for (let round = 0; round < sweepRounds; round++) {
            for (const p of round % 2 ? [...paths].reverse() : paths) {
              if (!live.has(p)) continue;
              await sleep(300);
              const x = await run(p, v, round, r, Number(values['sweep-duration']));
              runs.push(x);
              atRate.push(x);
              console.error(`sweep ${line(x)}`);
            }
          }
          for (const p of paths) {
            if (!live.has(p)) continue;
            const mine = atRate.filter((x) => x.path === p);
            const bad = mine.some((x) => x.saturated || x.errors > 0);
            if (bad || median(mine.map((x) => x.latency.p99)) >= limitUs) live.delete(p);
            else best[p] = r;
          }
          if (live.size === 0) break;
        }
        console.error(`sweep ${v}: highest rate with p99 < ${limitUs / 1000} ms: ${JSON.stringify(best)}`);
        sweep.push({ variant: v, p99LimitUs: limitUs, highestRate: best, runs });
      }
      out.sweep = sweep;
    }

    if (values.stages) out.stages = await stagesPart(upstream, variants, rate);
    if (values.profile) out.profile = await profilePart(upstream, variants, rate);

    out.loadavgAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
    const file = writeResult('gateway-path', 'e2e', out);
    if (file) console.error(`wrote ${file}`);
  } finally {
    for (const s of servers.values()) await s.stop();
    await upstream.stop();
  }
}

function printCompare(v: Variant, rate: number, summary: Record<string, unknown>): void {
  const f = (x: unknown, w = 8) => String(x ?? '-').padStart(w);
  console.error(
    `\n${v} at ${rate}/s, µs from scheduled send, median of rounds; + = minus direct, same round`,
  );
  console.error('path           p50      p99    p99.9      max |    +p50    +p99  p99/direct | cpu/req');
  for (const [p, s] of Object.entries(summary as Record<string, Record<string, unknown>>)) {
    const a = s.addedUs as Record<string, number | null>;
    console.error(
      `${p.padEnd(11)} ${f(s.p50)} ${f(s.p99)} ${f(s.p999)} ${f(s.max)} | ${f(a.p50, 7)} ${f(a.p99, 7)} ${f(s.p99VsDirect, 11)} | ${f(s.cpuUsPerReq, 7)}${s.saturated ? ' SATURATED' : ''}`,
    );
  }
  console.error('');
}

/** A separate Colo with the stage probe; requests that ran alone (low rate) and at --rate. */
async function stagesPart(upstream: Server, variants: Variant[], rate: number) {
  const probeOut = join(tmp, 'probe.json');
  const colo = await startColo(
    'colo-probe',
    upstream.port,
    join(ROOT, 'dist/cli.js'),
    ['--import', join(ROOT, 'bench/e2e/gateway-path-probe.mjs')],
    { COLO_PROBE_OUT: probeOut },
  );
  const waitCut = async (): Promise<StageLog> => {
    process.kill(colo.pid, 'SIGUSR2');
    for (let i = 0; i < 200; i++) {
      await sleep(50);
      const t = existsSync(probeOut) ? readFileSync(probeOut, 'utf8') : '';
      if (t) {
        writeFileSync(probeOut, '');
        return JSON.parse(t) as StageLog;
      }
    }
    throw new Error('stage probe wrote nothing');
  };
  const result: Record<string, unknown>[] = [];
  try {
    for (const v of variants) {
      await checkAnswer(colo.port, readFileSync(join(tmp, `colo-${v}.json`), 'utf8'), v, true);
      for (const r of [Number(values['stage-rate']), rate]) {
        await waitCut();
        const x = await timedRun(
          'colo',
          v,
          0,
          r,
          Number(values['sweep-duration']),
          colo,
          upstream,
          colo.port,
        );
        const s = stagesOf(await waitCut());
        console.error(`stages ${line(x)}`);
        console.error(`  requests alone: ${s.aloneRequests}`);
        for (const st of s.alone)
          console.error(`  ${String(st.p50).padStart(8)} p50 ${String(st.p99).padStart(9)} p99  ${st.stage}`);
        console.error(
          `  receipt → result at load: p50 ${s.receiptToResult.p50} p99 ${s.receiptToResult.p99} p99.9 ${s.receiptToResult.p999}`,
        );
        console.error(
          `  audit write(2): p50 ${s.auditWrite.p50} p99 ${s.auditWrite.p99} max ${s.auditWrite.max}`,
        );
        for (const [k, v] of Object.entries(s.upstreamAtLoad))
          console.error(`  upstream ${k} at load: p50 ${v.p50} p99 ${v.p99} p99.9 ${v.p999} max ${v.max}`);
        console.error(
          `  GC pauses: n ${s.gcPauses.n} p50 ${s.gcPauses.p50} p99 ${s.gcPauses.p99} max ${s.gcPauses.max}`,
        );
        result.push({
          variant: v,
          ratePerSec: r,
          client: { latency: x.latency, serviceTime: x.serviceTime },
          ...s,
        });
      }
    }
  } finally {
    await colo.stop();
  }
  return result;
}

/** Colo under --cpu-prof at --rate; the top of its main thread's self time. */
async function profilePart(upstream: Server, variants: Variant[], rate: number) {
  const dir = mkdtempSync(join(os.tmpdir(), 'colo-gwpath-prof-'));
  const colo = await startColo('colo-prof', upstream.port, join(ROOT, 'dist/cli.js'), [
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
  ]);
  const out: Record<string, ProfileSummary> = {};
  for (const v of variants) {
    await checkAnswer(colo.port, readFileSync(join(tmp, `colo-${v}.json`), 'utf8'), v, true);
  }
  const from = Number(process.hrtime.bigint() / 1000n);
  for (const v of variants) {
    const x = await timedRun('colo', v, 0, rate, Number(values.duration), colo, upstream, colo.port);
    console.error(`profile ${line(x)}`);
  }
  await colo.stop(); // V8 writes the profile at exit
  const p = summarizeCpuProfile(dir, from, ROOT, 40);
  out[variants.join('+')] = p;
  console.error(`\nColo main thread, ${p.totalMs} ms non-idle over ${variants.join(' + ')}; top self time:`);
  for (const f of p.functions) console.error(`  ${String(f.pct).padStart(5)}%  ${f.name}`);
  console.error('by file:');
  for (const f of p.files.slice(0, 20)) console.error(`  ${String(f.pct).padStart(5)}%  ${f.name}`);
  return out;
}

// Last, so every module-level constant above is initialised (the bundle hoists them).
if (values['serve-proxy-floor']) {
  // Child mode: the bare forwarder in its own process. Prints `PORT <n>`, lives until stdin closes.
  const s = await startProxyFloor(
    values['serve-proxy-floor'],
    64,
    Number(values['floor-busy-poll-ms'] || 0),
    values['floor-raw'],
  );
  process.stdout.write(`PORT ${s.port}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    s.close();
    process.exit(0);
  });
} else if (values['serve-upstream']) {
  await serveMockUpstreamChild();
} else {
  await main();
}
