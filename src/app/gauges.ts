/** Gauges read at scrape time: local queue and sequence state, gateway breakers, connections. */
import type { LocalEngine } from '../engine';
import type { Gateway } from '../gateway';
import type { Metrics } from '../metrics';
import type { ColoServer } from '../server';
import { busyPoll } from '../core/busy-poll';

const BREAKER = { closed: 0, 'half-open': 1, open: 2 } as const;

export function registerGauges(
  metrics: Metrics,
  parts: { engine: LocalEngine; gateway: Gateway; server: ColoServer },
): void {
  const { engine, gateway, server } = parts;
  const perPool = (fn: (p: LocalEngine['pools'][number]) => number) => () =>
    engine.pools.map((p) => ({ labels: { model: p.name }, value: fn(p) }));
  metrics.gauge(
    'colo_queue_depth',
    'Requests waiting for a local sequence',
    perPool((p) => p.queued),
  );
  metrics.gauge(
    'colo_inflight',
    'Requests holding a local sequence',
    perPool((p) => p.inFlight),
  );
  metrics.gauge(
    'colo_sequences',
    'Sequences per local model',
    perPool((p) => p.slots),
  );
  metrics.gauge(
    'colo_worker_crash_failed_requests',
    'Requests failed with WORKER_CRASHED since start',
    perPool((p) => p.crashFailedRequests),
  );
  metrics.gauge(
    'colo_worker_utilization',
    "Share of the sequences' time spent serving requests since start, per local model, 0..1",
    perPool((p) => p.utilization),
  );
  metrics.gauge(
    'colo_flash_attention',
    "Flash attention in the local model's context as Colo chose it: 1 on, 0 off (no sample: left to llama.cpp, as on a GPU)",
    () =>
      engine.pools
        .filter((p) => typeof p.info?.flashAttention === 'boolean')
        .map((p) => ({ labels: { model: p.name }, value: p.info!.flashAttention ? 1 : 0 })),
  );
  metrics.gauge(
    'colo_kv_cache_f32',
    "The local model's KV cache element type as Colo chose it: 1 f32, 0 f16",
    () =>
      engine.pools
        .filter((p) => p.info !== undefined)
        .map((p) => ({ labels: { model: p.name }, value: p.info!.kvCacheType === 'f32' ? 1 : 0 })),
  );
  metrics.gauge(
    'colo_batching',
    "How the local model's concurrent streams decode: 2 batched in sequence-id order (one llama.cpp micro-batch a step), 1 batched out of order, 0 unbatched (node-llama-cpp internals moved)",
    () =>
      engine.pools
        .filter((p) => p.info !== undefined)
        .map((p) => ({
          labels: { model: p.name },
          value: p.info!.batching ? (p.info!.batchOrdered ? 2 : 1) : 0,
        })),
  );
  metrics.gauge(
    'colo_predicted_step_seconds',
    "The decode step admission predicts with, per local model and batch size (streams decoding together), at context 0: learnt from the workers' steps (src/engine/estimator.ts)",
    () =>
      engine.pools.flatMap((p) => {
        const steps = p.estimator.snapshot().stepMs;
        return steps.map((ms, i) => ({ labels: { model: p.name, batch: String(i + 1) }, value: ms / 1000 }));
      }),
  );
  metrics.gauge(
    'colo_predicted_pace',
    "The local model's speed as the estimator sees it now, over the speed its step table was learnt at (above 1: slower)",
    perPool((p) => p.estimator.snapshot().pace),
  );
  metrics.gauge(
    'colo_predicted_step_growth',
    "How much slower the local model's decode step gets per token of context, as a fraction of the step at context 0: measured at warm-up, then fitted to traffic's steps",
    perPool((p) => p.estimator.snapshot().stepGrowth),
  );
  metrics.gauge('colo_ws_connections', 'Open WebSocket connections', () => [
    { labels: {}, value: server.connections },
  ]);
  metrics.gauge(
    'colo_requests_inflight',
    'Requests accepted and not yet answered (HTTP and WebSocket)',
    () => [{ labels: {}, value: server.inflight }],
  );
  metrics.gauge(
    'colo_breaker_state',
    'Circuit breaker per remote target: 0 closed, 1 half-open, 2 open',
    () =>
      gateway.stats().targets.map((t) => ({
        labels: { target: t.name, provider: t.provider },
        value: BREAKER[t.breaker as keyof typeof BREAKER] ?? -1,
      })),
  );
  metrics.gauge('colo_remote_inflight', 'Requests in flight per remote target', () =>
    gateway
      .stats()
      .targets.map((t) => ({ labels: { target: t.name, provider: t.provider }, value: t.inFlight })),
  );
  metrics.gauge(
    'colo_busy_poll_window_ms',
    'Busy polling window of the network thread in ms (0: off; server.busyPollMs)',
    () => [{ labels: {}, value: busyPoll.window }],
  );
  metrics.gauge(
    'colo_warm_passes',
    'Passes of canned requests through the request path while polling, since start (server.warmPath)',
    () => [{ labels: {}, value: busyPoll.warmPasses }],
  );
  metrics.gauge(
    'colo_busy_poll_turns',
    'Event-loop turns the network thread spent polling instead of sleeping, since start',
    () => [{ labels: {}, value: busyPoll.turns }],
  );
}
