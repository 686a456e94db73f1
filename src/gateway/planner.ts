/**
 * Per-request bookkeeping of which target to try next and when. Failover to another
 * target is immediate; a retry of the same target waits its backoff (full jitter)
 * and at least any `retry-after` the upstream sent. A target that failed for a
 * non-transient reason is not retried (but others still are). Targets whose breaker
 * is open, or that asked everyone to wait (429 + retry-after), are skipped.
 */
import { ColoError } from '../core/errors';
import { backoffMs } from './backoff';
import type { RetryConfig } from './config';
import { UpstreamFailure } from './providers/failure';
import type { Target } from './target';

interface Slot {
  target: Target;
  attempts: number;
  running: boolean;
  excluded: boolean;
  /** now() before which this request will not retry the target. */
  notBefore: number;
}

export type Plan =
  { kind: 'start'; target: Target } | { kind: 'wait'; ms: number; target: Target } | { kind: 'none' };

/** Whether an error says trying again (here or elsewhere) may succeed. */
export function isTransient(err: ColoError): boolean {
  if (err instanceof UpstreamFailure) return err.transient;
  return (
    err.code === 'UPSTREAM_TIMEOUT' ||
    err.code === 'UPSTREAM_UNAVAILABLE' ||
    err.code === 'STREAM_TRUNCATED' ||
    err.code === 'UPSTREAM_ERROR'
  );
}

export class Planner {
  private readonly slots: Slot[];
  private readonly failures: ColoError[] = [];
  private started = 0;
  private skippedOpen = false;
  private skippedRateLimited = false;

  constructor(
    order: readonly Target[],
    private readonly retry: RetryConfig,
    private readonly random: () => number,
  ) {
    this.slots = order.map((target) => ({
      target,
      attempts: 0,
      running: false,
      excluded: false,
      notBefore: 0,
    }));
  }

  get attempts(): number {
    return this.started;
  }

  /**
   * The next target to start now, or how long until one may start. With `noWait`
   * (hedging) only a target startable right now counts. Starting takes the breaker's
   * permission, so the caller must report the attempt's end to the breaker.
   */
  next(now: number, noWait = false): Plan {
    if (this.started >= this.retry.maxAttempts) return { kind: 'none' };
    let waitUntil = Infinity;
    let waitTarget: Target | undefined;
    // Fewest attempts first, policy order within a level: a target that just failed
    // goes behind every target not tried yet, even when its backoff happens to be 0.
    for (let level = 0; level < this.retry.maxAttemptsPerTarget; level++) {
      for (const s of this.slots) {
        if (s.attempts !== level || s.running || s.excluded) continue;
        const t = s.target;
        if (!t.breaker.wouldAllow()) {
          this.skippedOpen = true;
          continue;
        }
        if (t.rateLimitedUntil - now > this.retry.maxRetryAfterMs) {
          this.skippedRateLimited = true;
          continue;
        }
        const readyAt = Math.max(s.notBefore, t.rateLimitedUntil);
        if (readyAt <= now) {
          if (!t.breaker.tryAcquire()) {
            this.skippedOpen = true;
            continue;
          }
          s.attempts++;
          s.running = true;
          this.started++;
          return { kind: 'start', target: t };
        }
        if (readyAt < waitUntil) {
          waitUntil = readyAt;
          waitTarget = t;
        }
      }
    }
    if (noWait || waitTarget === undefined) return { kind: 'none' };
    return { kind: 'wait', ms: Math.ceil(waitUntil - now), target: waitTarget };
  }

  /** An attempt ended without a usable answer; decides when (if ever) its target may go again. */
  onFailure(target: Target, err: ColoError, now: number): void {
    const s = this.slot(target);
    s.running = false;
    this.failures.push(err);
    if (err.code === 'RATE_LIMITED') {
      if (err.retryAfterMs !== undefined)
        target.rateLimitedUntil = Math.max(target.rateLimitedUntil, now + err.retryAfterMs);
      s.notBefore = now + Math.max(err.retryAfterMs ?? 0, backoffMs(this.retry, s.attempts - 1, this.random));
    } else if (isTransient(err)) {
      s.notBefore = now + Math.max(err.retryAfterMs ?? 0, backoffMs(this.retry, s.attempts - 1, this.random));
    } else {
      s.excluded = true;
    }
  }

  /** An attempt was aborted (hedge lost, or the request ended): frees the slot, no verdict. */
  onAborted(target: Target): void {
    this.slot(target).running = false;
  }

  /**
   * The error a request ends with when no target can answer in time. All-429 gives
   * RATE_LIMITED with the soonest retry; only open circuits give CIRCUIT_OPEN;
   * otherwise the latest failure, which names the real cause.
   */
  finalError(now: number): ColoError {
    const retryIn = this.soonestRetryMs(now);
    if (this.failures.length > 0 && this.failures.every((e) => e.code === 'RATE_LIMITED')) {
      return new ColoError('RATE_LIMITED', 'every upstream target is rate limited', {
        retryAfterMs: retryIn,
        cause: this.failures.at(-1),
      });
    }
    if (this.failures.length > 0) return this.failures.at(-1)!;
    if (this.skippedRateLimited && !this.skippedOpen) {
      return new ColoError('RATE_LIMITED', 'every upstream target is rate limited', {
        retryAfterMs: retryIn,
      });
    }
    if (this.skippedOpen || this.skippedRateLimited) {
      return new ColoError('CIRCUIT_OPEN', 'every upstream target is unavailable (circuit open)', {
        retryAfterMs: retryIn,
      });
    }
    return new ColoError('UPSTREAM_UNAVAILABLE', 'no upstream target could be tried');
  }

  private soonestRetryMs(now: number): number | undefined {
    let best = Infinity;
    for (const s of this.slots) {
      const t = s.target;
      const ms = Math.max(t.breaker.retryInMs(), t.rateLimitedUntil - now, s.notBefore - now, 0);
      if (ms < best) best = ms;
    }
    return Number.isFinite(best) ? Math.ceil(best) : undefined;
  }

  private slot(target: Target): Slot {
    const s = this.slots.find((x) => x.target === target);
    if (!s) throw new Error(`target ${target.name} is not in this plan`);
    return s;
  }
}
