import { afterEach, describe, expect, it } from 'vitest';
import { redisServerPath, startRedis } from '../helpers/redis';

describe('test Redis helper', () => {
  const saved = process.env.REDIS_SERVER;
  afterEach(() => {
    if (saved === undefined) delete process.env.REDIS_SERVER;
    else process.env.REDIS_SERVER = saved;
  });

  it('fails loudly, naming the fix, when redis-server is missing', async () => {
    process.env.REDIS_SERVER = '/nonexistent/redis-server';
    expect(() => redisServerPath()).toThrow(/redis-server not found.*\.ci\/redis\.sh install/);
    await expect(startRedis()).rejects.toThrow(/redis-server not found/);
  });

  it('starts a private server on its own port and stops it', async () => {
    const a = await startRedis();
    const b = await startRedis();
    try {
      expect(a.port).not.toBe(b.port);
      const ca = a.client();
      await ca.set('only-in-a', '1');
      expect(await b.client().get('only-in-a')).toBeNull();
    } finally {
      await a.stop();
      await b.stop();
    }
    const probe = (await import('ioredis')).Redis;
    const c = new probe(a.port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    c.on('error', () => undefined);
    await expect(c.connect()).rejects.toThrow();
    c.disconnect();
  });
});
