/**
 * The composition root: builds every part from the frozen config and wires them
 * together. Nothing else constructs sub-systems; tests, benches and the CLI start
 * Colo here.
 */
import { createAuth, type AuthService } from '../auth';
import { AuditLog } from '../audit';
import { busyPoll, busyPollWindow } from '../core/busy-poll';
import { registerWarmers } from './warm';
import { createCompletionCache } from '../cache';
import { ClassifierRegistry, classificationToSignal, classifierRoutes } from '../classifier';
import type { ColoConfig } from '../config';
import { ColoError } from '../core/errors';
import type { Logger } from '../core/log';
import type { ExtraRoute, PlainRoute } from '../core/routes';
import type { Catalogue, CallLimits } from '../api/validate';
import { decideRoute } from '../api/decide';
import { LocalEngine } from '../engine';
import { Gateway } from '../gateway';
import { compilePricing, connectRedis, costOfRequest, createLimiter } from '../limits';
import { Metrics } from '../metrics';
import { resolveModel, sourceOptions } from '../models';
import { Redactor } from '../redact';
import { Router, type ClassifierRoute } from '../router';
import { ColoServer, type ServerContext } from '../server';
import { applyLayout, cpuBudget, loadTuning } from '../tuning';
import { SkillService, skillRoutes } from '../skills';
import { registerGauges } from './gauges';
import { dependencyHealth, type Health } from './health';
import { startObservability } from './observability';
import { RequestPipeline } from './pipeline';
import { createRunner } from './runner';

/** The validator's limits, from the one config (one default deadline; skills keep their own). */
function callLimits(config: Readonly<ColoConfig>): CallLimits {
  return {
    maxTokens: config.server.maxTokensLimit,
    maxStopSequences: config.protocol.maxStopSequences,
    maxStopChars: 256,
    maxMessages: config.protocol.maxMessages,
    maxInputs: 256,
    maxChoices: 64,
    maxTickers: 64,
    maxIdChars: 128,
    defaultDeadlineMs: config.server.defaultDeadlineMs,
    skillDeadlineMs: config.skills.defaultDeadlineMs,
  };
}

export interface Colo {
  server: ColoServer;
  engine: LocalEngine;
  gateway: Gateway;
  auth: AuthService;
  pipeline: RequestPipeline;
  metrics: Metrics;
  port: number;
  /** The separate scrape listener's port, when `metrics.access` is 'listener'. */
  metricsPort: number | undefined;
  /** Where audit records are written; undefined when audit is off. */
  auditDir: string | undefined;
  /** Graceful: stop accepting, let in-flight work finish within the grace period, then close. */
  shutdown(reason?: string): Promise<void>;
  /** The dependencies in use (Redis) and whether each is up; `/readyz` is false while one is down. */
  health(): Health;
}

