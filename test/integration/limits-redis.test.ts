import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ColoError } from '../../src/core/errors';
import {
  compilePricing,
  costOf,
  limitsConfigSchema,
  MemoryLimiter,
  pricingConfigSchema,
  RedisLimiter,
  type LimitsConfig,
  type Reservation,
} from '../../src/limits';
import { startRedis, type TestRedis } from '../helpers/redis';

const ROOT = resolve(__dirname, '../..');
const T0 = 1_700_000_000_000;

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

async function outcomes(ps: Promise<Reservation>[]): Promise<{ ok: Reservation[]; codes: string[] }> {
  const rs = await Promise.allSettled(ps);
  const ok: Reservation[] = [];
  const codes: string[] = [];
  for (const r of rs) {
    if (r.status === 'fulfilled') ok.push(r.value);
    else if (r.reason instanceof ColoError) codes.push(r.reason.code);
    else throw r.reason;
  }
  return { ok, codes };
}

describe('RedisLimiter', () => {
  it('grants exactly 100 of 1000 concurrent reservations against 100 requests/min', async () => {
    const lim = new RedisLimiter(redis, limitsConfigSchema.parse({ key: { requestsPerMinute: 100 } }), {
      clock: () => T0,
    });
    const { ok, codes } = await outcomes(
      Array.from({ length: 1000 }, () => lim.reserve({ tenant: 't', keyId: 'k', tokens: 5 })),
    );
    expect(ok).toHaveLength(100);
    expect(codes).toHaveLength(900);
    expect(new Set(codes)).toEqual(new Set(['RATE_LIMITED']));
  });

  it('grants exactly the concurrency limit on the Redis clock and frees slots on settle', async () => {
    const lim = new RedisLimiter(redis, limitsConfigSchema.parse({ tenant: { concurrent: 100 } }));
    const { ok } = await outcomes(
      Array.from({ length: 1000 }, (_, i) => lim.reserve({ tenant: 't', keyId: `k${i % 5}`, tokens: 1 })),
    );
    expect(ok).toHaveLength(100);
    await Promise.all(ok.slice(0, 30).map((r) => lim.settle(r, { tokens: 1 })));
    const again = await outcomes(
      Array.from({ length: 100 }, () => lim.reserve({ tenant: 't', keyId: 'k', tokens: 1 })),
    );
    expect(again.ok).toHaveLength(30);
  });

  it('frees a concurrency slot whose lease ran out (a box died before settling)', async () => {
    let now = T0;
    const cfg = limitsConfigSchema.parse({ key: { concurrent: 1 }, concurrencyLeaseMs: 5000 });
    const lim = new RedisLimiter(redis, cfg, { clock: () => now });
    await lim.reserve({ tenant: 't', keyId: 'k', tokens: 1 });
    await expect(lim.reserve({ tenant: 't', keyId: 'k', tokens: 1 })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    });
    now += 5001;
    await expect(lim.reserve({ tenant: 't', keyId: 'k', tokens: 1 })).resolves.toBeDefined();
  });

  it('makes the same decisions as the embedded limiter, step by step', async () => {
    // A seeded mix of reserves, settles and clock steps across two keys of one tenant.
    const cfg: LimitsConfig = limitsConfigSchema.parse({
      key: { requestsPerMinute: 20, tokensPerMinute: 2000, concurrent: 6 },
      tenant: { requestsPerMinute: 30, costBudget: 1.5, budgetPeriodMs: 60_000 },
    });
    let now = T0;
    const mem = new MemoryLimiter(cfg, { clock: () => now });
    const red = new RedisLimiter(redis, cfg, { clock: () => now });
    let seed = 42;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const open: [Reservation, Reservation][] = [];
    const log: string[] = [];
    for (let step = 0; step < 400; step++) {
      const x = rnd();
      if (x < 0.55) {
        const req = {
          tenant: 't',
          keyId: rnd() < 0.5 ? 'a' : 'b',
          tokens: Math.floor(rnd() * 400) + 1,
          cost: Math.round(rnd() * 10) * 10_000,
        };
        const m = await mem.reserve(req).catch((e: ColoError) => e);
        const r = await red.reserve(req).catch((e: ColoError) => e);
        const sig = (v: Reservation | ColoError): string =>
          v instanceof ColoError ? `${v.code}:${v.retryAfterMs}:${v.message}` : 'ok';
        expect(sig(r), `step ${step}`).toBe(sig(m));
        log.push(sig(m));
        if (!(m instanceof ColoError) && !(r instanceof ColoError)) open.push([m, r]);
      } else if (x < 0.85 && open.length > 0) {
        const [m, r] = open.splice(Math.floor(rnd() * open.length), 1)[0]!;
        const actual = { tokens: Math.floor(rnd() * m.tokens * 1.2), cost: Math.round(rnd() * 10) * 10_000 };
        await mem.settle(m, actual);
        await red.settle(r, actual);
      } else {
        now += Math.floor(rnd() * 4000);
      }
    }
    // The sequence must have exercised both admits and every kind of refusal.
    expect(log.filter((l) => l === 'ok').length).toBeGreaterThan(20);
    expect(log.some((l) => l.includes('requests limit'))).toBe(true);
    expect(log.some((l) => l.includes('concurrency limit'))).toBe(true);
    expect(log.some((l) => l.startsWith('QUOTA_EXCEEDED'))).toBe(true);
  });

  it('enforces a cost budget exactly across two boxes (two limiters, two clients) per key and tenant', async () => {
    // $0.01 per tenant = 10,000 µ$; each request holds and spends 300 µ$ (costOf of its
    // route): exactly 33 of 200 concurrent requests fit, whichever box they land on.
    const cfg = limitsConfigSchema.parse({ tenant: { costBudget: 0.01 }, key: { costBudget: 0.006 } });
    const boxA = new RedisLimiter(server.client(), cfg);
    const boxB = new RedisLimiter(server.client(), cfg);
    const pricing = compilePricing(
      pricingConfigSchema.parse({ targets: { oai: { inputPerMTok: 0.15, outputPerMTok: 0.6 } } }),
      [{ name: 'oai', provider: 'openai', model: 'gpt-4o-mini' }],
      [],
    );
    const route = { kind: 'remote', provider: 'openai', model: 'gpt-4o-mini', target: 'oai' } as const;
    const usage = { promptTokens: 1000, completionTokens: 250 };
    const cost = costOf(pricing, route, usage);
    expect(cost).toBe(300);
    const { ok, codes } = await outcomes(
      Array.from({ length: 200 }, (_, i) =>
        (i % 2 ? boxA : boxB).reserve({ tenant: 't', keyId: `k${i % 4}`, tokens: 0, cost }),
      ),
    );
    expect(ok).toHaveLength(33);
    expect(new Set(codes)).toEqual(new Set(['QUOTA_EXCEEDED']));
    // No key went past its own $0.006 = 20 requests.
    const perKey = new Map<string, number>();
    for (const r of ok) perKey.set(r.keyId, (perKey.get(r.keyId) ?? 0) + 1);
    for (const n of perKey.values()) expect(n).toBeLessThanOrEqual(20);
    // Settling with the real (smaller) cost refunds the difference on every box.
    for (const [i, r] of ok.entries())
      await (i % 2 ? boxA : boxB).settle(r, {
        tokens: 0,
        cost: costOf(pricing, route, { ...usage, completionTokens: 0 }),
      });
    // Spend is now 33 · 150 = 4950 µ$: 5050 µ$ left = 16 more requests at 300.
    const again = await outcomes(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 ? boxB : boxA).reserve({ tenant: 't', keyId: `k${i % 4}`, tokens: 0, cost }),
      ),
    );
    expect(again.ok).toHaveLength(16);
    const refused = await boxA
      .reserve({ tenant: 't', keyId: 'k0', tokens: 0, cost })
      .catch((e: ColoError) => e);
    expect(refused).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect((refused as ColoError).retryAfterMs).toBeGreaterThan(0);
  });

  it('shares one limit exactly across two separate processes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'colo-limits-child-'));
    try {
      // .mts: outside the repo's package.json the child must say it is ESM itself, and it
      // loads ioredis through the repo's resolver.
      const child = join(dir, 'child.mts');
      writeFileSync(
        child,
        `import { createRequire } from 'node:module';
import { RedisLimiter, limitsConfigSchema } from ${JSON.stringify(join(ROOT, 'src/limits/index.ts'))};
const { Redis } = createRequire(${JSON.stringify(join(ROOT, 'package.json'))})('ioredis');
const redis = new Redis(Number(process.env.PORT), '127.0.0.1');
const cfg = limitsConfigSchema.parse({ key: { requestsPerMinute: 100 }, tenant: { concurrent: 150 } });
const lim = new RedisLimiter(redis, cfg, { clock: () => ${T0} });
await redis.ping();
process.stdout.write('ready\\n');
process.stdin.once('data', async () => {
  const rs = await Promise.allSettled(Array.from({ length: 600 }, () => lim.reserve({ tenant: 't', keyId: 'shared', tokens: 1 })));
  const granted = rs.filter((r) => r.status === 'fulfilled').length;
  const codes = [...new Set(rs.filter((r) => r.status === 'rejected').map((r) => r.reason.code))];
  process.stdout.write(JSON.stringify({ granted, codes }) + '\\n');
  await redis.quit();
  process.exit(0);
});
`,
      );
      const procs = [0, 1].map(() =>
        spawn(process.execPath, ['--import', 'tsx', child], {
          cwd: ROOT,
          env: { ...process.env, PORT: String(server.port) },
          stdio: ['pipe', 'pipe', 'inherit'],
        }),
      );
      const lines = procs.map((p) => {
        let buf = '';
        const waiters: [(l: string) => void, (e: Error) => void][] = [];
        // A child that dies fails the test at once instead of timing out.
        p.once('exit', (code) => {
          for (const [, rej] of waiters.splice(0)) rej(new Error(`child exited with ${code}`));
        });
        p.stdout!.on('data', (d: Buffer) => {
          buf += d.toString();
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            waiters.shift()?.[0](line);
          }
        });
        return () => new Promise<string>((res, rej) => waiters.push([res, rej]));
      });
      const ready = lines.map((next) => next());
      expect(await Promise.all(ready)).toEqual(['ready', 'ready']);
      const results = lines.map((next) => next());
      for (const p of procs) p.stdin!.write('go\n');
      const out = (await Promise.all(results)).map(
        (l) => JSON.parse(l) as { granted: number; codes: string[] },
      );
      // Both raced for the same key bucket; together they got exactly the limit.
      expect(out[0]!.granted + out[1]!.granted).toBe(100);
      expect(out.flatMap((o) => o.codes)).toContain('RATE_LIMITED');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('connectRedis', () => {
  it('connects by URL and refuses a bad one at start-up', async () => {
    const { connectRedis, redisConfigSchema } = await import('../../src/limits');
    const c = await connectRedis(redisConfigSchema.parse({ url: server.url }));
    expect(await c.ping()).toBe('PONG');
    await c.quit();
    expect(() => redisConfigSchema.parse({ url: 'http://x' })).toThrow();
    // A port nobody listens on (the test server's port + 1 may be taken; use 1).
    await expect(
      connectRedis(
        redisConfigSchema.parse({
          url: 'redis://127.0.0.1:1',
          connectTimeoutMs: 500,
          maxRetriesPerRequest: 0,
        }),
      ),
    ).rejects.toThrow();
  });
});
