import type { Quota, QuotaOverride } from './config';

/** One bucket set a request is charged against: the key, or the tenant. */
export interface ScopePlan {
  /** 'key' or 'tenant'. */
  kind: 'key' | 'tenant';
  /** Stable name, e.g. 'key:colo_ab12cd34' or 'tenant:acme'. */
  name: string;
  /** The merged quota; here `costBudget` is in micro-dollars (config gives USD). */
  quota: Quota;
}

export interface ReserveRequest {
  tenant: string;
  keyId: string;
  /** Tokens to hold until settle: prompt tokens (or an estimate) + max_tokens. */
  tokens: number;
  /**
   * Cost to hold against the budget until settle, in integer micro-dollars (`costOf`
   * of the expected route and prompt + max_tokens). Default 0: only an already spent
   * budget refuses, and the real cost lands at settle.
   */
  cost?: number | undefined;
  /** Per-request overrides (e.g. from the tenant record); win over config. */
  overrides?: { tenant?: QuotaOverride | undefined; key?: QuotaOverride | undefined } | undefined;
}

/** What `reserve` hands back; pass it to `settle` exactly once (later calls are no-ops). */
export interface Reservation {
  readonly id: string;
  readonly tenant: string;
  readonly keyId: string;
  readonly tokens: number;
  readonly cost: number;
  /** Limiter clock (ms) at reserve time; decides which budget period the hold is in. */
  readonly at: number;
  readonly scopes: readonly ScopePlan[];
  settled: boolean;
}

export interface ActualUsage {
  /** Tokens really used (prompt + completion). */
  tokens: number;
  /** Real cost in integer micro-dollars (`costOf(pricing, result.route, usage)`). Default 0. */
  cost?: number | undefined;
}

/**
 * Checks and consumes quota. `reserve` throws RATE_LIMITED (with retryAfterMs) or
 * QUOTA_EXCEEDED (cost budget spent); it is atomic across the key and tenant scopes:
 * either every bucket is charged or none.
 */
export interface Limiter {
  reserve(req: ReserveRequest): Promise<Reservation>;
  /** Refunds or charges the difference to actual usage and frees the concurrency slot. */
  settle(res: Reservation, actual: ActualUsage): Promise<void>;
  close(): Promise<void>;
}
