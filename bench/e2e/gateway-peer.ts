/**
 * What a gateway adds to a remote call, through real HTTP servers, against a direct
 * call and a peer gateway, in the same run. Every hop is a separate process on loopback:
 *   - direct:       client → mock upstream;
 *   - colo:         client → Colo's HTTP API (dist/cli.js, audit on, fsync 'always',
 *                   the default) → mock;
 *   - colo-noaudit: the same Colo config with the audit log off;
 *   - portkey:      client → Portkey's open-source gateway (@portkey-ai/gateway, its
 *                   node build) → mock, provider chosen by x-portkey-* headers.
 * Variants: `json` (stream: false end to end) and `sse` (stream: true; the client parses
 * the SSE stream to get the text). Colo's cache is off so every request goes upstream;
 * its default redaction stays on (that is what an operator runs).
 *
 * Open-loop load (constant arrival rate, latency from each request's *scheduled* send
 * time, HDR histograms). Rounds rotate the order of the modes so drift on a shared box
 * does not favour one. Per run: p50/p99/p99.9/max, achieved rate, errors, and CPU time
 * per request of each server process (utime+stime from /proc/<pid>/stat, all threads):
 * on a small shared box CPU per request is steadier than the tail. "added" is mode minus
 * direct, per round, then the median over rounds. Checks every answer before timing.
 *
 * When a mode cannot keep up, the client sheds: a send more than --shed-ms behind its
 * schedule is dropped (counted in `shed`, not sent) so the run ends on time; such a run
 * is marked saturated and its latency is not a service figure.
 *
 *   npm run build && node bench/lib/run.mjs bench/e2e/gateway-peer.ts \
 *     [--rates 1000,5000] [--duration 10000] [--rounds 2] [--variants json,sse] \
 *     [--modes direct,colo,colo-noaudit,portkey] [--profile]
 *
 * --profile runs the audited Colo under `node --cpu-prof` and prints where its main
 * thread's time went (top self-time functions and files). BENCH_QUICK=1: 2 s runs, 1 round.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { SseParser } from '../../src/gateway/providers/sse';
import { FIXTURE_TEXT } from '../../test/mocks/upstream/fixtures';
import { serveMockUpstreamChild, spawnMockUpstream } from '../lib/upstream-child';
import { type LatencySummary, machineInfo, machineLine, runOpenLoop, writeResult } from '../lib';
import { processCpuUs as cpuUs, summarizeCpuProfile } from '../lib/profile';
import { DEFAULT_MODEL_PATH, ROOT, startColoProcess } from './colo-process';

const QUICK = process.env.BENCH_QUICK === '1';
const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: QUICK ? '1000' : '1000,5000' },
    duration: { type: 'string', default: QUICK ? '2000' : '10000' },
    warmup: { type: 'string', default: QUICK ? '500' : '2000' },
    rounds: { type: 'string', default: QUICK ? '1' : '2' },
    connections: { type: 'string', default: '128' },
    variants: { type: 'string', default: 'json,sse' },
    modes: { type: 'string', default: 'direct,colo,colo-noaudit,portkey' },
    'shed-ms': { type: 'string', default: '1000' },
    model: { type: 'string', default: DEFAULT_MODEL_PATH },
    profile: { type: 'boolean', default: false },
    'serve-upstream': { type: 'boolean', default: false },
  },
});

type Variant = 'json' | 'sse';
type Mode = 'direct' | 'colo' | 'colo-noaudit' | 'portkey';

interface Server {
  child: ChildProcess;
  pid: number;
  url: string;
  stop: () => Promise<void>;
}

/** Waits for a line matching `re` on a child's stdout or stderr. */
function waitForLine(child: ChildProcess, re: RegExp, what: string, ms = 60_000): Promise<string> {
  return new Promise((resolveLine, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`${what}: no ${re} within ${ms} ms:\n${log}`)), ms);
    for (const s of [child.stdout, child.stderr]) {
      if (!s) continue;
      const rl = createInterface({ input: s });
      rl.on('line', (line) => {
        log += `${line}\n`;
        if (re.test(line)) {
          clearTimeout(timer);
          resolveLine(line);
        }
      });
    }
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}:\n${log}`)));
  });
}

/** Every child started, so a bench that dies (signal, throw) does not leave servers behind. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once('exit', () => r());
    child.kill(signal);
  });
}

async function startUpstream(): Promise<Server> {
  const m = await spawnMockUpstream(children);
  return { child: m.child, pid: m.pid, url: m.url, stop: m.stop };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Portkey's gateway, its published node build, on a free loopback port. */
async function startPortkey(): Promise<Server> {
  const bin = join(ROOT, 'node_modules/@portkey-ai/gateway/build/start-server.js');
  if (!existsSync(bin)) throw new Error(`${bin} missing: npm install`);
  const port = await freePort();
  // --headless: no UI routes. It binds every interface; the bench only talks to 127.0.0.1.
  const child = spawn(process.execPath, [bin, `--port=${port}`, '--headless'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  await waitForLine(child, /Ready for connections/, 'portkey');
  return { child, pid: child.pid!, url: `http://127.0.0.1:${port}`, stop: () => stopChild(child) };
}

