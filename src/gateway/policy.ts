/**
 * Orders an alias's targets for one request. The order is a preference: the planner
 * still skips targets whose breaker is open or that asked us to wait.
 * - fallback: config order.
 * - weighted: a weighted random permutation (Efraimidis–Spirakis: key = u^(1/w),
 *   sorted descending), so the first pick is proportional to weight and the
 *   failover order stays weighted too.
 * - least-latency: ascending EWMA of time to first token; targets with no sample yet
 *   sort first so they get measured.
 */
import type { AliasConfig } from './config';
import type { Target } from './target';

export type Policy = AliasConfig['policy'];

export function orderTargets(policy: Policy, targets: readonly Target[], random: () => number): Target[] {
  if (targets.length <= 1 || policy === 'fallback') return targets.slice();
  if (policy === 'least-latency') {
    // Stable sort: ties keep config order.
    return targets.slice().sort((a, b) => (a.ewmaTtftMs ?? -1) - (b.ewmaTtftMs ?? -1));
  }
  const keyed = targets.map((t) => {
    const w = t.config.weight;
    return { t, key: w > 0 ? Math.pow(random(), 1 / w) : -1 };
  });
  keyed.sort((a, b) => b.key - a.key);
  return keyed.map((k) => k.t);
}
