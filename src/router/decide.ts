/**
 * The admission decision, as a pure function of what is known when a request
 * arrives. Order: a cache hit is handled before this is called; then local if the
 * model is local and its expected wait plus service time fits the deadline; else
 * remote if the request may go remote; else reject at once, never queue unbounded.
 */
import type { ErrorCode } from '../core/errors';

export interface DecisionInput {
  /** A local pool serves this model. */
  local: boolean;
  /** The local pool would admit it now (a free sequence or room in its queue). */
  localCapacity: boolean;
  localWaitMs: number;
  localServiceMs: number;
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
  | { route: 'reject'; code: ErrorCode; message: string };

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
  const fits = d.localWaitMs + d.localServiceMs <= d.remainingMs;
  if (d.localCapacity && (fits || !d.remote || d.policy === 'local-only')) return { route: 'local' };
  if (d.remote && d.policy !== 'local-only')
    return { route: 'remote', reason: d.localCapacity ? 'deadline' : 'capacity' };
  return {
    route: 'reject',
    code: 'OVERLOADED',
    message: 'local model is at capacity and no remote fallback is allowed',
  };
}
