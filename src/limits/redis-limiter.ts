/**
 * The shared limiter: every box runs the same Lua script against one Redis, so a
 * limit of 100 is 100 across the fleet, not 100 per box. One round trip per reserve
 * and one per settle; requests whose scopes are all unlimited skip Redis entirely.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { callDependency } from '../core/dependency';
import { ColoError, type ErrorCode } from '../core/errors';
import type { LimitsConfig } from './config';
import { planScopes } from './plan';
import { QUOTA_LUA } from './redis-script';
import type { ActualUsage, Limiter, Reservation, ReserveRequest, ScopePlan } from './types';

export interface RedisLimiterOptions {
  /** Milliseconds clock; tests freeze it. Default: Redis TIME (one clock for all boxes). */
  clock?: () => number;
  /** Whether close() also quits the client. Default false. */
  ownsClient?: boolean;
}

const SHA = createHash('sha1').update(QUOTA_LUA).digest('hex');
type Reply = [number, string, string?, number?, number?];

export class RedisLimiter implements Limiter {
  private readonly tag = randomBytes(4).toString('hex');
  private seq = 0;

  constructor(
    private readonly redis: Redis,
    private readonly cfg: LimitsConfig,
    private readonly opts: RedisLimiterOptions = {},
  ) {}

  private keys(tenant: string, scopes: readonly ScopePlan[]): string[] {
    // The {tenant} hash tag keeps a request's keys in one Redis Cluster slot.
    const base = `${this.cfg.redisPrefix}{${tenant}}:`;
    const out: string[] = [];
    for (const s of scopes) out.push(base + s.name, base + s.name + ':c');
    return out;
  }

  /** One script call; a Redis that is down or unreachable fails with UNAVAILABLE (retry-after). */
  private run(keys: string[], argv: (string | number)[]): Promise<Reply> {
    return callDependency('redis (quotas)', this.redis, async () => {
      try {
        return (await this.redis.evalsha(SHA, keys.length, ...keys, ...argv)) as Reply;
      } catch (err) {
        if (!String((err as Error).message).includes('NOSCRIPT')) throw err;
        return (await this.redis.eval(QUOTA_LUA, keys.length, ...keys, ...argv)) as Reply;
      }
    });
  }

  private argv(
    op: string,
    id: string,
    r: { tokens: number; cost: number; at: number },
    actual: ActualUsage | undefined,
    scopes: readonly ScopePlan[],
  ): (string | number)[] {
    const now = this.opts.clock ? String(this.opts.clock()) : '';
    const a: (string | number)[] = [
      op,
      now,
      id,
      this.cfg.concurrencyLeaseMs,
      r.tokens,
      r.cost,
      r.at,
      actual?.tokens ?? 0,
      actual?.cost ?? 0,
    ];
    for (const s of scopes)
      a.push(
        s.quota.requestsPerMinute,
        s.quota.tokensPerMinute,
        s.quota.concurrent,
        s.quota.costBudget,
        s.quota.budgetPeriodMs,
      );
    return a;
  }

  async reserve(req: ReserveRequest): Promise<Reservation> {
    const cost = req.cost ?? 0;
    const scopes = this.cfg.enabled ? planScopes(this.cfg, req) : [];
    const id = `${this.tag}-${++this.seq}`;
    if (scopes.length === 0) {
      return {
        id,
        tenant: req.tenant,
        keyId: req.keyId,
        tokens: req.tokens,
        cost,
        at: Date.now(),
        scopes,
        settled: false,
      };
    }
    const reply = await this.run(
      this.keys(req.tenant, scopes),
      this.argv('reserve', id, { tokens: req.tokens, cost, at: 0 }, undefined, scopes),
    );
    if (reply[0] !== 1) {
      const [, code, reason, retry, idx] = reply;
      const sc = scopes[(idx ?? 1) - 1];
      throw new ColoError(
        code as ErrorCode,
        `${sc?.kind ?? 'scope'} ${reason ?? ''} limit reached (${sc?.name ?? '?'})`,
        {
          retryAfterMs: retry !== undefined && retry >= 0 ? retry : undefined,
        },
      );
    }
    return {
      id,
      tenant: req.tenant,
      keyId: req.keyId,
      tokens: req.tokens,
      cost,
      at: Number(reply[1]),
      scopes,
      settled: false,
    };
  }

  async settle(res: Reservation, actual: ActualUsage): Promise<void> {
    if (res.settled) return;
    res.settled = true;
    if (res.scopes.length === 0) return;
    await this.run(
      this.keys(res.tenant, res.scopes),
      this.argv('settle', res.id, res, { tokens: actual.tokens, cost: actual.cost ?? 0 }, res.scopes),
    );
  }

  async close(): Promise<void> {
    if (this.opts.ownsClient) await this.redis.quit();
  }
}
