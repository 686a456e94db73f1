/**
 * Issue 10 item 8: with Redis in use, readiness reflects it, and auth, quotas and the
 * cache answer a dead Redis with UNAVAILABLE + retry-after (never a raw error, a 500 or
 * a hang). Real Redis, stopped in the middle of each test and brought back on its port.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startColo, type Colo } from '../../src/app/colo';
import { generateApiKey, RedisAuthStore } from '../../src/auth';
import { CompletionCache, RedisCache, cacheConfigSchema } from '../../src/cache';
import { parseConfig } from '../../src/config';
import { dependencyState } from '../../src/core/dependency';
import { ColoError } from '../../src/core/errors';
import type { CompletionResult } from '../../src/core/types';
import { connectRedis, limitsConfigSchema, RedisLimiter } from '../../src/limits';
import { quietLog } from '../helpers/engine';
import { startRedis, type TestRedis } from '../helpers/redis';
import { waitFor } from '../helpers/wait';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function redisServer(port?: number): Promise<TestRedis> {
  const r = await startRedis({ port });
  cleanups.push(() => r.stop());
  return r;
}

async function codeOf(p: Promise<unknown>): Promise<ColoError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ColoError);
  return e as ColoError;
}

describe('a dead Redis', () => {
  it('makes quotas, auth and the cache fail with UNAVAILABLE + retry-after, then recover', async () => {
    const server = await redisServer();
    const client = await connectRedis({ url: server.url, connectTimeoutMs: 500, maxRetriesPerRequest: 1 });
    cleanups.push(async () => client.disconnect());
    const limiter = new RedisLimiter(client, limitsConfigSchema.parse({ key: { requestsPerMinute: 100 } }));
    const store = new RedisAuthStore(client, { cacheTtlMs: 0 });
    const backend = new RedisCache<CompletionResult>(client, { ttlMs: 60_000 });
    const cache = new CompletionCache(backend, cacheConfigSchema.parse({}));
    const req = {
      id: 'r',
      model: 'm',
      prompt: 'p',
      sampling: { maxTokens: 1, temperature: 0, topP: 1, stop: [] },
      deadlineMs: 0,
      priority: 0,
      stream: false,
    };

    await limiter.reserve({ tenant: 't', keyId: 'k', tokens: 1 });
    expect(await store.getKey('nope')).toBeUndefined();
    expect(await cache.lookup(req)).toBeUndefined();

    await server.stop();
    await waitFor(() => !dependencyState(client).up, 'the client to see Redis go away');

    for (const e of [
      await codeOf(limiter.reserve({ tenant: 't', keyId: 'k', tokens: 1 })),
      await codeOf(store.getKey('nope')),
      await codeOf(backend.get('x')),
    ]) {
      expect(e.code).toBe('UNAVAILABLE');
      expect(e.status).toBe(503);
      expect(e.retryAfterMs).toBeGreaterThan(0);
    }
    // The response cache degrades to a miss: the request is served without it.
    expect(await cache.lookup(req)).toBeUndefined();

    await redisServer(server.port);
    await waitFor(() => dependencyState(client).up, 'the client to reconnect');
    await expect(limiter.reserve({ tenant: 't', keyId: 'k', tokens: 1 })).resolves.toBeDefined();
  });

  it('makes /readyz say not ready and an authenticated request get 503 UNAVAILABLE with retry-after', async () => {
    const server = await redisServer();
    const dir = mkdtempSync(join(tmpdir(), 'colo-outage-'));
    const colo: Colo = await startColo(
      parseConfig({
        server: { port: 0, shutdownGraceMs: 1000 },
        audit: { enabled: false },
        auth: {
          enabled: true,
          pepper: 'outage-pepper-0123456789',
          redisCacheTtlMs: 0,
          storePath: join(dir, 'a.json'),
        },
        engine: { models: [] },
        redis: { url: server.url, connectTimeoutMs: 500 },
      }),
      quietLog,
    );
    cleanups.push(() => colo.shutdown('test end'));
    const base = `http://127.0.0.1:${colo.port}`;
    const models = () =>
      fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${generateApiKey()}` } });

    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await models()).status).toBe(401);
    expect(colo.health()).toMatchObject({ ok: true, dependencies: [{ name: 'redis', ok: true }] });

    await server.stop();
    await waitFor(() => !colo.health().ok, 'health to see Redis go away');
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    const r = await models();
    expect(r.status).toBe(503);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('UNAVAILABLE');
    // A WebSocket upgrade is refused the same way (it answered 500 before).
    const upgrade = await new Promise<{ status: number; retryAfter: string | undefined }>(
      (resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${colo.port}/v1/ws`, {
          headers: { authorization: `Bearer ${generateApiKey()}` },
        });
        ws.on('unexpected-response', (_req, res) => {
          resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
          ws.terminate();
        });
        ws.on('open', () => reject(new Error('upgrade accepted while Redis is down')));
        ws.on('error', () => undefined);
      },
    );
    expect(upgrade.status).toBe(503);
    expect(Number(upgrade.retryAfter)).toBeGreaterThan(0);

    await redisServer(server.port);
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, '/readyz to recover');
    expect((await models()).status).toBe(401);
  });
});
