/** Which quotas apply to a request: config defaults ← config overrides ← request overrides. */
import { invalidArgument } from '../core/errors';
import type { LimitsConfig, Quota, QuotaOverride } from './config';
import { usdToMicros } from './pricing';
import type { ReserveRequest, ScopePlan } from './types';

/** Merges overrides, then turns `costBudget` from USD (config) into micro-dollars (what is counted). */
function merge(base: Quota, ...over: (QuotaOverride | undefined)[]): Quota {
  const q = { ...base };
  for (const o of over) {
    if (!o) continue;
    for (const [k, v] of Object.entries(o)) if (v !== undefined) (q as Record<string, number>)[k] = v;
  }
  q.costBudget = usdToMicros(q.costBudget);
  return q;
}

export function isUnlimited(q: Quota): boolean {
  return q.requestsPerMinute === 0 && q.tokensPerMinute === 0 && q.concurrent === 0 && q.costBudget === 0;
}

/** The scopes to charge, key first; unlimited scopes are left out so they cost nothing. */
export function planScopes(cfg: LimitsConfig, req: ReserveRequest): ScopePlan[] {
  // A NaN or negative amount would poison a shared bucket for everyone after it.
  if (!(req.tokens >= 0) || !Number.isFinite(req.tokens))
    throw invalidArgument('tokens', 'must be a finite number >= 0');
  if (req.cost !== undefined && (!(req.cost >= 0) || !Number.isFinite(req.cost)))
    throw invalidArgument('cost', 'must be a finite number >= 0');
  const out: ScopePlan[] = [];
  const key = merge(cfg.key, cfg.keys[req.keyId], req.overrides?.key);
  if (!isUnlimited(key)) out.push({ kind: 'key', name: `key:${req.keyId}`, quota: key });
  const tenant = merge(cfg.tenant, cfg.tenants[req.tenant], req.overrides?.tenant);
  if (!isUnlimited(tenant)) out.push({ kind: 'tenant', name: `tenant:${req.tenant}`, quota: tenant });
  return out;
}
