/**
 * The embedded LLM gateway: the router's "remote" route. Resolves a model name (an
 * alias or a target name) to an ordered list of targets, then runs the request
 * through retries, failover, hedging and breakers inside the request's one deadline.
 * Holds one keep-alive pool per HTTP target; `close()` cancels in-flight requests
 * and destroys the pools.
 */
import { performance } from 'node:perf_hooks';
import { absoluteDeadline, timerDelay } from '../core/deadline';
import { ColoError } from '../core/errors';
import type { CompletionResult, Completer, InferenceRequest, TokenSink } from '../core/types';
import { type AliasConfig, type GatewayConfig, type GatewayConfigInput, gatewayConfigSchema } from './config';
import { dispatch } from './dispatch';
import { requestChannel } from './events';
import { Planner } from './planner';
import { orderTargets } from './policy';
import { BUILTIN_PROVIDERS, ProviderRegistry } from './providers/registry';
import type { Provider } from './providers/types';
import { Target, type TargetStats } from './target';
import { Cancel, type CancelSignal } from '../core/cancel';

export interface GatewayDeps {
  /** Providers to register. Default: openai, anthropic, gemini, dummy. */
  providers?: readonly Provider[];
  /** Where `apiKeyEnv` names are looked up, once, at create. Default: process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Monotonic clock in ms; must match the `receivedAt` callers pass. Default: performance.now. */
  now?: () => number;
  /** Uniform [0, 1) for jitter and weighted picks. Default: Math.random. */
  random?: () => number;
}

export interface ModelInfo {
  id: string;
  kind: 'alias' | 'target';
  /** Provider of the first target. */
  provider: string;
  /** Target names in preference order (one for a target). */
  targets: string[];
}

/** What the router may use to decide whether remote can serve a request in time. */
export interface RemoteEstimate {
  /** At least one target may be tried now (breaker not open, not rate limited). */
  available: boolean;
  /** Best EWMA time to first token among available targets; undefined before any sample. */
  ttftMs: number | undefined;
  /** When nothing is available: how long until something may be. */
  retryAfterMs: number | undefined;
}

export interface GatewayStats {
  targets: TargetStats[];
  inFlightRequests: number;
}

interface Route {
  alias: AliasConfig;
  targets: Target[];
}

/** For callers that bring no absolute deadline (direct gateway users: tests, benches). */
const FALLBACK_DEADLINE_MS = 30_000;

export class Gateway implements Completer {
  private readonly inflight = new Set<Cancel>();
  private closed = false;

  private constructor(
    private readonly cfg: GatewayConfig,
    private readonly targets: ReadonlyMap<string, Target>,
    private readonly routes: ReadonlyMap<string, Route>,
    private readonly now: () => number,
    private readonly random: () => number,
  ) {}

  /** Validates config (schema, then names and providers) and opens one pool per HTTP target. */
  static create(config: GatewayConfigInput | GatewayConfig, deps: GatewayDeps = {}): Gateway {
    const cfg = gatewayConfigSchema.parse(config);
    const registry = new ProviderRegistry(deps.providers ?? BUILTIN_PROVIDERS);
    const env = deps.env ?? process.env;
    const now = deps.now ?? (() => performance.now());
    const random = deps.random ?? Math.random;
    const bad = (field: string, msg: string): ColoError =>
      new ColoError('INVALID_ARGUMENT', `gateway.${field}: ${msg}`, { field: `gateway.${field}` });

    const targets = new Map<string, Target>();
    const routes = new Map<string, Route>();
    try {
      cfg.targets.forEach((t, i) => {
        const provider = registry.get(t.provider);
        if (!provider)
          throw bad(
            `targets[${i}].provider`,
            `unknown provider '${t.provider}' (known: ${registry.names().join(', ')})`,
          );
        if (targets.has(t.name)) throw bad(`targets[${i}].name`, `duplicate target '${t.name}'`);
        if (!provider.endpoints.includes(t.endpoint))
          throw bad(`targets[${i}].endpoint`, `${t.provider} has no '${t.endpoint}' endpoint`);
        if (!t.baseUrl && !provider.defaultBaseUrl && provider.needsHttp)
          throw bad(`targets[${i}].baseUrl`, 'required for this provider');
        const why = provider.validateModel?.(t.model);
        if (why) throw bad(`targets[${i}].model`, why);
        if (t.apiKey && t.apiKeyEnv) throw bad(`targets[${i}]`, 'set apiKey or apiKeyEnv, not both');
        let apiKey = t.apiKey;
        if (t.apiKeyEnv) {
          // The one environment read the gateway does; the value never leaves the target.
          apiKey = env[t.apiKeyEnv];
          if (!apiKey) throw bad(`targets[${i}].apiKeyEnv`, `environment variable ${t.apiKeyEnv} is not set`);
        }
        const target = new Target(t, provider, apiKey, cfg.breaker, cfg.ewmaAlpha, now);
        targets.set(t.name, target);
        // A target is also a one-target fallback route under its own name.
        routes.set(t.name, {
          alias: { name: t.name, targets: [t.name], policy: 'fallback', hedgeDelayMs: 0, maxHedges: 0 },
          targets: [target],
        });
      });
      cfg.aliases.forEach((a, i) => {
        if (routes.has(a.name))
          throw bad(`aliases[${i}].name`, `'${a.name}' is already a target or alias name`);
        const list = a.targets.map((name, j) => {
          const t = targets.get(name);
          if (!t) throw bad(`aliases[${i}].targets[${j}]`, `unknown target '${name}'`);
          return t;
        });
        routes.set(a.name, { alias: a, targets: list });
      });
    } catch (err) {
      for (const t of targets.values()) void t.close();
      throw err;
    }
    return new Gateway(cfg, targets, routes, now, random);
  }