export interface StartOptions {
  /** Enables the worker crash task (tests only). */
  faultInjection?: boolean;
  /** More HTTP routes (tests): call routes run through the same pipeline as every other. */
  extraRoutes?: () => ExtraRoute[];
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function startColo(
  config: Readonly<ColoConfig>,
  log: Logger,
  opts: StartOptions = {},
): Promise<Colo> {
  if (!LOOPBACK.has(config.server.host) && !config.auth.enabled) {
    throw new ColoError(
      'PERMISSION_DENIED',
      `server.host: refusing to listen on ${config.server.host} without auth; bind to 127.0.0.1 or set auth.enabled`,
      {
        field: 'server.host',
      },
    );
  }
  const poll = busyPollWindow(
    config.server.busyPollMs,
    config.engine.models.reduce((n, m) => n + m.threads * m.replicas, 0),
    cpuBudget(),
  );
  busyPoll.configure(poll.windowMs);
  if (poll.reason) log.warn(`busy polling off: ${poll.reason} (server.busyPollMs)`);
  const tuning = loadTuning({ addonPath: config.tuning.addonPath });
  if (config.tuning.enabled) log.info(applyLayout(tuning, config.tuning, { kind: 'network' }).message);
  else if (!tuning.available) log.info(`host tuning off: ${tuning.reason}`);

  // Closed last (closers run in reverse): the loop stops polling once everything is down.
  const closers: (() => Promise<unknown>)[] = [async () => busyPoll.configure(0)];
  try {
    const redis = config.redis ? await connectRedis(config.redis) : undefined;
    if (redis) closers.push(() => redis.quit());
    const metrics = new Metrics({
      tenants: config.metrics.tenants,
      windowSec: config.metrics.dashboard.windowSec,
    }).subscribe();
    closers.push(async () => metrics.close());
    const auth = await createAuth(config.auth, { redis });
    closers.push(() => auth.close());
    const limiter = config.limits.enabled ? createLimiter(config.limits, { redis }) : undefined;
    if (limiter) closers.push(() => limiter.close());
    const cache = config.cache.enabled ? createCompletionCache(config.cache, { redis, log }) : undefined;
    const gateway = Gateway.create(config.gateway);
    closers.push(() => gateway.close());
    const providerKeys = config.gateway.targets
      .flatMap((t) => [t.apiKey, t.apiKeyEnv ? process.env[t.apiKeyEnv] : undefined])
      .filter((k): k is string => !!k);
    const audit = config.audit.enabled
      ? // 'full' keeps text as redaction masks it, on every route (whatever redact.applyTo says).
        await AuditLog.open(config.audit, { secrets: providerKeys, masker: new Redactor(config.redact) })
      : undefined;
    if (audit) closers.push(() => audit.close());

    const sources = await sourceOptions(config.models);
    const engine = await LocalEngine.create(
      config.engine,
      async (m) => {
        const r = await resolveModel(m.source ?? m.name, {
          ...sources,
          modelDirs: [...config.engine.modelDirs],
          cacheDir: config.engine.cacheDir,
          fallbackToSynthetic: config.engine.syntheticFallback && m.name === config.engine.models[0]!.name,
          onProgress: undefined,
        });
        return { path: r.path, warning: r.warning };
      },
      log,
      opts,
    );
    closers.push(() => engine.close());

    const classifiers = await ClassifierRegistry.create(config.classifiers);
    closers.push(() => classifiers.close());
    for (const s of classifiers.status()) {
      if (s.state === 'ready') log.info('classifier loaded', { name: s.name, mode: s.mode });
      else log.error('classifier failed to load; serving the others', { name: s.name, error: s.error });
    }
    const classifierRoute: ClassifierRoute = {
      // Failed ones too: get() then answers NOT_READY, naming the load error.
      has: (name) => classifiers.knows(name),
      classify: async (name, texts) => {
        const clf = classifiers.get(name);
        const out = await clf.classify(texts as string[]);
        return out.map((r, i) => ({
          label: r.label,
          confidence: r.confidence,
          probs: Object.fromEntries(clf.labels.map((l, j) => [l, r.probs[j]!])),
          escalate: r.escalate,
          signal: classificationToSignal(r, clf.labels, texts[i]!),
        }));
      },
    };

    const router = new Router({
      engine,
      gateway,
      classifiers: classifierRoute,
      cache,
      redaction: config.redact.enabled ? new Redactor(config.redact) : undefined,
      localRoutes: Object.fromEntries(
        config.engine.models.map((m) => [m.name, { fallback: m.fallback, policy: m.policy }]),
      ),
    });
    const { runner, skills } = createRunner(router, (complete) =>
      SkillService.create(config.skills, { complete, classifiers }),
    );
    const catalogue: Catalogue = {
      defaultModel: engine.defaultModel ?? '',
      kindOf: (name) =>
        engine.hasModel(name) || gateway.hasModel(name)
          ? 'model'
          : classifiers.knows(name) // loaded or not: NOT_READY beats NOT_FOUND
            ? 'classifier'
            : undefined,
      // Per request: a map lookup, not the sorted list of every skill.
      skillModel: (name) => {
        const newest = skills.registry.newest(name);
        return newest === undefined ? undefined : (newest.def.model ?? '');
      },
    };
    const pricing = compilePricing(
      config.pricing,
      config.gateway.targets,
      config.engine.models.map((m) => m.name),
    );
    const pipeline = new RequestPipeline({
      runner,
      limits: callLimits(config),
      catalogue,
      auth: auth.auth,
      limiter,
      audit,
      price: (route, model, usage) => costOfRequest(pricing, route, model, usage),
      log,
    });
    if (config.server.warmPath && busyPoll.window > 0) {
      registerWarmers(busyPoll, {
        pipeline,
        engine,
        protocol: config.protocol,
        maxFrameBytes: config.server.maxFrameBytes,
        log,
      });
      closers.push(async () => busyPoll.clearWarmers());
    }
    let ready = true;
    const health = dependencyHealth({ redis });

    const adminRoute: PlainRoute = {
      method: 'any',
      pattern: '/admin/*',
      public: true,
      handle: (req) =>
        auth.admin({
          method: req.method,
          path: req.path,
          query: req.query,
          headers: req.headers,
          body: req.body,
        }),
    };
    const obs = await startObservability(config, metrics, (k) => auth.auth.isAdmin(k), log);
    closers.push(() => obs.close());
    const ctx: ServerContext = {
      config: config.server,
      protocol: config.protocol,
      log,
      execute: (input, api, principal, sink, signal) => pipeline.execute(input, api, principal, sink, signal),
      authenticate: (credential) => auth.auth.authenticate(credential),
      models: () => [
        ...engine.pools.flatMap((p) => [p.name, ...p.aliases].map((id) => ({ id, ownedBy: 'colo-local' }))),
        ...gateway.listModels().map((m) => ({ id: m.id, ownedBy: `colo-remote:${m.provider}` })),
        ...classifiers.status().map((s) => ({ id: s.name, ownedBy: 'colo-onnx' })),
      ],
      // Not ready while shutting down or while a dependency in use (Redis) is down.
      ready: () => ready && health().ok,
      metricsText: () => metrics.render(),
      observe: obs.observe,
      extraRoutes: [
        adminRoute,
        decideRoute,
        ...classifierRoutes(classifiers),
        ...skillRoutes(skills.registry),
        ...(opts.extraRoutes?.() ?? []),
      ],
    };
    const server = new ColoServer(ctx);
    registerGauges(metrics, { engine, gateway, server });
    metrics.labels.allowModels(ctx.models().map((m) => m.id)); // only configured names become labels
    const port = await server.listen();
    log.info('colo listening', {
      host: config.server.host,
      port,
      ws: `ws://${config.server.host}:${port}/v1/ws`,
      auth: config.auth.enabled ? 'on' : 'off (loopback only)',
      redis: redis ? 'on' : 'off',
      audit: audit ? config.audit.dir : 'off',
      busyPollMs: busyPoll.window,
    });

    let shuttingDown: Promise<void> | undefined;
    const shutdown = (reason = 'shutdown') =>
      (shuttingDown ??= (async () => {
        log.info('shutting down', { reason, graceMs: config.server.shutdownGraceMs });
        ready = false;
        server.stopAccepting();
        const left = await server.drain(config.server.shutdownGraceMs);
        if (left > 0) log.warn('grace period over; cancelling requests still in flight', { requests: left });
        await server.closeAll();
        await engine.drain(100);
        for (const close of closers.reverse())
          await close().catch((e: unknown) => log.warn('close failed', { error: String(e) }));
        for (const line of metrics.summaryLines()) log.info(`latency summary: ${line}`);
        metrics.close();
      })());

    return {
      server,
      engine,
      gateway,
      auth,
      pipeline,
      metrics,
      port,
      metricsPort: obs.listenerPort,
      auditDir: audit ? config.audit.dir : undefined,
      shutdown,
      health,
    };
  } catch (err) {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    throw err;
  }
}
