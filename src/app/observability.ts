/**
 * Wires observability from the config: who may read /metrics and the dashboard, the
 * separate scrape listener, the dashboard feed and (when configured) OpenTelemetry
 * tracing. Kept out of colo.ts so the composition root gains only a few lines.
 */
import type { ColoConfig } from '../config';
import type { Logger } from '../core/log';
import { DashboardFeed, dashboardAsset, listenMetrics, startTracing, type Metrics } from '../metrics';
import type { ObserveAccess, ObserveRoutes } from '../server/observe';

export interface Observability {
  observe: ObserveRoutes;
  /** Port of the separate scrape listener, when `metrics.access` is 'listener'. */
  listenerPort: number | undefined;
  close(): Promise<void>;
}

/** 'auto' means: open while auth is off (Colo then listens on loopback only), admin key when on. */
export function metricsAccess(config: Readonly<ColoConfig>): ObserveAccess {
  const a = config.metrics.access;
  if (a === 'listener') return 'off';
  if (a === 'auto') return config.auth.enabled ? 'admin' : 'open';
  return a;
}

export async function startObservability(
  config: Readonly<ColoConfig>,
  metrics: Metrics,
  isAdmin: (key: string | undefined) => boolean,
  log: Logger,
): Promise<Observability> {
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const tracing = config.metrics.tracing.enabled ? await startTracing(config.metrics.tracing) : undefined;
    if (tracing) {
      closers.push(() => tracing.close());
      log.info('tracing on', { endpoint: config.metrics.tracing.endpoint });
    }
    let listenerPort: number | undefined;
    if (config.metrics.access === 'listener') {
      const { host, port } = config.metrics.listener;
      const l = await listenMetrics(host, port, () => metrics.render());
      closers.push(() => l.close());
      listenerPort = l.port;
      log.info('metrics listener', { host, port: l.port });
    }
    const feed = new DashboardFeed(metrics, config.metrics.dashboard.intervalMs);
    closers.push(async () => feed.stop());
    const observe: ObserveRoutes = {
      metricsAccess: metricsAccess(config),
      dashboardAccess: !config.metrics.dashboard.enabled ? 'off' : config.auth.enabled ? 'admin' : 'open',
      isAdmin,
      asset: dashboardAsset,
      subscribe: (push) => feed.subscribe(push),
    };
    return { observe, listenerPort, close };
  } catch (err) {
    await close();
    throw err;
  }
}
