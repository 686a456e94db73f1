/**
 * A failing cache backend is a miss (lookup) or a no-op (store), never a failed
 * request. But it is not silent: each failure is published on `colo:cache:error`
 * (metrics count them; src/metrics subscribes) and its cause is logged — once, then at
 * most once per `logEveryMs`, with how many were not logged in between, so a dead Redis
 * does not flood the log at request rate.
 */
import diagnostics from 'node:diagnostics_channel';
import { toColoError, type ErrorCode } from '../core/errors';
import type { Logger } from '../core/log';

export const CACHE_ERROR_CHANNEL = 'colo:cache:error';

/** One backend failure. Never carries keys, values or request text. */
export interface CacheErrorEvent {
  op: 'get' | 'set';
  /** The stable code (UNAVAILABLE for a dead Redis; INTERNAL for anything unexpected). */
  code: ErrorCode;
  /** The backend's class name (RedisCache, LruCache). */
  backend: string;
}

const channel = diagnostics.channel(CACHE_ERROR_CHANNEL);

export interface CacheErrorReporterOptions {
  log?: Logger | undefined;
  /** Shortest gap between two log lines. Default 10000 ms. */
  logEveryMs?: number | undefined;
  /** Milliseconds clock; tests drive it. Default Date.now. */
  clock?: (() => number) | undefined;
}

export class CacheErrorReporter {
  private lastLogAt = -Infinity;
  private suppressed = 0;
  private readonly every: number;
  private readonly clock: () => number;

  constructor(
    private readonly backend: string,
    private readonly opts: CacheErrorReporterOptions = {},
  ) {
    this.every = opts.logEveryMs ?? 10_000;
    this.clock = opts.clock ?? Date.now;
  }

  report(op: CacheErrorEvent['op'], err: unknown): void {
    const e = toColoError(err);
    if (channel.hasSubscribers)
      channel.publish({ op, code: e.code, backend: this.backend } satisfies CacheErrorEvent);
    if (!this.opts.log) return;
    const now = this.clock();
    if (now - this.lastLogAt < this.every) {
      this.suppressed++;
      return;
    }
    const cause = e.cause instanceof Error ? e.cause.message : undefined;
    this.opts.log.warn('cache backend failed; serving without the cache', {
      op,
      backend: this.backend,
      code: e.code,
      error: e.message,
      cause,
      suppressedSinceLast: this.suppressed,
    });
    this.lastLogAt = now;
    this.suppressed = 0;
  }
}
