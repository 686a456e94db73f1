/**
 * The shared auth store for several boxes: four Redis hashes (tenants, keys,
 * subscriptions, and the (keyId,target) → subscription index). Request-path reads go
 * through a small per-box cache with a TTL (`auth.redisCacheTtlMs`), which bounds how
 * long a revocation or approval takes to reach every box; writes go straight to Redis
 * and drop the local entry.
 */
import type { Redis } from 'ioredis';
import { callDependency } from '../core/dependency';
import {
  matchesFilter,
  subscriptionKey,
  type ApiKeyRecord,
  type AuthStore,
  type Subscription,
  type SubscriptionFilter,
  type SubscriptionTarget,
  type Tenant,
} from './types';

interface Cached<T> {
  value: T | undefined;
  until: number;
}

export interface RedisAuthStoreOptions {
  /** Key prefix. Default 'colo:auth:'. */
  prefix?: string;
  /** Local cache TTL for request-path reads, ms. Default 1000. */
  cacheTtlMs?: number;
  /** Whether close() also quits the client (when the store owns it). Default false. */
  ownsClient?: boolean;
}

export class RedisAuthStore implements AuthStore {
  private readonly prefix: string;
  private readonly ttl: number;
  private readonly cache = new Map<string, Cached<unknown>>();

  constructor(
    private readonly redis: Redis,
    private readonly opts: RedisAuthStoreOptions = {},
  ) {
    this.prefix = opts.prefix ?? 'colo:auth:';
    this.ttl = opts.cacheTtlMs ?? 1000;
  }

  /** Every Redis call fails with UNAVAILABLE (retry-after) while Redis is down or unreachable. */
  private call<T>(fn: () => Promise<T>): Promise<T> {
    return callDependency('redis (auth)', this.redis, fn);
  }

  private h(name: 'tenants' | 'keys' | 'subs' | 'subidx'): string {
    return this.prefix + name;
  }

  private async cached<T>(ck: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const now = Date.now();
    const hit = this.cache.get(ck);
    if (hit && hit.until > now) return hit.value as T | undefined;
    const value = await load();
    if (this.ttl > 0) {
      // Bound the cache: unknown key ids from a scanner must not grow it forever.
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(ck, { value, until: now + this.ttl });
    }
    return value;
  }

  private async hget<T>(hash: string, field: string): Promise<T | undefined> {
    const raw = await this.call(() => this.redis.hget(hash, field));
    return raw === null ? undefined : (JSON.parse(raw) as T);
  }

  private async hvals<T>(hash: string): Promise<T[]> {
    const vals = await this.call(() => this.redis.hvals(hash));
    return vals.map((v) => JSON.parse(v) as T);
  }

  getTenant(id: string): Promise<Tenant | undefined> {
    return this.cached(`t|${id}`, () => this.hget<Tenant>(this.h('tenants'), id));
  }
  async putTenant(t: Tenant): Promise<void> {
    await this.call(() => this.redis.hset(this.h('tenants'), t.id, JSON.stringify(t)));
    this.cache.delete(`t|${t.id}`);
  }
  listTenants(): Promise<Tenant[]> {
    return this.hvals<Tenant>(this.h('tenants'));
  }

  getKey(keyId: string): Promise<ApiKeyRecord | undefined> {
    return this.cached(`k|${keyId}`, () => this.hget<ApiKeyRecord>(this.h('keys'), keyId));
  }
  async putKey(k: ApiKeyRecord): Promise<void> {
    await this.call(() => this.redis.hset(this.h('keys'), k.keyId, JSON.stringify(k)));
    this.cache.delete(`k|${k.keyId}`);
  }
  async listKeys(tenant?: string): Promise<ApiKeyRecord[]> {
    const all = await this.hvals<ApiKeyRecord>(this.h('keys'));
    return all.filter((k) => tenant === undefined || k.tenant === tenant);
  }

  getSubscription(id: string): Promise<Subscription | undefined> {
    return this.hget<Subscription>(this.h('subs'), id);
  }
  findSubscription(keyId: string, target: SubscriptionTarget): Promise<Subscription | undefined> {
    const sk = subscriptionKey(keyId, target);
    return this.cached(`s|${sk}`, async () => {
      const id = await this.call(() => this.redis.hget(this.h('subidx'), sk));
      return id === null ? undefined : this.hget<Subscription>(this.h('subs'), id);
    });
  }
  async putSubscription(s: Subscription): Promise<void> {
    const sk = subscriptionKey(s.keyId, s.target);
    await this.call(() =>
      this.redis
        .multi()
        .hset(this.h('subs'), s.id, JSON.stringify(s))
        .hset(this.h('subidx'), sk, s.id)
        .exec(),
    );
    this.cache.delete(`s|${sk}`);
  }
  async listSubscriptions(filter?: SubscriptionFilter): Promise<Subscription[]> {
    const all = await this.hvals<Subscription>(this.h('subs'));
    return all.filter((s) => matchesFilter(s, filter));
  }

  async close(): Promise<void> {
    this.cache.clear();
    if (this.opts.ownsClient) await this.redis.quit();
  }
}
