import { describe, expect, it } from 'vitest';
import { eventStudy, horizonLabel } from '../../src/replay/eventstudy';
import { asOf, firstAtOrAfter, parsePrices } from '../../src/replay/prices';

// ts in ms: prices for AAA every minute from 0; BBB sparse.
const prices = parsePrices(
  [
    'ts,ticker,price',
    '0,AAA,100',
    '60000,AAA,101',
    '120000,AAA,99',
    '300000,AAA,102',
    '60000,bbb,50',
    '180000,BBB,49',
  ].join('\n'),
);

describe('prices', () => {
  it('finds as-of and first-after points', () => {
    const s = prices.get('AAA')!;
    expect(asOf(s, 119_999)).toBe(1);
    expect(asOf(s, -1)).toBe(-1);
    expect(firstAtOrAfter(s, 60_000)).toBe(1);
    expect(firstAtOrAfter(s, 60_001)).toBe(2);
    expect(firstAtOrAfter(s, 300_001)).toBe(-1);
  });
});

describe('eventStudy', () => {
  it('matches a hand-computed case, net of round-trip costs', () => {
    const r = eventStudy(
      [
        // Long AAA at t=0: entry 100; 1m → 101 (+100 bps); 2m → 99 (−100 bps)
        { ts: 0, ticker: 'AAA', direction: 1, confidence: 0.9 },
        // Short AAA at t=30s: entry at 60s = 101; 1m → 99: +198.02 bps; 2m → as-of 180s = 99: +198.02 bps
        { ts: 30_000, ticker: 'AAA', direction: -1, confidence: 0.8 },
        // Short BBB at 0: entry 50 at 60s; 1m → as-of 120s = 50 (0 bps); 2m → 49 (+200 bps)
        { ts: 0, ticker: 'BBB', direction: -1, confidence: 0.7 },
        { ts: 0, ticker: 'AAA', direction: 0, confidence: 0.9 },
        { ts: 0, ticker: 'ZZZ', direction: 1, confidence: 0.9 },
        { ts: 0, ticker: 'AAA', direction: 1, confidence: 0.2 },
      ],
      prices,
      { horizonsMs: [60_000, 120_000], commissionBps: 1, slippageBps: 2, minConfidence: 0.5 },
    );
    expect(r.roundTripCostBps).toBe(6);
    expect(r.traded).toBe(3);
    expect(r.skipped).toEqual({ neutral: 1, noTicker: 1, noPrice: 0, lowConfidence: 1 });
    const short = -(99 / 101 - 1) * 10_000;
    const [m1, m2] = r.horizons;
    expect(m1!.label).toBe('1m');
    expect(m1!.trades).toBe(3);
    expect(m1!.meanGrossBps).toBeCloseTo((100 + short + 0) / 3, 6);
    expect(m1!.meanNetBps).toBeCloseTo((100 + short + 0) / 3 - 6, 6);
    expect(m1!.hitRate).toBeCloseTo(2 / 3);
    expect(m1!.netHitRate).toBeCloseTo(2 / 3);
    expect(m2!.meanGrossBps).toBeCloseTo((-100 + short + 200) / 3, 6);
    expect(m2!.hitRate).toBeCloseTo(2 / 3);
  });

  it('skips horizons the price series does not reach', () => {
    const r = eventStudy([{ ts: 200_000, ticker: 'AAA', direction: 1, confidence: 1 }], prices, {
      horizonsMs: [60_000, 600_000],
    });
    // entry at 300000 (102); the series ends there, so neither horizon is complete.
    expect(r.traded).toBe(1);
    expect(r.horizons.map((h) => h.trades)).toEqual([0, 0]);
  });

  it('labels horizons readably', () => {
    expect([1_800_000, 3_600_000, 5_000, 1_500].map(horizonLabel)).toEqual(['30m', '1h', '5s', '1500ms']);
  });
});
