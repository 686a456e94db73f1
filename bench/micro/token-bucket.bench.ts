/**
 * Embedded quota check-and-consume (MemoryLimiter) — runs on every request.
 *
 *   node bench/lib/run.mjs bench/micro/token-bucket.bench.ts
 *
 * Each call reserves and settles 100 requests; figures in the JSON are per
 * reserve+settle pair. Limits are set high enough that nothing is refused, so the
 * full path (two scopes: key and tenant, four quota kinds) is timed.
 */
import { limitsConfigSchema, MemoryLimiter } from '../../src/limits';
import { runMicro } from '../lib';

const BATCH = 100;
const full = new MemoryLimiter(
  limitsConfigSchema.parse({
    key: { requestsPerMinute: 1e12, tokensPerMinute: 1e15, concurrent: 1e9, costBudget: 1e12 },
    tenant: { requestsPerMinute: 1e12, tokensPerMinute: 1e15, concurrent: 1e9, costBudget: 1e12 },
  }),
);
const rpmOnly = new MemoryLimiter(limitsConfigSchema.parse({ key: { requestsPerMinute: 1e12 } }));
const unlimited = new MemoryLimiter(limitsConfigSchema.parse({}));
const keys = Array.from({ length: 64 }, (_, i) => `colo_k${String(i).padStart(7, '0')}`);

function loop(lim: MemoryLimiter): void {
  for (let i = 0; i < BATCH; i++) {
    const r = lim.reserveSync({ tenant: 'acme', keyId: keys[i & 63]!, tokens: 256, cost: 0.001 });
    lim.settleSync(r, { tokens: 100, cost: 0.0004 });
  }
}

await runMicro(
  'token-bucket',
  [
    { name: 'reserve+settle, key+tenant, all 4 quotas', fn: () => loop(full), batch: BATCH },
    { name: 'reserve+settle, key rpm only', fn: () => loop(rpmOnly), batch: BATCH },
    { name: 'reserve+settle, no quotas (fast path)', fn: () => loop(unlimited), batch: BATCH },
  ],
  {
    check: () => {
      // The answer first: 1000 reservations against 100/min with a frozen clock → exactly 100.
      const lim = new MemoryLimiter(limitsConfigSchema.parse({ key: { requestsPerMinute: 100 } }), {
        clock: () => 0,
      });
      let ok = 0;
      for (let i = 0; i < 1000; i++) {
        try {
          lim.reserveSync({ tenant: 't', keyId: 'k', tokens: 1 });
          ok++;
        } catch {
          // refused
        }
      }
      if (ok !== 100) throw new Error(`granted ${ok}, want 100`);
      // And settle refunds: a 1000-token bucket, reserve 600, settle 100 → 900 free.
      const t = new MemoryLimiter(limitsConfigSchema.parse({ key: { tokensPerMinute: 1000 } }), {
        clock: () => 0,
      });
      t.settleSync(t.reserveSync({ tenant: 't', keyId: 'k', tokens: 600 }), { tokens: 100 });
      t.reserveSync({ tenant: 't', keyId: 'k', tokens: 900 });
    },
    meta: { batch: BATCH },
  },
);
