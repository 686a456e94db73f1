import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheConfigSchema, CompletionCache, RedisCache } from '../../src/cache';
import type { CompletionResult, InferenceRequest } from '../../src/core/types';
import { startRedis, type TestRedis } from '../helpers/redis';
import { waitFor } from '../helpers/wait';

let server: TestRedis;
let redis: Redis;
beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
});
afterAll(async () => server?.stop());

const req: InferenceRequest = {
  id: 'a',
  model: 'fast',
  messages: [{ role: 'user', content: 'TSLA recalls 2M cars' }],
  sampling: { maxTokens: 8, temperature: 0, topP: 1, seed: undefined, stop: [] },
  deadlineMs: 0,
  priority: 0,
  stream: true,
  tenant: 'acme',
};
const result: CompletionResult = {
  id: 'a',
  text: 'bearish',
  finishReason: 'stop',
  usage: { promptTokens: 9, completionTokens: 1 },
  route: { kind: 'local', provider: 'local', model: 'stories260K', cached: false },
  timings: { queueUs: 1, ttftUs: 2, totalUs: 3 },
};

describe('RedisCache', () => {
  it('shares entries between boxes (two caches, one Redis)', async () => {
    const cfg = cacheConfigSchema.parse({});
    const boxA = new CompletionCache(new RedisCache<CompletionResult>(redis, { ttlMs: 60_000 }), cfg);
    const boxB = new CompletionCache(
      new RedisCache<CompletionResult>(server.client(), { ttlMs: 60_000 }),
      cfg,
    );
    await boxA.store(req, result);
    const hit = await boxB.lookup({ ...req, id: 'b' });
    expect(hit).toMatchObject({
      id: 'b',
      text: 'bearish',
      route: { kind: 'cache', cached: true, model: 'stories260K' },
    });
  });

  it('lets Redis expire entries by TTL', async () => {
    const c = new RedisCache<string>(redis, { prefix: 'ttl:', ttlMs: 60_000 });
    // Long enough that a loaded machine still reads the key before it expires.
    await c.set('k', 'v', 1500);
    const ttl = await redis.pttl('ttl:k');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1500);
    expect(await c.get('k')).toBe('v');
    // Redis expires on its own clock; wait for the expiry, never a fixed sleep.
    await waitFor(async () => (await redis.pttl('ttl:k')) === -2, 'Redis to expire ttl:k');
    expect(await c.get('k')).toBeUndefined();
  });

  it('clear() removes only its own prefix', async () => {
    await redis.set('other:keep', '1');
    const c = new RedisCache<number>(redis, { prefix: 'mine:', ttlMs: 60_000 });
    for (let i = 0; i < 1200; i++) await c.set(`k${i}`, i);
    await c.clear();
    expect(await redis.keys('mine:*')).toEqual([]);
    expect(await redis.get('other:keep')).toBe('1');
  });
});
