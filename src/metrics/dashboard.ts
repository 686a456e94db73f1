/**
 * The live dashboard's data: one snapshot per period, built once and pushed to every
 * open page (src/server/observe.ts streams it as server-sent events). The timer runs
 * only while a page is open. Figures come from the sliding window (per model
 * tokens/s, TTFT and total percentiles, route mix, errors), the registered gauges
 * (queue depth, sequences in use, breakers, connections) and the runtime monitors.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { Metrics } from './registry';
import type { ModelWindow } from './window';
import { DASHBOARD_HTML } from './dashboard-page';

export interface DashboardModel extends ModelWindow {
  queueDepth: number;
  inFlight: number;
  sequences: number;
  utilization: number;
}

export interface DashboardSnapshot {
  /** Epoch ms. */
  t: number;
  windowSec: number;
  models: DashboardModel[];
  /** Requests over the window by route: local, remote, cache, refused. */
  routes: Record<string, number>;
  /** Errors over the window by stable code. */
  errors: Record<string, number>;
  breakers: { target: string; state: string }[];
  /** Worst per-second event-loop figures over the last 10 s, ms. */
  eventLoop: { p50Ms: number; p99Ms: number; maxMs: number };
  process: { rssMb: number; heapUsedMb: number; wsConnections: number };
}

const BREAKER_NAMES = ['closed', 'half-open', 'open'];

export function dashboardSnapshot(m: Metrics): DashboardSnapshot {
  m.flush();
  const byModel = (gauge: string) =>
    new Map(m.readGauge(gauge).map((s) => [s.labels['model'] ?? '', s.value] as const));
  const queued = byModel('colo_queue_depth');
  const inflight = byModel('colo_inflight');
  const seqs = byModel('colo_sequences');
  const util = byModel('colo_worker_utilization');
  const stats = new Map(m.window.modelStats().map((s) => [s.model, s] as const));
  // Local models with no traffic yet still get a row (their queue and sequences).
  for (const name of seqs.keys()) {
    if (!stats.has(name)) {
      const zero = { p50: 0, p90: 0, p99: 0, count: 0 };
      stats.set(name, { model: name, tokensPerSec: 0, requestsPerSec: 0, ttftMs: zero, totalMs: zero });
    }
  }
  const loop = m.runtime?.recent() ?? { p50Us: 0, p99Us: 0, maxUs: 0 };
  const mem = process.memoryUsage();
  return {
    t: Date.now(),
    windowSec: m.window.seconds,
    models: [...stats.values()].map((s) => ({
      ...s,
      queueDepth: queued.get(s.model) ?? 0,
      inFlight: inflight.get(s.model) ?? 0,
      sequences: seqs.get(s.model) ?? 0,
      utilization: util.get(s.model) ?? 0,
    })),
    routes: m.window.countsOf('route'),
    errors: m.window.countsOf('error'),
    breakers: m.readGauge('colo_breaker_state').map((s) => ({
      target: s.labels['target'] ?? '',
      state: BREAKER_NAMES[s.value] ?? 'unknown',
    })),
    eventLoop: { p50Ms: loop.p50Us / 1000, p99Ms: loop.p99Us / 1000, maxMs: loop.maxUs / 1000 },
    process: {
      rssMb: mem.rss / 2 ** 20,
      heapUsedMb: mem.heapUsed / 2 ** 20,
      wsConnections: m.readGauge('colo_ws_connections')[0]?.value ?? 0,
    },
  };
}

/** Fans one snapshot per period out to every subscriber; runs only while someone listens. */
export class DashboardFeed {
  private readonly listeners = new Set<(json: string) => void>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly metrics: Metrics,
    private readonly intervalMs = 1000,
  ) {}

  /** Sends a snapshot at once, then one per period; returns the unsubscribe function. */
  subscribe(push: (json: string) => void): () => void {
    this.listeners.add(push);
    push(JSON.stringify(dashboardSnapshot(this.metrics)));
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref();
    }
    return () => {
      this.listeners.delete(push);
      if (this.listeners.size === 0) this.stop();
    };
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  private tick(): void {
    const json = JSON.stringify(dashboardSnapshot(this.metrics));
    for (const push of this.listeners) push(json);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

export interface DashboardAsset {
  body: string | Buffer;
  contentType: string;
}

let assets: Map<string, DashboardAsset> | undefined;

/**
 * The page and its chart library (uPlot, MIT), served from node_modules: no CDN, so
 * the dashboard works on a box without internet. Read once, on first request.
 */
export function dashboardAsset(name: string): DashboardAsset | undefined {
  if (!assets) {
    const require = createRequire(import.meta.url);
    const read = (p: string) => readFileSync(require.resolve(p));
    assets = new Map<string, DashboardAsset>([
      ['index.html', { body: DASHBOARD_HTML, contentType: 'text/html; charset=utf-8' }],
      [
        'uPlot.min.js',
        { body: read('uplot/dist/uPlot.iife.min.js'), contentType: 'text/javascript; charset=utf-8' },
      ],
      ['uPlot.min.css', { body: read('uplot/dist/uPlot.min.css'), contentType: 'text/css; charset=utf-8' }],
    ]);
  }
  return assets.get(name);
}
