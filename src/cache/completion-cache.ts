/**
 * The response cache the router consults: decides what is cacheable, stores
 * CompletionResults under the canonical request key, and turns a stored result into
 * a hit (route.kind 'cache', cached true, the new request's id and timings).
 */
import { performance } from 'node:perf_hooks';
import { cacheChannel } from '../core/events';
import type { CompletionResult, InferenceRequest, Timings } from '../core/types';
import type { CacheConfig } from './config';
import { cacheKey } from './key';
import { CacheErrorReporter, type CacheErrorReporterOptions } from './errors';
import type { CacheBackend } from './types';

export class CompletionCache {
  private readonly errors: CacheErrorReporter;

  constructor(
    private readonly backend: CacheBackend<CompletionResult>,
    private readonly cfg: CacheConfig,
    opts: CacheErrorReporterOptions = {},
  ) {
    this.errors = new CacheErrorReporter(backend.constructor.name, opts);
  }

  /**
   * Whether the request's answer is reproducible enough to reuse: greedy
   * (temperature 0) or a fixed seed, unless `cacheNonDeterministic` is set.
   */
  isCacheable(req: InferenceRequest): boolean {
    if (!this.cfg.enabled) return false;
    if (this.cfg.cacheNonDeterministic) return true;
    return req.sampling.temperature === 0 || req.sampling.seed !== undefined;
  }

  /** The tenant the entry belongs to: entries are never shared across tenants. */
  private tenantOf(req: InferenceRequest): string {
    return req.tenant ?? '';
  }

  key(req: InferenceRequest): string {
    return cacheKey(req, this.tenantOf(req));
  }

  /**
   * A hit as the answer to `req`, or undefined. Never throws: a broken cache is a miss
   * (published on `colo:cache:error`, logged rate-limited).
   */
  async lookup(req: InferenceRequest): Promise<CompletionResult | undefined> {
    if (!this.isCacheable(req)) return undefined;
    let stored: CompletionResult | undefined;
    try {
      stored = await this.backend.get(this.key(req));
    } catch (err) {
      if (cacheChannel.hasSubscribers) cacheChannel.publish({ hit: false, error: true });
      this.errors.report('get', err);
      return undefined;
    }
    if (cacheChannel.hasSubscribers) cacheChannel.publish({ hit: stored !== undefined });
    return stored ? toHit(stored, req) : undefined;
  }

  /** Stores a finished result; cancelled, timed-out and failed answers are not reused. */
  async store(req: InferenceRequest, result: CompletionResult): Promise<void> {
    if (!this.isCacheable(req)) return;
    if (result.finishReason !== 'stop' && result.finishReason !== 'length') return;
    if (result.route.cached) return;
    try {
      await this.backend.set(this.key(req), result, this.cfg.ttlMs);
    } catch (err) {
      // A cache that cannot store is only slower; the request already has its answer.
      this.errors.report('set', err);
    }
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}

/** Re-addresses a stored result to the request now asking. */
export function toHit(stored: CompletionResult, req: InferenceRequest, timings?: Timings): CompletionResult {
  let t = timings;
  if (!t) {
    const us =
      req.receivedAt === undefined ? 0 : Math.max(0, Math.round((performance.now() - req.receivedAt) * 1000));
    t = { queueUs: 0, ttftUs: us, totalUs: us };
  }
  return {
    id: req.id,
    text: stored.text,
    finishReason: stored.finishReason,
    usage: { ...stored.usage },
    route: { kind: 'cache', provider: stored.route.provider, model: stored.route.model, cached: true },
    timings: t,
  };
}
