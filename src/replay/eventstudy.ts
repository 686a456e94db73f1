/**
 * Event study: forward returns after each directional signal, at several horizons, net
 * of round-trip costs.
 *
 * For a signal at time t on ticker k with direction d ∈ {-1, +1}:
 *   1. entry = first price of k at or after t + entryDelayMs (you trade after you know);
 *   2. exit at horizon h = last price of k at or before entry time + h; skipped when the
 *      price series ends before entry time + h (incomplete horizon);
 *   3. gross = d · (exit / entry − 1), in bps;
 *   4. net = gross − 2 · (commissionBps + slippageBps) (cost paid on entry and exit).
 * hitRate is the share with gross > 0; netHitRate with net > 0. Neutral (d = 0),
 * abstaining or low-confidence signals are not trades.
 */
import { z } from 'zod';
import { type PriceBook, asOf, firstAtOrAfter } from './prices';

export const eventStudyConfigSchema = z.strictObject({
  /** Horizons in ms. Default [60000, 300000, 1800000] (1m, 5m, 30m). */
  horizonsMs: z.array(z.number().int().positive()).min(1).default([60_000, 300_000, 1_800_000]),
  /** Commission per side, bps. Default 0.5. */
  commissionBps: z.number().min(0).default(0.5),
  /** Slippage per side, bps. Default 1. */
  slippageBps: z.number().min(0).default(1),
  /** Delay from signal to entry, ms. Default 0. */
  entryDelayMs: z.number().int().min(0).default(0),
  /** Signals below this confidence are not traded. Default 0. */
  minConfidence: z.number().min(0).max(1).default(0),
});
export type EventStudyConfig = z.infer<typeof eventStudyConfigSchema>;

export interface StudySignal {
  /** Epoch ms. */
  ts: number;
  ticker: string | undefined;
  direction: -1 | 0 | 1;
  confidence: number;
  abstain?: boolean;
}

export interface HorizonStats {
  horizonMs: number;
  label: string;
  trades: number;
  hitRate: number;
  netHitRate: number;
  meanGrossBps: number;
  meanNetBps: number;
  /** mean / (sd / √n) of net bps; 0 with fewer than two trades. */
  tStat: number;
}

export interface EventStudyResult {
  signals: number;
  /** Directional signals with a ticker and an entry price. */
  traded: number;
  skipped: { neutral: number; noTicker: number; noPrice: number; lowConfidence: number };
  roundTripCostBps: number;
  horizons: HorizonStats[];
}

export function horizonLabel(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export function eventStudy(
  signals: readonly StudySignal[],
  prices: PriceBook,
  config: Partial<EventStudyConfig> = {},
): EventStudyResult {
  const cfg = eventStudyConfigSchema.parse(config);
  const cost = 2 * (cfg.commissionBps + cfg.slippageBps);
  const skipped = { neutral: 0, noTicker: 0, noPrice: 0, lowConfidence: 0 };
  const gross: number[][] = cfg.horizonsMs.map(() => []);
  let traded = 0;
  for (const s of signals) {
    if (s.direction === 0 || s.abstain) {
      skipped.neutral++;
      continue;
    }
    if (s.confidence < cfg.minConfidence) {
      skipped.lowConfidence++;
      continue;
    }
    const series = s.ticker ? prices.get(s.ticker.toUpperCase()) : undefined;
    if (!series) {
      skipped.noTicker++;
      continue;
    }
    const ei = firstAtOrAfter(series, s.ts + cfg.entryDelayMs);
    if (ei < 0) {
      skipped.noPrice++;
      continue;
    }
    traded++;
    const entryTs = series.ts[ei] as number;
    const entry = series.price[ei] as number;
    const lastTs = series.ts[series.ts.length - 1] as number;
    cfg.horizonsMs.forEach((h, k) => {
      if (lastTs < entryTs + h) return;
      const exit = series.price[asOf(series, entryTs + h)] as number;
      (gross[k] as number[]).push(s.direction * (exit / entry - 1) * 10_000);
    });
  }
  const horizons = cfg.horizonsMs.map((h, k) => summarise(h, gross[k] as number[], cost));
  return { signals: signals.length, traded, skipped, roundTripCostBps: cost, horizons };
}

function summarise(horizonMs: number, g: number[], cost: number): HorizonStats {
  const n = g.length;
  const net = g.map((x) => x - cost);
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const meanNet = mean(net);
  let tStat = 0;
  if (n > 1) {
    const variance = net.reduce((a, x) => a + (x - meanNet) ** 2, 0) / (n - 1);
    tStat = variance > 0 ? meanNet / Math.sqrt(variance / n) : 0;
  }
  return {
    horizonMs,
    label: horizonLabel(horizonMs),
    trades: n,
    hitRate: n ? g.filter((x) => x > 0).length / n : 0,
    netHitRate: n ? net.filter((x) => x > 0).length / n : 0,
    meanGrossBps: mean(g),
    meanNetBps: meanNet,
    tStat,
  };
}

export function formatEventStudy(r: EventStudyResult): string {
  const head = ['horizon', 'trades', 'hit', 'net hit', 'gross bps', 'net bps', 't'];
  const w = 11;
  const lines = [
    `event study: ${r.traded} trades from ${r.signals} signals (skipped: ${r.skipped.neutral} neutral, ${r.skipped.lowConfidence} low confidence, ${r.skipped.noTicker} no prices for ticker, ${r.skipped.noPrice} no entry price); round-trip cost ${r.roundTripCostBps} bps`,
    head.map((h) => h.padStart(w)).join(''),
  ];
  for (const h of r.horizons) {
    lines.push(
      [
        h.label,
        String(h.trades),
        h.hitRate.toFixed(3),
        h.netHitRate.toFixed(3),
        h.meanGrossBps.toFixed(2),
        h.meanNetBps.toFixed(2),
        h.tStat.toFixed(2),
      ]
        .map((v) => v.padStart(w))
        .join(''),
    );
  }
  return lines.join('\n');
}
