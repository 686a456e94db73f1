import { describe, expect, it } from 'vitest';
import { ColoError } from '../../src/core/errors';
import { limitsConfigSchema, MemoryLimiter, planScopes, type Reservation } from '../../src/limits';

const T0 = 1_700_000_000_000;

function frozen(start = T0): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

async function settleAll<T>(ps: Promise<T>[]): Promise<{ ok: T[]; errors: ColoError[] }> {
  const rs = await Promise.allSettled(ps);
  const ok: T[] = [];
  const errors: ColoError[] = [];
  for (const r of rs) {
    if (r.status === 'fulfilled') ok.push(r.value);
    else if (r.reason instanceof ColoError) errors.push(r.reason);
    else throw r.reason;
  }
  return { ok, errors };
}

describe('planScopes', () => {
  it('leaves unlimited scopes out and applies overrides in order', () => {
    const cfg = limitsConfigSchema.parse({
      key: { requestsPerMinute: 10 },
      tenants: { acme: { concurrent: 3 } },
    });
    expect(planScopes(cfg, { tenant: 'other', keyId: 'k', tokens: 1 }).map((s) => s.name)).toEqual(['key:k']);
    const p = planScopes(cfg, {
      tenant: 'acme',
      keyId: 'k',
      tokens: 1,
      overrides: { key: { requestsPerMinute: 5 } },
    });
    expect(p.map((s) => [s.name, s.quota.requestsPerMinute, s.quota.concurrent])).toEqual([
      ['key:k', 5, 0],
      ['tenant:acme', 0, 3],
    ]);
    expect(planScopes(limitsConfigSchema.parse({}), { tenant: 't', keyId: 'k', tokens: 1 })).toEqual([]);
  });
});

