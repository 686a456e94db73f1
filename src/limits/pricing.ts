/**
 * Prices and the cost of one request. Prices are configured per gateway target and per
 * local model, in USD per million tokens (input and output separately); a request's
 * cost is computed in integer micro-dollars, the unit the limiter's budgets, the result
 * (`costMicros`), the audit record and the metrics all use.
 *
 * USD per million tokens is numerically micro-dollars per token, so
 * cost = promptTokens · inputPerMTok + completionTokens · outputPerMTok (µ$), rounded up
 * to a whole micro-dollar so a priced request never costs 0.
 */
import { z } from 'zod';
import { invalidArgument } from '../core/errors';
import type { Route, Usage } from '../core/types';

export const priceSchema = z.strictObject({
  /** USD per million prompt (input) tokens. Default 0. */
  inputPerMTok: z.number().min(0).max(1e6).default(0),
  /** USD per million completion (output) tokens. Default 0. */
  outputPerMTok: z.number().min(0).max(1e6).default(0),
});
export type Price = z.infer<typeof priceSchema>;

export const pricingConfigSchema = z.strictObject({
  /** Prices by gateway target name (gateway.targets[].name). Default {}: unpriced targets cost 0. */
  targets: z.record(z.string(), priceSchema).default({}),
  /** Prices by local model name (engine.models[].name). Default {}: local models cost 0. */
  models: z.record(z.string(), priceSchema).default({}),
});
export type PricingConfig = z.infer<typeof pricingConfigSchema>;

/** What pricing needs to know about a gateway target. */
export interface PricedTarget {
  name: string;
  provider: string;
  model: string;
}

/** Prices compiled for lookup by route; build once with `compilePricing`. */
export interface Pricing {
  readonly byTarget: ReadonlyMap<string, Price>;
  /** `provider\0model` → price, for routes that do not name their target. */
  readonly byUpstream: ReadonlyMap<string, Price>;
  readonly local: ReadonlyMap<string, Price>;
}

/** A route to price: the result's route, optionally naming the gateway target that answered. */
export type PricedRoute = Pick<Route, 'kind' | 'provider' | 'model'> & { target?: string | undefined };

const FREE: Price = Object.freeze({ inputPerMTok: 0, outputPerMTok: 0 });
const upstreamKey = (provider: string, model: string): string => `${provider}\0${model}`;
const dearer = (a: Price | undefined, b: Price): Price =>
  !a
    ? b
    : {
        inputPerMTok: Math.max(a.inputPerMTok, b.inputPerMTok),
        outputPerMTok: Math.max(a.outputPerMTok, b.outputPerMTok),
      };

/**
 * Checks every priced name against the configured targets and local models (a typo
 * would silently make a target free) and indexes the prices. Two targets with the same
 * provider and upstream model but different prices are told apart by `route.target`;
 * without it the dearer price applies, so a budget is never undercounted.
 */
export function compilePricing(
  cfg: PricingConfig,
  targets: readonly PricedTarget[],
  localModels: readonly string[],
): Pricing {
  const byTarget = new Map<string, Price>();
  const byUpstream = new Map<string, Price>();
  const known = new Map(targets.map((t) => [t.name, t]));
  for (const [name, price] of Object.entries(cfg.targets)) {
    const t = known.get(name);
    if (!t) throw invalidArgument(`pricing.targets.${name}`, `no gateway target named '${name}'`);
    byTarget.set(name, price);
    const k = upstreamKey(t.provider, t.model);
    byUpstream.set(k, dearer(byUpstream.get(k), price));
  }
  const locals = new Set(localModels);
  const local = new Map<string, Price>();
  for (const [name, price] of Object.entries(cfg.models)) {
    if (!locals.has(name)) throw invalidArgument(`pricing.models.${name}`, `no local model named '${name}'`);
    local.set(name, price);
  }
  return { byTarget, byUpstream, local };
}

/** The price that applies to a route; cache hits are free (nothing ran). */
export function priceOf(pricing: Pricing, route: PricedRoute): Price {
  switch (route.kind) {
    case 'cache':
      return FREE;
    case 'local':
      return pricing.local.get(route.model) ?? FREE;
    case 'remote':
      return (
        (route.target !== undefined ? pricing.byTarget.get(route.target) : undefined) ??
        pricing.byUpstream.get(upstreamKey(route.provider, route.model)) ??
        FREE
      );
  }
}

/**
 * The cost of one request in micro-dollars (an integer): pure, no I/O. Pass the usage
 * actually consumed, also for a request that ended early (cancel, deadline, error).
 */
export function costOf(pricing: Pricing, route: PricedRoute, usage: Usage): number {
  const p = priceOf(pricing, route);
  const micros = usage.promptTokens * p.inputPerMTok + usage.completionTokens * p.outputPerMTok;
  // Float error (0.15 · 1000 = 150.00000000000003) must not round a cent's fraction up.
  return micros <= 0 ? 0 : Math.ceil(micros - 1e-6);
}

/**
 * The cost of a request that may have ended before a result named its route (cancel,
 * disconnect, deadline, shutdown): priced by its route when known, else by the model
 * name it asked for when that names a priced local model or gateway target, else 0.
 */
export function costOfRequest(
  pricing: Pricing,
  route: PricedRoute | undefined,
  model: string,
  usage: Usage,
): number {
  if (route) return costOf(pricing, route, usage);
  if (pricing.local.has(model)) return costOf(pricing, { kind: 'local', provider: 'local', model }, usage);
  if (pricing.byTarget.has(model))
    return costOf(pricing, { kind: 'remote', provider: '', model: '', target: model }, usage);
  return 0;
}

/** USD (config) → integer micro-dollars (what the limiter counts). */
export const usdToMicros = (usd: number): number => (usd > 0 ? Math.max(1, Math.round(usd * 1e6)) : 0);
