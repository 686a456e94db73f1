/**
 * The quota arithmetic for one scope, as pure functions over a small state record.
 * The embedded limiter runs these directly; `redis-script.ts` is the same algorithm in
 * Lua, and test/integration/limits-redis.test.ts checks the two agree step by step.
 *
 *  - requests and tokens: token buckets holding up to the per-minute limit, refilled
 *    continuously at limit/60000 per ms, starting full;
 *  - tokens are taken at reserve time (a request larger than the whole bucket is let
 *    through only when the bucket is full, and leaves it in debt) and the difference
 *    to actual usage is given back or taken at settle;
 *  - concurrency: a counter of unsettled reservations;
 *  - cost: spend in the current epoch-aligned period; a new period starts at zero.
 */
import type { Quota } from './config';

export const MINUTE_MS = 60_000;

export interface ScopeState {
  reqLevel: number;
  reqTs: number;
  tokLevel: number;
  tokTs: number;
  inflight: number;
  spent: number;
  period: number;
}

export const newScopeState = (q: Quota, now: number): ScopeState => ({
  reqLevel: q.requestsPerMinute,
  reqTs: now,
  tokLevel: q.tokensPerMinute,
  tokTs: now,
  inflight: 0,
  spent: 0,
  period: Math.floor(now / q.budgetPeriodMs),
});

/** Why a scope refused: the code the caller sees and when to retry. */
export interface Refusal {
  code: 'RATE_LIMITED' | 'QUOTA_EXCEEDED';
  reason: 'requests' | 'tokens' | 'concurrency' | 'budget';
  retryAfterMs: number | undefined;
}

const refill = (level: number, ts: number, cap: number, now: number): number =>
  now > ts ? Math.min(cap, level + ((now - ts) * cap) / MINUTE_MS) : level;

/** Brings the state to `now` (refills, period roll-over) without charging anything. */
export function advance(s: ScopeState, q: Quota, now: number): void {
  if (q.requestsPerMinute > 0) {
    s.reqLevel = refill(s.reqLevel, s.reqTs, q.requestsPerMinute, now);
    s.reqTs = Math.max(s.reqTs, now);
  }
  if (q.tokensPerMinute > 0) {
    s.tokLevel = refill(s.tokLevel, s.tokTs, q.tokensPerMinute, now);
    s.tokTs = Math.max(s.tokTs, now);
  }
  const period = Math.floor(now / q.budgetPeriodMs);
  if (period !== s.period) {
    s.period = period;
    s.spent = 0;
  }
}

/** Checks one scope after `advance`; undefined means it would admit the request. */
export function check(
  s: ScopeState,
  q: Quota,
  tokens: number,
  cost: number,
  now: number,
): Refusal | undefined {
  if (q.requestsPerMinute > 0 && s.reqLevel < 1) {
    return {
      code: 'RATE_LIMITED',
      reason: 'requests',
      retryAfterMs: Math.ceil(((1 - s.reqLevel) * MINUTE_MS) / q.requestsPerMinute),
    };
  }
  if (q.tokensPerMinute > 0) {
    const need = Math.min(tokens, q.tokensPerMinute);
    if (s.tokLevel < need) {
      return {
        code: 'RATE_LIMITED',
        reason: 'tokens',
        retryAfterMs: Math.ceil(((need - s.tokLevel) * MINUTE_MS) / q.tokensPerMinute),
      };
    }
  }
  if (q.concurrent > 0 && s.inflight >= q.concurrent) {
    return { code: 'RATE_LIMITED', reason: 'concurrency', retryAfterMs: undefined };
  }
  if (q.costBudget > 0 && (s.spent >= q.costBudget || s.spent + cost > q.costBudget)) {
    return {
      code: 'QUOTA_EXCEEDED',
      reason: 'budget',
      retryAfterMs: (s.period + 1) * q.budgetPeriodMs - now,
    };
  }
  return undefined;
}

/** Charges one scope (after every scope passed `check`). */
export function consume(s: ScopeState, q: Quota, tokens: number, cost: number): void {
  if (q.requestsPerMinute > 0) s.reqLevel -= 1;
  if (q.tokensPerMinute > 0) s.tokLevel -= tokens;
  if (q.concurrent > 0) s.inflight += 1;
  if (q.costBudget > 0) s.spent += cost;
}

/** Settles one scope: refund/charge the token and cost differences, free the slot. */
export function settleScope(
  s: ScopeState,
  q: Quota,
  r: { tokens: number; cost: number; at: number },
  actual: { tokens: number; cost: number },
  now: number,
): void {
  advance(s, q, now);
  if (q.tokensPerMinute > 0) s.tokLevel = Math.min(q.tokensPerMinute, s.tokLevel + r.tokens - actual.tokens);
  if (q.concurrent > 0) s.inflight = Math.max(0, s.inflight - 1);
  if (q.costBudget > 0) {
    // The hold was charged to the reserve-time period; if that period is over, only
    // the real cost lands in the current one.
    const held = Math.floor(r.at / q.budgetPeriodMs) === s.period ? r.cost : 0;
    s.spent = Math.max(0, s.spent + actual.cost - held);
  }
}
