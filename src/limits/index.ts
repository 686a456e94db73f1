/** Quotas: per key and per tenant, embedded or shared through Redis. See README.md. */
import type { Redis } from 'ioredis';
import type { LimitsConfig } from './config';
import { MemoryLimiter } from './memory-limiter';
import { RedisLimiter } from './redis-limiter';
import type { Limiter } from './types';

export {
  limitsConfigSchema,
  quotaSchema,
  quotaOverrideSchema,
  type LimitsConfig,
  type Quota,
  type QuotaOverride,
} from './config';
export { MemoryLimiter, type MemoryLimiterOptions } from './memory-limiter';
export { RedisLimiter, type RedisLimiterOptions } from './redis-limiter';
export { planScopes } from './plan';
export {
  compilePricing,
  costOf,
  costOfRequest,
  priceOf,
  pricingConfigSchema,
  priceSchema,
  usdToMicros,
  type Price,
  type PricedRoute,
  type PricedTarget,
  type Pricing,
  type PricingConfig,
} from './pricing';
export { connectRedis, redisConfigSchema, type RedisConfig } from './redis';
export type * from './types';

/** The Redis limiter when a client is given (top-level `redis.url`), else the embedded one. */
export function createLimiter(cfg: LimitsConfig, opts: { redis?: Redis | undefined } = {}): Limiter {
  return opts.redis ? new RedisLimiter(opts.redis, cfg) : new MemoryLimiter(cfg);
}