  /**
   * Completes `req` remotely. `req.model` is an alias or a target name. The deadline is
   * the request's absolute `deadlineAt` (made once at the edge, src/core/deadline.ts;
   * same clock as deps.now, i.e. performance.now()); a caller without one (tests,
   * benches) gets `req.deadlineMs` (0: 30 s) from `receivedAt` or from this call. It
   * covers every retry, failover and hedge.
   */
  async complete(
    req: InferenceRequest,
    sink: TokenSink | null,
    signal: CancelSignal,
    receivedAt?: number,
  ): Promise<CompletionResult> {
    const t0 = receivedAt ?? this.now();
    if (this.closed) throw new ColoError('SHUTTING_DOWN', 'gateway is closed');
    const route = this.routes.get(req.model);
    if (!route) throw new ColoError('MODEL_NOT_FOUND', `no remote model '${req.model}'`);
    // Logprobs go only to targets whose provider returns them.
    const targets =
      req.logprobs === undefined ? route.targets : route.targets.filter((t) => t.provider.logprobs === true);
    if (targets.length === 0)
      throw new ColoError(
        'INVALID_ARGUMENT',
        `logprobs: remote model '${req.model}' (${route.targets.map((t) => t.provider.name).join(', ')}) does not return logprobs`,
        { field: 'logprobs' },
      );
    if ((req.prompt === undefined) === (req.messages === undefined)) {
      throw new ColoError('INVALID_ARGUMENT', 'exactly one of prompt and messages must be set', {
        field: 'prompt',
      });
    }
    if (signal.aborted) throw new ColoError('CANCELLED', 'request cancelled');
    const deadlineAt = req.deadlineAt ?? absoluteDeadline(t0, req.deadlineMs, FALLBACK_DEADLINE_MS);
    const budget = Math.round(deadlineAt - t0);
    const left = deadlineAt - this.now();
    if (left <= 0) throw new ColoError('DEADLINE', `deadline of ${budget} ms passed before the gateway`);

    const ctl = new Cancel();
    // timerDelay: never above 2^31-1 ms, where Node would fire the timer at once.
    const timer = setTimeout(
      () => ctl.abort(new ColoError('DEADLINE', `deadline of ${budget} ms passed`)),
      timerDelay(deadlineAt, this.now()),
    );
    const onCancel = (): void => ctl.abort(new ColoError('CANCELLED', 'request cancelled'));
    signal.addEventListener('abort', onCancel, { once: true });
    this.inflight.add(ctl);
    const planner = new Planner(
      orderTargets(route.alias.policy, targets, this.random),
      this.cfg.retry,
      this.random,
    );
    try {
      const r = await dispatch({
        requestId: req.id,
        req: {
          prompt: req.prompt,
          messages: req.messages,
          sampling: req.sampling,
          responseSchema: req.responseSchema ? (JSON.parse(req.responseSchema) as unknown) : undefined,
          logprobs: req.logprobs,
        },
        planner,
        hedgeDelayMs: route.alias.hedgeDelayMs,
        maxHedges: route.alias.maxHedges,
        sink,
        signal: ctl,
        deadlineAt,
        now: this.now,
      });
      const end = this.now();
      if (r.firstTokenAt > 0) r.target.recordTtft(r.firstTokenAt - r.firstAttemptAt);
      publishRequest(
        req,
        'ok',
        undefined,
        r.target.name,
        planner.attempts,
        r.firstTokenAt ? r.firstTokenAt - t0 : undefined,
        end - t0,
      );
      return {
        id: req.id,
        text: r.text,
        finishReason: r.finishReason,
        usage: {
          promptTokens: r.promptTokens ?? 0,
          // Without upstream usage, one streamed delta is counted as one token.
          completionTokens: r.completionTokens ?? r.textChunks,
        },
        route: {
          kind: 'remote',
          provider: r.target.provider.name,
          model: r.target.config.model,
          cached: false,
        },
        timings: {
          queueUs: Math.round((r.firstAttemptAt - t0) * 1000),
          ttftUs: Math.round(((r.firstTokenAt || end) - t0) * 1000),
          totalUs: Math.round((end - t0) * 1000),
        },
        logprobs: req.logprobs === undefined ? undefined : (r.logprobs ?? []),
      };
    } catch (err) {
      const e = err instanceof ColoError ? err : new ColoError('INTERNAL', 'internal error', { cause: err });
      publishRequest(req, 'error', e.code, undefined, planner.attempts, undefined, this.now() - t0);
      throw e;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onCancel);
      this.inflight.delete(ctl);
    }
  }

  hasModel(name: string): boolean {
    return this.routes.has(name);
  }

  /** Whether some target of the model returns logprobs (a logprobs request goes to those only). */
  supportsLogprobs(name: string): boolean {
    return this.routes.get(name)?.targets.some((t) => t.provider.logprobs === true) ?? false;
  }

  listModels(): ModelInfo[] {
    return [...this.routes.values()].map((r) => ({
      id: r.alias.name,
      kind: this.targets.has(r.alias.name) ? 'target' : 'alias',
      provider: r.targets[0]!.provider.name,
      targets: r.targets.map((t) => t.name),
    }));
  }

  /** Cheap, synchronous view for the router; undefined for an unknown model. */
  estimate(name: string): RemoteEstimate | undefined {
    const route = this.routes.get(name);
    if (!route) return undefined;
    let ttft: number | undefined;
    let available = false;
    let retryAfter = Infinity;
    for (const t of route.targets) {
      const wait = Math.max(t.breaker.wouldAllow() ? 0 : t.breaker.retryInMs(), t.rateLimitedForMs());
      if (wait === 0 && t.breaker.wouldAllow()) {
        available = true;
        if (t.ewmaTtftMs !== undefined && (ttft === undefined || t.ewmaTtftMs < ttft)) ttft = t.ewmaTtftMs;
      } else {
        retryAfter = Math.min(retryAfter, wait);
      }
    }
    return {
      available,
      ttftMs: ttft,
      retryAfterMs: available || !Number.isFinite(retryAfter) ? undefined : Math.ceil(retryAfter),
    };
  }

  /** Whether the model is known and some target may be tried now. */
  canServe(name: string): boolean {
    return this.estimate(name)?.available ?? false;
  }

  stats(): GatewayStats {
    return {
      targets: [...this.targets.values()].map((t) => t.stats()),
      inFlightRequests: this.inflight.size,
    };
  }

  /** Cancels in-flight requests (they fail with SHUTTING_DOWN) and destroys the pools. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const reason = new ColoError('SHUTTING_DOWN', 'gateway is closing');
    for (const ctl of this.inflight) ctl.abort(reason);
    await Promise.all([...this.targets.values()].map((t) => t.close()));
  }
}

function publishRequest(
  req: InferenceRequest,
  outcome: 'ok' | 'error',
  code: ColoError['code'] | undefined,
  target: string | undefined,
  attempts: number,
  ttftMs: number | undefined,
  durationMs: number,
): void {
  if (!requestChannel.hasSubscribers) return;
  requestChannel.publish({
    requestId: req.id,
    model: req.model,
    outcome,
    code,
    target,
    attempts,
    ttftMs,
    durationMs,
  });
}
