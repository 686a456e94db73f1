/** HDR histograms (hdr-histogram-js) of microsecond latencies, rendered as Prometheus summaries. */
import * as hdr from 'hdr-histogram-js';

const HIGHEST_US = 3_600_000_000; // one hour

export function latencyHistogram(): hdr.Histogram {
  return hdr.build({
    bitBucketSize: 64,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
    autoResize: false,
  });
}

export const QUANTILES = [0.5, 0.9, 0.99, 0.999] as const;

export interface Summary {
  count: number;
  sumUs: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export function summarize(h: hdr.Histogram, sumUs: number): Summary {
  return {
    count: h.totalCount,
    sumUs,
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
  };
}

/** A latency series: histogram plus the exact sum Prometheus summaries carry. */
export class LatencySeries {
  readonly h = latencyHistogram();
  sumUs = 0;

  record(us: number): void {
    const v = Math.min(HIGHEST_US, Math.max(1, Math.round(us)));
    this.h.recordValue(v);
    this.sumUs += us;
  }

  summary(): Summary {
    return summarize(this.h, this.sumUs);
  }
}
