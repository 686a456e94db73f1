/**
 * The shared Redis connection for the cross-cutting modules. When the top-level
 * `redis` section is present, auth, limits and cache switch to their Redis backends
 * (one client can serve all three; audit stays local to each box by design).
 */
import { Redis } from 'ioredis';
import { z } from 'zod';

export const redisConfigSchema = z.strictObject({
  /** `redis://[user:pass@]host:port[/db]`; `rediss://` for TLS. Required. */
  url: z.string().regex(/^rediss?:\/\//, 'expected redis:// or rediss://'),
  /** Connect timeout, ms. Default 2000. */
  connectTimeoutMs: z.number().int().min(1).default(2000),
  /** Per-command retries before a call fails (and the caller fails its request). Default 1. */
  maxRetriesPerRequest: z.number().int().min(0).default(1),
});
export type RedisConfig = z.infer<typeof redisConfigSchema>;

/** Connects and waits until Redis answers, so a wrong URL stops the start instead of the first request. */
export async function connectRedis(cfg: RedisConfig): Promise<Redis> {
  const client = new Redis(cfg.url, {
    connectTimeout: cfg.connectTimeoutMs,
    maxRetriesPerRequest: cfg.maxRetriesPerRequest,
    lazyConnect: true,
  });
  // Connection errors also surface on the commands that fail (and so on requests);
  // without a listener ioredis would print each reconnect attempt, URL included.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    throw err;
  }
  return client;
}
