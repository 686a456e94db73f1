import { z } from 'zod';

export const cacheConfigSchema = z.strictObject({
  /** Whether exact-match response caching is on. Default true. */
  enabled: z.boolean().default(true),
  /** How long an entry lives, ms. Default 300000 (5 minutes). */
  ttlMs: z.number().int().min(1).default(300_000),
  /** Most entries in the embedded cache. Default 10000. */
  maxEntries: z.number().int().min(1).default(10_000),
  /** Most bytes (serialized results) in the embedded cache. Default 67108864 (64 MiB). */
  maxBytes: z
    .number()
    .int()
    .min(1024)
    .default(64 << 20),
  /**
   * Whether requests that sample randomly (temperature > 0 and no seed) are cached too.
   * Default false: only temperature 0 or a fixed seed, whose answer is reproducible.
   */
  cacheNonDeterministic: z.boolean().default(false),
  /** Redis key prefix for the shared cache. Default 'colo:cache:'. */
  redisPrefix: z.string().default('colo:cache:'),
});
export type CacheConfig = z.infer<typeof cacheConfigSchema>;
