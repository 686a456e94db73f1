/** Exact-match response cache. See README.md. */
import type { Redis } from 'ioredis';
import type { Logger } from '../core/log';
import type { CompletionResult } from '../core/types';
import { CompletionCache } from './completion-cache';
import type { CacheConfig } from './config';
import { LruCache } from './lru';
import { RedisCache } from './redis-cache';

export { cacheConfigSchema, type CacheConfig } from './config';
export { CompletionCache, toHit } from './completion-cache';
export { cacheKey, canonicalJson, canonicalRequest } from './key';
export { LruCache, type LruOptions } from './lru';
export {
  CACHE_ERROR_CHANNEL,
  CacheErrorReporter,
  type CacheErrorEvent,
  type CacheErrorReporterOptions,
} from './errors';
export { RedisCache, type RedisCacheOptions } from './redis-cache';
export type { CacheBackend, CacheStats } from './types';

/** Redis-backed when a client is given (top-level `redis.url`), else the embedded LRU. */
export function createCompletionCache(
  cfg: CacheConfig,
  opts: { redis?: Redis | undefined; log?: Logger | undefined } = {},
): CompletionCache {
  const backend = opts.redis
    ? new RedisCache<CompletionResult>(opts.redis, { prefix: cfg.redisPrefix, ttlMs: cfg.ttlMs })
    : new LruCache<CompletionResult>({
        maxEntries: cfg.maxEntries,
        maxBytes: cfg.maxBytes,
        ttlMs: cfg.ttlMs,
      });
  return new CompletionCache(backend, cfg, { log: opts.log });
}