describe('MemoryLimiter', () => {
  it('grants exactly 100 of 1000 concurrent reservations against 100 requests/min', async () => {
    const clk = frozen();
    const lim = new MemoryLimiter(limitsConfigSchema.parse({ key: { requestsPerMinute: 100 } }), {
      clock: clk.now,
    });
    const { ok, errors } = await settleAll(
      Array.from({ length: 1000 }, () => lim.reserve({ tenant: 't', keyId: 'k', tokens: 10 })),
    );
    expect(ok).toHaveLength(100);
    expect(errors).toHaveLength(900);
    expect(errors.every((e) => e.code === 'RATE_LIMITED')).toBe(true);
    // One request refills in 60000/100 ms.
    expect(errors[0]!.retryAfterMs).toBe(600);
    clk.advance(600);
    await expect(lim.reserve({ tenant: 't', keyId: 'k', tokens: 10 })).resolves.toBeDefined();
    await expect(lim.reserve({ tenant: 't', keyId: 'k', tokens: 10 })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    });
  });

  it('grants exactly the concurrency limit and frees slots on settle', async () => {
    const lim = new MemoryLimiter(limitsConfigSchema.parse({ tenant: { concurrent: 100 } }));
    const { ok, errors } = await settleAll(
      Array.from({ length: 1000 }, (_, i) => lim.reserve({ tenant: 't', keyId: `k${i % 7}`, tokens: 1 })),
    );
    expect(ok).toHaveLength(100);
    expect(errors[0]?.code).toBe('RATE_LIMITED');
    await lim.settle(ok[0]!, { tokens: 1 });
    await lim.settle(ok[0]!, { tokens: 1 }); // idempotent: frees one slot, not two
    const again = await settleAll(
      Array.from({ length: 10 }, () => lim.reserve({ tenant: 't', keyId: 'k', tokens: 1 })),
    );
    expect(again.ok).toHaveLength(1);
  });

  it('reserves max tokens up front and refunds the unused part on settle', async () => {
    const clk = frozen();
    const lim = new MemoryLimiter(limitsConfigSchema.parse({ key: { tokensPerMinute: 1000 } }), {
      clock: clk.now,
    });
    const a = await lim.reserve({ tenant: 't', keyId: 'k', tokens: 600 });
    // 400 left: a 600-token request must wait for 200 tokens = 12000 ms of refill.
    const refused = await lim.reserve({ tenant: 't', keyId: 'k', tokens: 600 }).catch((e: ColoError) => e);
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 12_000 });
    await lim.settle(a, { tokens: 100 }); // 500 refunded → 900 left
    const b = await lim.reserve({ tenant: 't', keyId: 'k', tokens: 900 });
    await expect(lim.reserve({ tenant: 't', keyId: 'k', tokens: 1 })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    });
    // Using more than reserved charges the overrun: the bucket goes into debt.
    await lim.settle(b, { tokens: 1000 });
    const r = await lim.reserve({ tenant: 't', keyId: 'k', tokens: 1 }).catch((e: ColoError) => e);
    // 0 + 900 reserved - 1000 used = -100: 101 tokens short at 1000/min = 6060 ms.
    expect(r).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 6060 });
  });

  it('lets a request bigger than the whole bucket through only when it is full', async () => {
    const clk = frozen();
    const lim = new MemoryLimiter(limitsConfigSchema.parse({ key: { tokensPerMinute: 100 } }), {
      clock: clk.now,
    });
    const big = await lim.reserve({ tenant: 't', keyId: 'k', tokens: 500 });
    await expect(lim.reserve({ tenant: 't', keyId: 'k', tokens: 500 })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    });
    await lim.settle(big, { tokens: 50 }); // 450 refunded onto -400 → 50: not full yet
    await expect(lim.reserve({ tenant: 't', keyId: 'k', tokens: 500 })).rejects.toMatchObject({
      retryAfterMs: 30_000,
    });
    clk.advance(30_000);
    await expect(lim.reserve({ tenant: 't', keyId: 'k', tokens: 500 })).resolves.toBeDefined();
  });

  it('enforces the cost budget (USD in config, micro-dollars counted) per period with QUOTA_EXCEEDED until the next period', async () => {
    const clk = frozen(Math.floor(T0 / 3_600_000) * 3_600_000 + 1000);
    const lim = new MemoryLimiter(
      limitsConfigSchema.parse({ tenant: { costBudget: 1, budgetPeriodMs: 3_600_000 } }),
      { clock: clk.now },
    );
    const a = await lim.reserve({ tenant: 't', keyId: 'k', tokens: 1, cost: 400_000 });
    await lim.settle(a, { tokens: 1, cost: 900_000 });
    const b = await lim.reserve({ tenant: 't', keyId: 'k', tokens: 1, cost: 100_000 });
    const refused = await lim
      .reserve({ tenant: 't', keyId: 'k', tokens: 1, cost: 50_000 })
      .catch((e: ColoError) => e);
    expect(refused).toMatchObject({ code: 'QUOTA_EXCEEDED', retryAfterMs: 3_600_000 - 1000 });
    await lim.settle(b, { tokens: 1, cost: 0 }); // refund: spent back to $0.90
    await expect(lim.reserve({ tenant: 't', keyId: 'k', tokens: 1, cost: 50_000 })).resolves.toBeDefined();
    clk.advance(3_600_000);
    await expect(lim.reserve({ tenant: 't', keyId: 'k', tokens: 1, cost: 1_000_000 })).resolves.toBeDefined();
  });

  it('charges key and tenant atomically: a refusal by one scope charges neither', async () => {
    const clk = frozen();
    const lim = new MemoryLimiter(
      limitsConfigSchema.parse({ key: { requestsPerMinute: 2 }, tenant: { requestsPerMinute: 3 } }),
      { clock: clk.now },
    );
    const got: Reservation[] = [];
    got.push(await lim.reserve({ tenant: 't', keyId: 'a', tokens: 1 }));
    got.push(await lim.reserve({ tenant: 't', keyId: 'a', tokens: 1 }));
    // Key 'a' is out; its refusals must not drain the tenant bucket.
    for (let i = 0; i < 5; i++)
      await expect(lim.reserve({ tenant: 't', keyId: 'a', tokens: 1 })).rejects.toMatchObject({
        code: 'RATE_LIMITED',
      });
    got.push(await lim.reserve({ tenant: 't', keyId: 'b', tokens: 1 }));
    // Now the tenant (3) is out even though key 'b' has room.
    await expect(lim.reserve({ tenant: 't', keyId: 'b', tokens: 1 })).rejects.toThrow(/tenant/);
    expect(got).toHaveLength(3);
  });

  it('rejects NaN or negative amounts instead of poisoning the bucket', async () => {
    const lim = new MemoryLimiter(limitsConfigSchema.parse({ key: { tokensPerMinute: 100 } }));
    await expect(lim.reserve({ tenant: 't', keyId: 'k', tokens: Number.NaN })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'tokens',
    });
    await expect(lim.reserve({ tenant: 't', keyId: 'k', tokens: 1, cost: -1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'cost',
    });
    await expect(lim.reserve({ tenant: 't', keyId: 'k', tokens: 100 })).resolves.toBeDefined();
  });

  it('does nothing when disabled', async () => {
    const lim = new MemoryLimiter(
      limitsConfigSchema.parse({ enabled: false, key: { requestsPerMinute: 1 } }),
    );
    for (let i = 0; i < 5; i++) await lim.reserve({ tenant: 't', keyId: 'k', tokens: 1 });
  });
});