async function startColo(upstream: string, audit: boolean, nodeArgs: string[] = []): Promise<Server> {
  const target = {
    provider: 'openai',
    baseUrl: `${upstream}/v1`,
    model: 'gpt-mock',
    connections: Number(values.connections),
  };
  const p = await startColoProcess(
    {
      engine: { gpu: 'cpu', models: [{ name: 'tiny', source: values.model, sequences: 1 }] },
      // CPU per request is this bench's figure, against Portkey: a polling network
      // thread's spin (server.busyPollMs, on by default) would read as work.
      server: { busyPollMs: 0 },
      gateway: {
        targets: [
          { name: 'remote-sse', ...target },
          // Non-streaming upstream call, so the json variant has the same upstream exchange as direct.
          { name: 'remote-json', ...target, stream: false },
        ],
      },
      cache: { enabled: false },
      audit: audit
        ? { dir: mkdtempSync(join(os.tmpdir(), 'colo-bench-audit-')), fsync: 'always' }
        : { enabled: false },
    },
    {},
    nodeArgs,
  );
  children.add(p.child);
  return { child: p.child, pid: p.child.pid!, url: `http://127.0.0.1:${p.port}`, stop: () => p.stop() };
}

const MESSAGES = [{ role: 'user', content: 'Is the market up?' }];

function bodyFor(model: string, variant: Variant): string {
  return JSON.stringify({
    model,
    messages: MESSAGES,
    max_tokens: 64,
    ...(variant === 'sse' ? { stream: true, stream_options: { include_usage: true } } : { stream: false }),
  });
}

/** One client for one server: sends the variant's request and returns the answer's text. */
function client(
  baseUrl: string,
  models: Record<Variant, string>,
  extraHeaders: Record<string, string>,
  checkColo: boolean,
) {
  const pool = new Pool(baseUrl, { connections: Number(values.connections), pipelining: 1 });
  const headers = { 'content-type': 'application/json', ...extraHeaders };
  const bodies = { json: bodyFor(models.json, 'json'), sse: bodyFor(models.sse, 'sse') };
  async function send(variant: Variant): Promise<string> {
    const res = await pool.request({
      method: 'POST',
      path: '/v1/chat/completions',
      headers,
      body: bodies[variant],
    });
    if (res.statusCode !== 200)
      throw new Error(`status ${res.statusCode}: ${(await res.body.text()).slice(0, 300)}`);
    if (variant === 'json') {
      const j = (await res.body.json()) as {
        choices: { message: { content: string } }[];
        colo?: { route: { kind: string } };
      };
      if (checkColo && j.colo?.route.kind !== 'remote')
        throw new Error(`colo answered from ${JSON.stringify(j.colo)}`);
      return j.choices[0]!.message.content;
    }
    const parser = new SseParser();
    let text = '';
    for await (const chunk of res.body) {
      for (const ev of parser.push(chunk as Buffer)) {
        if (ev.data === '[DONE]') continue;
        const j = JSON.parse(ev.data) as { choices: { delta?: { content?: string } }[] };
        text += j.choices[0]?.delta?.content ?? '';
      }
    }
    return text;
  }
  return { send, close: () => pool.close() };
}

