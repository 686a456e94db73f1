/**
 * The admission decision, as a pure function of what is known when a request
 * arrives. Order: a cache hit is handled before this is called; then local if the
 * local scheduler predicts it finishes inside its deadline (src/engine/scheduler.ts);
 * else remote if the request may go remote; else refuse at once — DEADLINE when it
 * could not finish in time (even on an idle model, or even once a sequence frees up),
 * OVERLOADED with a retry-after when a retry then could. A request that cannot fit is
 * never admitted locally just because no remote target exists: it would only fail
 * later, slowly, having taken a sequence.
 */
import type { ErrorCode } from '../core/errors';

export interface DecisionInput {
  /** A local pool serves this model. */
  local: boolean;
  /** The local scheduler's prediction (ModelPool.predict); ignored when !local. */
  localFits: boolean;
  /** It fits only as a rate probe (predicted to miss): remote, when allowed, goes first. */
  localProbe?: boolean | undefined;
  /** Why it does not fit: DEADLINE (not in time, even retried) or OVERLOADED (not now). */
  localCode?: 'DEADLINE' | 'OVERLOADED' | undefined;
  /** Local refusal came from a full queue rather than a predicted miss. */
  localFull?: boolean | undefined;
  localRetryAfterMs?: number | undefined;
  /** Predicted local service time alone, ms (said in the DEADLINE message). */
  localNeedMs?: number | undefined;
  /** DEADLINE because busy: when a local sequence is predicted to free up, ms from now. */
  localStartMs?: number | undefined;
  /** The gateway has a target for this model and the tenant may use it. */
  remote: boolean;
  /** Deadline budget left, in ms. */
  remainingMs: number;
  /** 'local-first' (default), 'local-only' or 'remote-first'. */
  policy: RoutePolicy;
}

export type RoutePolicy = 'local-first' | 'local-only' | 'remote-first';

export type Decision =
  | { route: 'local' }
  | { route: 'remote'; reason: 'policy' | 'capacity' | 'deadline' }
  | { route: 'reject'; code: ErrorCode; message: string; retryAfterMs?: number | undefined };

export function decide(d: DecisionInput): Decision {
  if (d.remainingMs <= 0)
    return { route: 'reject', code: 'DEADLINE', message: 'deadline passed before routing' };
  if (!d.local && !d.remote)
    return {
      route: 'reject',
      code: 'MODEL_NOT_FOUND',
      message: 'no local model or remote target serves this model',
    };
  if (d.remote && (d.policy === 'remote-first' || !d.local)) return { route: 'remote', reason: 'policy' };
  // d.local is true from here.
  if (d.localFits && !(d.localProbe && d.remote && d.policy !== 'local-only')) return { route: 'local' };
  if (d.remote && d.policy !== 'local-only')
    return { route: 'remote', reason: d.localFull ? 'capacity' : 'deadline' };
  if (d.localCode === 'DEADLINE')
    return {
      route: 'reject',
      code: 'DEADLINE',
      message:
        d.localStartMs !== undefined
          ? `the local model cannot finish this request within its deadline at its current load (a sequence frees in ~${d.localStartMs} ms; predicted ${d.localNeedMs ?? '?'} ms alone) and no remote fallback is allowed`
          : `the local model cannot finish this request within its deadline (predicted ${d.localNeedMs ?? '?'} ms alone) and no remote fallback is allowed`,
    };
  return {
    route: 'reject',
    code: 'OVERLOADED',
    message: d.localFull
      ? 'local model is at capacity and no remote fallback is allowed'
      : 'local model is too busy to finish within the deadline and no remote fallback is allowed',
    retryAfterMs: d.localRetryAfterMs,
  };
}
