/**
 * HDR histogram helpers. Latencies are recorded as integer nanoseconds and summarised
 * in microseconds, the unit a trading desk reads a tail in.
 *
 * Coordinated omission: a closed-loop client that waits for each reply stops sending
 * while the server stalls, so the stall shows up as one slow sample instead of many.
 * Two cures live here: `recordCorrected` back-fills the samples a closed loop would
 * have sent at its expected interval; the open-loop runner (openloop.ts) measures from
 * each request's *scheduled* send time, which needs no correction.
 */
import { build, type Histogram } from 'hdr-histogram-js';

export interface LatencySummary {
  unit: 'us';
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  stddev: number;
}

export interface HistogramOptions {
  /** Largest value kept exactly, in ns. Default 60 s; larger values auto-resize. */
  highestNs?: number;
  /** Significant digits (precision). Default 3 (0.1%). */
  digits?: 1 | 2 | 3 | 4 | 5;
  /** Default 32; 'packed' trades record speed for memory. */
  bitBucketSize?: 8 | 16 | 32 | 64 | 'packed';
  /** Use the WASM build; call `await initWebAssembly()` from hdr-histogram-js first. Default false. */
  useWebAssembly?: boolean;
}

/** A histogram of nanosecond values. */
export function createHistogram(opts: HistogramOptions = {}): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: opts.highestNs ?? 60e9,
    numberOfSignificantValueDigits: opts.digits ?? 3,
    bitBucketSize: opts.bitBucketSize ?? 32,
    autoResize: true,
    useWebAssembly: opts.useWebAssembly ?? false,
  });
}

/** Records one ns value; negative or non-finite values (clock bugs) are clamped to 0. */
export function recordNs(h: Histogram, ns: number): void {
  h.recordValue(Number.isFinite(ns) && ns > 0 ? Math.round(ns) : 0);
}

/**
 * Records a closed-loop sample and the samples that would have been taken every
 * `expectedIntervalNs` while this one was stuck (HdrHistogram's CO correction).
 */
export function recordCorrected(h: Histogram, ns: number, expectedIntervalNs: number): void {
  h.recordValueWithExpectedInterval(Math.max(0, Math.round(ns)), Math.max(0, Math.round(expectedIntervalNs)));
}

const us = (ns: number): number => Math.round(ns) / 1000;

/** p50/p90/p99/p99.9/max of a ns histogram, in µs. An empty histogram gives zeros. */
export function summarize(h: Histogram): LatencySummary {
  const count = h.totalCount;
  if (count === 0)
    return { unit: 'us', count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, stddev: 0 };
  return {
    unit: 'us',
    count,
    min: us(h.minNonZeroValue === Number.MAX_SAFE_INTEGER ? 0 : h.minNonZeroValue),
    mean: us(h.mean),
    p50: us(h.getValueAtPercentile(50)),
    p90: us(h.getValueAtPercentile(90)),
    p99: us(h.getValueAtPercentile(99)),
    p999: us(h.getValueAtPercentile(99.9)),
    max: us(h.maxValue),
    stddev: us(h.stdDeviation),
  };
}

/**
 * Exact nearest-rank percentile of raw values (no histogram), for checking the HDR
 * path and for small sample sets. `p` in [0, 100].
 */
export function exactPercentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  // The epsilon keeps 99.9% of 1000 at rank 999 despite 0.999 * 1000 = 999.0000000000001.
  const rank = Math.ceil((p / 100) * sorted.length - 1e-9);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

/** Same shape as summarize(), computed exactly from raw ns values. */
export function summarizeValues(valuesNs: readonly number[]): LatencySummary {
  const s = [...valuesNs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0)
    return { unit: 'us', count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, stddev: 0 };
  const mean = s.reduce((a, b) => a + b, 0) / n;
  const variance = s.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
  return {
    unit: 'us',
    count: n,
    min: us(s[0] as number),
    mean: us(mean),
    p50: us(exactPercentile(s, 50)),
    p90: us(exactPercentile(s, 90)),
    p99: us(exactPercentile(s, 99)),
    p999: us(exactPercentile(s, 99.9)),
    max: us(s[n - 1] as number),
    stddev: us(Math.sqrt(variance)),
  };
}

/** "p50 12.3 | p99 45.6 | p99.9 78.9 | max 120 µs (n=10000)" */
export function formatSummary(s: LatencySummary): string {
  const f = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  return `p50 ${f(s.p50)} | p90 ${f(s.p90)} | p99 ${f(s.p99)} | p99.9 ${f(s.p999)} | max ${f(s.max)} µs (n=${s.count})`;
}
