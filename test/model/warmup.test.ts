/**
 * The warm-up that measures admission's rates (src/engine/load.ts), on the real model:
 * the full warm-up and the quick one (taken when the first run is slow; forced here with
 * `warmupQuickAfterMs: 0`) both leave a complete, sane set of rates and every sequence
 * empty.
 */
import { describe, expect, it } from 'vitest';
import { loadLocalModel } from '../../src/engine/load';
import { tinyWorkerInit } from '../helpers/models';

describe.each([
  ['full', undefined],
  ['quick', 0],
])('the %s warm-up', (_name, warmupQuickAfterMs) => {
  it('measures every rate admission starts from and leaves the sequences empty', async () => {
    const m = await loadLocalModel(
      tinyWorkerInit({
        flashAttention: false,
        kvCacheType: 'f16',
        warmupTokens: 16,
        warmupQuickAfterMs,
      }),
    );
    try {
      expect(m.info.warmupQuick).toBe(warmupQuickAfterMs === 0);
      const r = m.info.rates!;
      expect(r).toBeDefined();
      for (const v of [r.prefillMsPerToken, r.stepMs1, r.stepMsFull, r.stepMs2!, r.stepGrowth!]) {
        expect(Number.isFinite(v)).toBe(true);
      }
      expect(r.stepMs1).toBeGreaterThan(0);
      expect(r.stepMsFull).toBeGreaterThan(0);
      // Four sequences: the two-stream anchor is measured too.
      expect(r.stepMs2).toBeGreaterThan(0);
      expect(r.prefillMsPerToken).toBeGreaterThanOrEqual(0);
      expect(r.stepGrowth).toBeGreaterThanOrEqual(0);
      expect(m.gate.size).toBe(0);
      expect(m.sequences.available).toBe(m.sequences.size);
    } finally {
      await m.context.dispose();
      await m.model.dispose();
    }
  });
});