interface Run {
  mode: Mode;
  round: number;
  sent: number;
  completed: number;
  errors: number;
  shed: number;
  saturated: boolean;
  achievedRatePerSec: number;
  maxSendLagUs: number;
  latency: LatencySummary;
  /** CPU µs per completed request: the mode's gateway process (none for direct), the mock, this client. */
  cpuUsPerReq: { gateway: number | null; upstream: number; client: number };
}

async function timedRun(
  mode: Mode,
  round: number,
  rate: number,
  send: () => Promise<string>,
  gatewayPid: number | undefined,
  upstreamPid: number,
): Promise<Run> {
  const shedNs = Number(values['shed-ms']) * 1e6;
  const durationMs = Number(values.duration);
  let start = 0;
  let shed = 0;
  const g0 = gatewayPid ? cpuUs(gatewayPid) : 0;
  const u0 = cpuUs(upstreamPid);
  const c0 = process.cpuUsage();
  const r = await runOpenLoop({
    ratePerSec: rate,
    durationMs,
    send: (i) => {
      const now = Number(process.hrtime.bigint());
      if (i === 0) start = now;
      if (now - (start + (i * 1e9) / rate) > shedNs) {
        shed++;
        return Promise.reject(new Error('shed'));
      }
      return send();
    },
  });
  const c = process.cpuUsage(c0);
  const n = Math.max(1, r.completed);
  const per = (us: number) => Math.round((us / n) * 10) / 10;
  const errors = r.errors - shed;
  return {
    mode,
    round,
    sent: r.sent - shed,
    completed: r.completed,
    errors,
    shed,
    // Shedding, a short rate, or a median in the 100s of ms (a queue is building) all mean
    // the mode did not keep up.
    saturated: shed > 0 || r.achievedRatePerSec < 0.95 * rate || r.latency.p50 > 100_000,
    achievedRatePerSec: Math.round(r.achievedRatePerSec),
    maxSendLagUs: r.maxSendLagUs,
    latency: r.latency,
    cpuUsPerReq: {
      gateway: gatewayPid ? per(cpuUs(gatewayPid) - g0) : null,
      upstream: per(cpuUs(upstreamPid) - u0),
      client: per(c.user + c.system),
    },
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return Math.round(m * 10) / 10;
};

async function main(): Promise<void> {
  const rates = values.rates!.split(',').map(Number);
  const variants = values.variants!.split(',') as Variant[];
  const roundsN = Number(values.rounds);
  const wanted = values.modes!.split(',') as Mode[];
  const profileDir = values.profile ? mkdtempSync(join(os.tmpdir(), 'colo-bench-prof-')) : undefined;

  const upstream = await startUpstream();
  const servers = new Map<Mode, Server>();
  const notes: Record<string, string> = {};
  const senders = new Map<Mode, ReturnType<typeof client>>();
  const MOCK_MODEL = { json: 'gpt-mock', sse: 'gpt-mock' };
  senders.set('direct', client(upstream.url, MOCK_MODEL, {}, false));
  try {
    const prof = (mode: Mode): string[] =>
      profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, mode)}`] : [];
    if (wanted.includes('colo')) servers.set('colo', await startColo(upstream.url, true, prof('colo')));
    if (wanted.includes('colo-noaudit'))
      servers.set('colo-noaudit', await startColo(upstream.url, false, prof('colo-noaudit')));
    if (wanted.includes('portkey')) {
      try {
        servers.set('portkey', await startPortkey());
      } catch (err) {
        notes.portkey = `did not start: ${(err as Error).message}`;
      }
    }
    for (const [mode, s] of servers) {
      const extra: Record<string, string> =
        mode === 'portkey'
          ? {
              'x-portkey-provider': 'openai',
              'x-portkey-custom-host': `${upstream.url}/v1`,
              authorization: 'Bearer sk-bench',
            }
          : {};
      const models = mode === 'portkey' ? MOCK_MODEL : { json: 'remote-json', sse: 'remote-sse' };
      senders.set(mode, client(s.url, models, extra, mode !== 'portkey'));
    }

    // The answer first: each (mode, variant) must return the fixture's text, or it is not timed.
    const cells: { mode: Mode; variant: Variant }[] = [];
    for (const variant of variants) {
      for (const mode of wanted) {
        const c = senders.get(mode);
        if (!c) continue;
        try {
          const text = await c.send(variant);
          if (text !== FIXTURE_TEXT)
            throw new Error(`answered ${JSON.stringify(text)}, expected ${JSON.stringify(FIXTURE_TEXT)}`);
          cells.push({ mode, variant });
        } catch (err) {
          if (mode !== 'portkey') throw new Error(`${mode}/${variant}: ${(err as Error).message}`);
          notes[`portkey/${variant}`] = `answer check failed, not timed: ${(err as Error).message}`;
          console.error(`portkey/${variant}: ${notes[`portkey/${variant}`]}`);
        }
      }
    }
    console.error(machineLine());
    // What each server burns doing nothing (timers, idle threads), so CPU per request can be read net of it.
    const idleCpuMsPerSec: Record<string, number> = {};
    const idle0 = new Map([...servers].map(([m, s]) => [m, cpuUs(s.pid)]));
    await sleep(2000);
    for (const [m, s] of servers) idleCpuMsPerSec[m] = Math.round((cpuUs(s.pid) - idle0.get(m)!) / 2000);

    for (const { mode, variant } of cells)
      await runOpenLoop({
        ratePerSec: 500,
        durationMs: Number(values.warmup),
        send: () => senders.get(mode)!.send(variant),
      });

    const timedFromUs = Number(process.hrtime.bigint() / 1000n);
    const results: Record<string, unknown>[] = [];
    for (const variant of variants) {
      const modes = cells.filter((c) => c.variant === variant).map((c) => c.mode);
      for (const rate of rates) {
        const runs: Run[] = [];
        for (let round = 0; round < roundsN; round++) {
          // Rotate by round, and reverse every other round, so no mode always goes first.
          const rot = [...modes.slice(round % modes.length), ...modes.slice(0, round % modes.length)];
          const order = round % 2 ? rot.reverse() : rot;
          for (const mode of order) {
            await sleep(300);
            const r = await timedRun(
              mode,
              round,
              rate,
              () => senders.get(mode)!.send(variant),
              servers.get(mode)?.pid,
              upstream.pid,
            );
            runs.push(r);
            const l = r.latency;
            console.error(
              `${variant} ${rate}/s r${round} ${mode.padEnd(12)} p50 ${l.p50} p99 ${l.p99} p99.9 ${l.p999} max ${l.max} µs | ` +
                `${r.achievedRatePerSec}/s err ${r.errors} shed ${r.shed} | cpu/req gw ${r.cpuUsPerReq.gateway ?? '-'} up ${r.cpuUsPerReq.upstream} µs` +
                `${r.saturated ? ' SATURATED' : ''} (load ${os.loadavg()[0]!.toFixed(2)})`,
            );
          }
        }
        const summary: Record<string, unknown> = {};
        for (const mode of modes) {
          const mine = runs.filter((r) => r.mode === mode);
          const direct = runs.filter((r) => r.mode === 'direct');
          const pick = (k: 'p50' | 'p99' | 'p999' | 'max') => median(mine.map((r) => r.latency[k]));
          const added = (k: 'p50' | 'p99' | 'p999') =>
            mode === 'direct' || direct.length === 0
              ? null
              : median(mine.map((r) => r.latency[k] - direct.find((d) => d.round === r.round)!.latency[k]));
          summary[mode] = {
            p50: pick('p50'),
            p99: pick('p99'),
            p999: pick('p999'),
            max: pick('max'),
            addedUs: { p50: added('p50'), p99: added('p99'), p999: added('p999') },
            cpuUsPerReq: mode === 'direct' ? null : median(mine.map((r) => r.cpuUsPerReq.gateway!)),
            achievedRatePerSec: median(mine.map((r) => r.achievedRatePerSec)),
            errors: mine.reduce((a, r) => a + r.errors, 0),
            shed: mine.reduce((a, r) => a + r.shed, 0),
            saturated: mine.some((r) => r.saturated),
          };
        }
        results.push({ variant, ratePerSec: rate, durationMs: Number(values.duration), summary, runs });
      }
    }

    // V8 writes a profile when the process exits, so the profiled servers stop first.
    const profile: Record<string, ReturnType<typeof summarizeCpuProfile>> = {};
    for (const mode of ['colo', 'colo-noaudit'] as const) {
      if (!profileDir || !servers.has(mode)) continue;
      await servers.get(mode)!.stop();
      servers.delete(mode);
      profile[mode] = summarizeCpuProfile(join(profileDir, mode), timedFromUs, ROOT);
    }
    const out = {
      bench: 'gateway-peer',
      unit: 'us',
      loadavgAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
      loadavgAtStart: machineInfo().loadavg1,
      notes,
      idleCpuMsPerSec,
      peer: 'portkey @portkey-ai/gateway 1.15.2 (build/start-server.js, node)',
      results,
      ...(profileDir ? { coloProfile: profile } : {}),
    };
    console.log(JSON.stringify(out, null, 2));
    printTable(results);
    console.error(`idle CPU ms/s: ${JSON.stringify(idleCpuMsPerSec)}`);
    for (const [mode, p] of Object.entries(profile)) {
      console.error(`\n${mode} main thread, ${p.totalMs} ms non-idle; top self time by file:`);
      for (const f of p.files.slice(0, 15)) console.error(`  ${String(f.pct).padStart(5)}%  ${f.name}`);
      console.error('top functions:');
      for (const f of p.functions.slice(0, 25)) console.error(`  ${String(f.pct).padStart(5)}%  ${f.name}`);
    }
    const path = writeResult(profileDir ? 'gateway-peer-profile' : 'gateway-peer', 'e2e', out);
    if (path) console.error(`wrote ${path}`);
  } finally {
    for (const c of senders.values()) await c.close();
    for (const s of servers.values()) await s.stop();
    await upstream.stop();
  }
}

function printTable(results: Record<string, unknown>[]): void {
  const lines = [
    'variant rate  mode          p50     p99   p99.9     max | +p50   +p99  +p99.9 | gw cpu/req | rate   err  shed',
  ];
  for (const r of results) {
    for (const [mode, s] of Object.entries(r.summary as Record<string, Record<string, unknown>>)) {
      const a = s.addedUs as Record<string, number | null>;
      const f = (v: unknown, w = 7) => String(v ?? '-').padStart(w);
      lines.push(
        `${String(r.variant).padEnd(7)} ${String(r.ratePerSec).padEnd(5)} ${mode.padEnd(12)} ${f(s.p50)} ${f(s.p99)} ${f(s.p999)} ${f(s.max)} |` +
          `${f(a.p50, 6)} ${f(a.p99, 6)} ${f(a.p999)} | ${f(s.cpuUsPerReq, 10)} | ${f(s.achievedRatePerSec, 5)} ${f(s.errors, 5)} ${f(s.shed, 5)}${s.saturated ? ' SATURATED' : ''}`,
      );
    }
  }
  console.error(
    `\nlatency µs from scheduled send (median over rounds); + = minus direct, same round\n${lines.join('\n')}`,
  );
}

// Last, so every module-level constant above is initialised (the bundle hoists them).
if (values['serve-upstream']) {
  await serveMockUpstreamChild();
} else {
  await main();
}
