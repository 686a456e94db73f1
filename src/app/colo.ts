/**
 * The composition root: builds every part from the frozen config and wires them
 * together. Nothing else constructs sub-systems; tests and the CLI both start Colo here.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { ColoConfig, LocalModelConfig } from '../config';
import { ColoError } from '../core/errors';
import type { Logger } from '../core/log';
import { LocalEngine, type ResolvedModelFile } from '../engine';
import { Metrics } from '../metrics';
import { Router, type ClassifierRoute } from '../router';
import { ClassifierRegistry, classificationToSignal, classifierRoutes } from '../classifier';
import { ColoServer, type ServerContext } from '../server';

export interface Colo {
  server: ColoServer;
  engine: LocalEngine;
  metrics: Metrics;
  port: number;
  /** Graceful: stop accepting, let in-flight work finish within the grace period, then close. */
  shutdown(reason?: string): Promise<void>;
}

export interface StartOptions {
  /** Enables the worker crash task (tests only). */
  faultInjection?: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function startColo(config: Readonly<ColoConfig>, log: Logger, opts: StartOptions = {}): Promise<Colo> {
  if (!LOOPBACK.has(config.server.host)) {
    throw new ColoError('PERMISSION_DENIED', `server.host: refusing to listen on ${config.server.host} without auth configured; bind to 127.0.0.1 or configure auth`, {
      field: 'server.host',
    });
  }
  const metrics = new Metrics().subscribe();
  const engine = await LocalEngine.create(config.engine, (m) => resolveModelFile(config, m), log, opts);
  const classifiers = await ClassifierRegistry.create(config.classifiers);
  for (const s of classifiers.status()) {
    if (s.state === 'ready') log.info('classifier loaded', { name: s.name });
    else log.error('classifier failed to load; serving the others', { name: s.name, error: s.error });
  }
  const classifierRoute: ClassifierRoute = {
    has: (name) => classifiers.has(name),
    classify: async (name, text) => {
      const clf = classifiers.get(name);
      const [r] = await clf.classify([text]);
      return { label: r!.label, signal: classificationToSignal(r!, clf.labels, text) };
    },
  };
  const router = new Router({ engine, classifiers: classifierRoute });
  let ready = true;

  metrics.gauge('colo_queue_depth', 'Requests waiting for a local sequence', () =>
    engine.pools.map((p) => ({ labels: { model: p.name }, value: p.queued })),
  );
  metrics.gauge('colo_inflight', 'Requests holding a local sequence', () =>
    engine.pools.map((p) => ({ labels: { model: p.name }, value: p.inFlight })),
  );
  metrics.gauge('colo_sequences', 'Sequences per local model', () => engine.pools.map((p) => ({ labels: { model: p.name }, value: p.slots })));
  metrics.gauge('colo_worker_crash_failed_requests', 'Requests failed with WORKER_CRASHED since start', () =>
    engine.pools.map((p) => ({ labels: { model: p.name }, value: p.crashFailedRequests })),
  );

  const ctx: ServerContext = {
    config: config.server,
    protocol: config.protocol,
    log,
    complete: (req, sink, signal, api, principal) => {
      if (principal) {
        req.tenant = principal.tenant;
        req.keyId = principal.keyId;
      }
      return router.complete(req, sink, signal, { api });
    },
    authenticate: async () => undefined,
    models: () => [
      ...engine.pools.flatMap((p) => [p.name, ...p.aliases].map((id) => ({ id, ownedBy: 'colo-local' }))),
      ...classifiers.status().map((s) => ({ id: s.name, ownedBy: 'colo-onnx' })),
    ],
    ready: () => ready,
    metricsText: () => metrics.render(),
    extraRoutes: [...classifierRoutes(classifiers)],
  };
  metrics.gauge('colo_ws_connections', 'Open WebSocket connections', () => [{ labels: {}, value: server.connections }]);
  const server = new ColoServer(ctx);
  const port = await server.listen();
  log.info('colo listening', { host: config.server.host, port, ws: `ws://${config.server.host}:${port}/v1/ws` });

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown') =>
    (shuttingDown ??= (async () => {
      log.info('shutting down', { reason, graceMs: config.server.shutdownGraceMs });
      ready = false;
      server.stopAccepting();
      await engine.drain(config.server.shutdownGraceMs);
      server.closeAll();
      await engine.close();
      await classifiers.close();
      for (const line of metrics.summaryLines()) log.info(`latency summary: ${line}`);
      metrics.close();
    })());

  return { server, engine, metrics, port, shutdown };
}

/** Finds a model's weights: an explicit path, then each model directory by file name. */
async function resolveModelFile(config: Readonly<ColoConfig>, m: LocalModelConfig): Promise<ResolvedModelFile> {
  const source = m.source ?? m.name;
  if ((source.includes('/') || source.endsWith('.gguf')) && existsSync(source)) return { path: resolve(source) };
  const file = source.endsWith('.gguf') ? source : `${source}.gguf`;
  for (const dir of config.engine.modelDirs) {
    const p = isAbsolute(dir) ? join(dir, file) : resolve(dir, file);
    if (existsSync(p)) return { path: p };
  }
  throw new ColoError('MODEL_NOT_FOUND', `model ${m.name}: ${file} not found in ${config.engine.modelDirs.join(', ')}`);
}
