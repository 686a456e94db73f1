/**
 * The embedded limiter: per-process token buckets. Single-threaded JS makes the
 * check-then-consume across the key and tenant scopes atomic without locks.
 */
import { ColoError } from '../core/errors';
import { advance, check, consume, newScopeState, settleScope, type ScopeState } from './bucket';
import type { LimitsConfig } from './config';
import { planScopes } from './plan';
import type { ActualUsage, Limiter, Reservation, ReserveRequest } from './types';

export interface MemoryLimiterOptions {
  /** Milliseconds clock; tests freeze it. Default Date.now. */
  clock?: () => number;
}

const NONE: readonly never[] = [];
/** Idle states are dropped past this many so a key-id scanner cannot grow memory. */
const SWEEP_AT = 50_000;

export class MemoryLimiter implements Limiter {
  private readonly states = new Map<string, ScopeState>();
  private readonly clock: () => number;
  private seq = 0;

  constructor(
    private readonly cfg: LimitsConfig,
    opts: MemoryLimiterOptions = {},
  ) {
    this.clock = opts.clock ?? Date.now;
  }

  async reserve(req: ReserveRequest): Promise<Reservation> {
    return this.reserveSync(req);
  }

  /** The synchronous core, exposed for the micro bench and the parity test. */
  reserveSync(req: ReserveRequest): Reservation {
    const cost = req.cost ?? 0;
    const scopes = this.cfg.enabled ? planScopes(this.cfg, req) : NONE;
    const now = this.clock();
    const res: Reservation = {
      id: `m${++this.seq}`,
      tenant: req.tenant,
      keyId: req.keyId,
      tokens: req.tokens,
      cost,
      at: now,
      scopes,
      settled: false,
    };
    if (scopes.length === 0) return res;
    if (this.states.size > SWEEP_AT) this.sweep(now);
    const states: ScopeState[] = [];
    for (const sc of scopes) {
      let s = this.states.get(sc.name);
      if (!s) {
        s = newScopeState(sc.quota, now);
        this.states.set(sc.name, s);
      }
      advance(s, sc.quota, now);
      const refusal = check(s, sc.quota, req.tokens, cost, now);
      if (refusal) {
        throw new ColoError(refusal.code, `${sc.kind} ${refusal.reason} limit reached (${sc.name})`, {
          retryAfterMs: refusal.retryAfterMs,
        });
      }
      states.push(s);
    }
    for (let i = 0; i < scopes.length; i++) consume(states[i]!, scopes[i]!.quota, req.tokens, cost);
    return res;
  }

  async settle(res: Reservation, actual: ActualUsage): Promise<void> {
    this.settleSync(res, actual);
  }

  settleSync(res: Reservation, actual: ActualUsage): void {
    if (res.settled) return;
    res.settled = true;
    if (res.scopes.length === 0) return;
    const now = this.clock();
    for (const sc of res.scopes) {
      const s = this.states.get(sc.name);
      if (s) settleScope(s, sc.quota, res, { tokens: actual.tokens, cost: actual.cost ?? 0 }, now);
    }
  }

  /** Drops states indistinguishable from a fresh one (full buckets, idle, nothing spent). */
  private sweep(now: number): void {
    for (const [name, s] of this.states) {
      if (s.inflight === 0 && s.spent === 0 && now - Math.max(s.reqTs, s.tokTs) > 60_000)
        this.states.delete(name);
    }
  }

  async close(): Promise<void> {
    this.states.clear();
  }
}
