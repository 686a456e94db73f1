import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  authConfigSchema,
  Authenticator,
  createAdminHandler,
  generateApiKey,
  hashApiKey,
  RedisAuthStore,
} from '../../src/auth';
import { startRedis, type TestRedis } from '../helpers/redis';

const PEPPER = 'redis-test-pepper-42';
const ADMIN = generateApiKey();
const cfg = authConfigSchema.parse({
  enabled: true,
  pepper: PEPPER,
  adminKeyHashes: [hashApiKey(ADMIN, PEPPER)],
});
const admin = { authorization: `Bearer ${ADMIN}` };

let server: TestRedis;
let redis: Redis;
beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
});
afterAll(async () => server?.stop());
beforeEach(async () => {
  await redis.flushall();
});

describe('RedisAuthStore', () => {
  it('a key created and approved on one box works on another; revocation reaches it', async () => {
    const boxA = new Authenticator(new RedisAuthStore(redis, { cacheTtlMs: 0 }), cfg);
    const boxB = new Authenticator(new RedisAuthStore(server.client(), { cacheTtlMs: 0 }), cfg);
    const adminA = createAdminHandler(boxA);
    expect(
      (
        await adminA({
          method: 'POST',
          path: '/admin/tenants',
          headers: admin,
          body: { id: 'acme', models: ['fast'] },
        })
      ).status,
    ).toBe(201);
    const created = (
      await adminA({ method: 'POST', path: '/admin/keys', headers: admin, body: { tenant: 'acme' } })
    ).body as { key: string; keyId: string };
    const p = await boxB.authenticate(`Bearer ${created.key}`);
    expect(p.tenant).toBe('acme');
    await expect(boxB.authorize(p, { model: 'fast' })).rejects.toMatchObject({
      code: 'SUBSCRIPTION_REQUIRED',
    });

    const sub = (
      await adminA({
        method: 'POST',
        path: '/admin/subscriptions',
        headers: admin,
        body: { keyId: created.keyId, model: 'fast' },
      })
    ).body as { id: string };
    await expect(boxB.authorize(p, { model: 'fast' })).rejects.toMatchObject({
      code: 'SUBSCRIPTION_PENDING',
    });
    await adminA({ method: 'POST', path: `/admin/subscriptions/${sub.id}/approve`, headers: admin });
    await expect(boxB.authorize(p, { model: 'fast' })).resolves.toBeUndefined();

    const listed = (
      await adminA({ method: 'GET', path: '/admin/subscriptions?state=approved&tenant=acme', headers: admin })
    ).body as { subscriptions: unknown[] };
    expect(listed.subscriptions).toHaveLength(1);

    await adminA({ method: 'DELETE', path: `/admin/keys/${created.keyId}`, headers: admin });
    await expect(boxB.authenticate(`Bearer ${created.key}`)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    // Only the hash is in Redis.
    const raw = JSON.stringify(await redis.hgetall('colo:auth:keys'));
    expect(raw).not.toContain(created.key);
    expect(raw).toContain(hashApiKey(created.key, PEPPER));
  });

  it('the per-box read cache is dropped on that box’s own writes', async () => {
    const store = new RedisAuthStore(redis, { cacheTtlMs: 60_000 });
    const t = {
      id: 't',
      name: 't',
      models: ['a'],
      skills: [],
      allowRemote: true,
      disabled: false,
      createdAt: 'now',
    };
    await store.putTenant(t);
    expect((await store.getTenant('t'))?.models).toEqual(['a']);
    await store.putTenant({ ...t, models: ['b'] });
    expect((await store.getTenant('t'))?.models).toEqual(['b']);
    // And it really caches: a write behind its back is not seen within the TTL.
    await redis.hset('colo:auth:tenants', 't', JSON.stringify({ ...t, models: ['c'] }));
    expect((await store.getTenant('t'))?.models).toEqual(['b']);
  });
});
