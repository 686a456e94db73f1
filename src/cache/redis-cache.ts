/**
 * The shared cache for several boxes: one Redis string per entry, expired by Redis
 * (PX). Size is bounded by the Redis server's own maxmemory policy (use allkeys-lru
 * for a cache-only instance), not here.
 */
import type { Redis } from 'ioredis';
import { callDependency } from '../core/dependency';
import type { CacheBackend } from './types';

export interface RedisCacheOptions {
  /** Key prefix. Default 'colo:cache:'. */
  prefix?: string;
  /** Default TTL, ms. */
  ttlMs: number;
  /** Whether close() also quits the client. Default false. */
  ownsClient?: boolean;
}

export class RedisCache<V> implements CacheBackend<V> {
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis,
    private readonly opts: RedisCacheOptions,
  ) {
    this.prefix = opts.prefix ?? 'colo:cache:';
  }

  /** Every call fails with UNAVAILABLE (retry-after) while Redis is down or unreachable. */
  private call<T>(fn: () => Promise<T>): Promise<T> {
    return callDependency('redis (cache)', this.redis, fn);
  }

  async get(key: string): Promise<V | undefined> {
    const raw = await this.call(() => this.redis.get(this.prefix + key));
    return raw === null ? undefined : (JSON.parse(raw) as V);
  }

  async set(key: string, value: V, ttlMs = this.opts.ttlMs): Promise<void> {
    await this.call(() => this.redis.set(this.prefix + key, JSON.stringify(value), 'PX', ttlMs));
  }

  async delete(key: string): Promise<void> {
    await this.call(() => this.redis.del(this.prefix + key));
  }

  /** Deletes this prefix's keys only (SCAN, never FLUSHDB: the instance may be shared). */
  async clear(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.call(() =>
        this.redis.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 500),
      );
      cursor = next;
      if (keys.length > 0) await this.call(() => this.redis.del(...keys));
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    if (this.opts.ownsClient) await this.redis.quit();
  }
}
