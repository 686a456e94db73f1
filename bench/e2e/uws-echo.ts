/**
 * Transport floor baseline: WebSocket round trips through a uWS echo server at Colo's
 * frame sizes (a ~100 B request, a ~40 B token chunk, a ~300 B result), closed-loop
 * (RTT at N clients) and open-loop (fixed arrival rates, latency from schedule).
 *
 *   npx tsx bench/e2e/uws-echo.ts [--server=child|inline] [--quick]
 *
 * `runUwsEchoBench` is exported so a Colo-vs-echo bench can measure both in one run
 * and read Colo against this floor with compareLatency().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatSummary, isMain, machineLine, runClosedLoop, runOpenLoop, writeResult } from '../lib';
import type { ClosedLoopResult, OpenLoopResult } from '../lib';
import { EchoClient } from './uws-echo-client';
import { startUwsEchoServer } from './uws-echo-server';

/** Colo's frame sizes, in bytes. */
export const COLO_FRAME_SIZES = { request: 100, token: 40, result: 300 } as const;

export type ServerPlacement = 'inline' | 'child' | { url: string };

export interface EchoBenchOptions {
  /** Where the echo server runs. 'child' gives it its own process (and core). Default 'child'. */
  server?: ServerPlacement;
  /** Frame sizes to test. Default COLO_FRAME_SIZES. */
  sizes?: Record<string, number>;
  /** Closed-loop client counts (one connection each). Default [1, 8]. */
  concurrency?: number[];
  /** Measured round trips per closed-loop run. Default 20,000. */
  count?: number;
  /** Warm-up round trips per run. Default 2,000. */
  warmup?: number;
  /** Open-loop arrival rates per second (one connection). Default [1000, 10000]. */
  rates?: number[];
  /** Length of each open-loop run. Default 3000 ms. */
  openLoopMs?: number;
}

export interface EchoScenario {
  frame: string;
  bytes: number;
  closedLoop: ClosedLoopResult[];
  openLoop: OpenLoopResult[];
}

export interface EchoBenchResult {
  server: string;
  scenarios: EchoScenario[];
}

export interface RunningServer {
  url: string;
  label: string;
  close(): void;
}

/** Starts uws-echo-server.ts in a child process; `args` may carry --pin=N and --mlock. */
export async function startEchoChild(args: string[] = []): Promise<RunningServer> {
  // Same extension as this module: .ts under tsx, .mjs when bundled by bench/lib/run.mjs.
  const self = fileURLToPath(import.meta.url);
  const script = resolve(self, '..', `uws-echo-server${extname(self)}`);
  // execArgv carries tsx's loader, so the child runs TypeScript the same way we do.
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, script, '--serve', ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  let notes = '';
  const port = await new Promise<number>((done, reject) => {
    const timer = setTimeout(() => reject(new Error('echo child did not start in 30 s')), 30_000);
    child.once('exit', (code) => reject(new Error(`echo child exited with ${code}`)));
    lines.on('line', (line) => {
      const m = /^PORT (\d+) ?(.*)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        notes = m[2] ?? '';
        done(Number(m[1]));
      }
    });
  });
  return {
    url: `ws://127.0.0.1:${port}/`,
    label: `child pid ${child.pid}${notes ? ` (${notes})` : ''}`,
    close: () => child.stdin?.end(),
  };
}

async function startServer(placement: ServerPlacement): Promise<RunningServer> {
  if (typeof placement === 'object')
    return { url: placement.url, label: placement.url, close: () => undefined };
  if (placement === 'child') return startEchoChild();
  const s = await startUwsEchoServer();
  return { url: s.url, label: 'inline (same event loop as the client)', close: () => s.close() };
}

/** Closed-loop runs at each concurrency, then open-loop runs at each rate, for one frame size. */
async function runSize(
  url: string,
  frame: string,
  bytes: number,
  o: Required<Omit<EchoBenchOptions, 'server' | 'sizes'>>,
) {
  const scenario: EchoScenario = { frame, bytes, closedLoop: [], openLoop: [] };
  for (const c of o.concurrency) {
    const clients = await Promise.all(Array.from({ length: c }, () => EchoClient.connect(url)));
    const r = await runClosedLoop({
      concurrency: c,
      count: o.count,
      warmup: o.warmup,
      send: (client) => clients[client]!.roundTrip(bytes),
    });
    await Promise.all(clients.map((cl) => cl.close()));
    console.log(
      `  ${frame} ${bytes} B closed c=${c}: ${Math.round(r.throughputPerSec)}/s  ${formatSummary(r.rtt)}`,
    );
    scenario.closedLoop.push(r);
  }
  for (const rate of o.rates) {
    const client = await EchoClient.connect(url);
    // Warm the connection and the JIT before the schedule starts.
    for (let i = 0; i < Math.min(o.warmup, 1000); i++) await client.roundTrip(bytes);
    const r = await runOpenLoop({
      ratePerSec: rate,
      durationMs: o.openLoopMs,
      send: () => client.roundTrip(bytes),
    });
    await client.close();
    console.log(
      `  ${frame} ${bytes} B open ${rate}/s: got ${Math.round(r.achievedRatePerSec)}/s  ${formatSummary(r.latency)}  (send lag max ${r.maxSendLagUs} µs)`,
    );
    scenario.openLoop.push(r);
  }
  return scenario;
}

export async function runUwsEchoBench(opts: EchoBenchOptions = {}): Promise<EchoBenchResult> {
  const o = {
    concurrency: opts.concurrency ?? [1, 8],
    count: opts.count ?? 20_000,
    warmup: opts.warmup ?? 2_000,
    rates: opts.rates ?? [1000, 10_000],
    openLoopMs: opts.openLoopMs ?? 3000,
  };
  const server = await startServer(opts.server ?? 'child');
  try {
    const scenarios: EchoScenario[] = [];
    for (const [frame, bytes] of Object.entries(opts.sizes ?? COLO_FRAME_SIZES)) {
      scenarios.push(await runSize(server.url, frame, bytes, o));
    }
    return { server: server.label, scenarios };
  } finally {
    server.close();
  }
}

if (isMain('uws-echo')) {
  const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
  const serverArg = process.argv.find((a) => a.startsWith('--server='))?.slice('--server='.length);
  const placement: ServerPlacement = serverArg === 'inline' ? 'inline' : 'child';
  console.log(`# uws-echo (server ${placement})\n${machineLine()}`);
  const result = await runUwsEchoBench({
    server: placement,
    ...(quick ? { count: 5000, warmup: 1000, openLoopMs: 1000 } : {}),
  });
  const path = writeResult(`uws-echo-${placement}`, 'e2e', result);
  console.log(JSON.stringify(result));
  if (path) console.log(`wrote ${path}`);
}
