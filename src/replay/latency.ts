/** HDR latency summary (microseconds) for replay and benches. */
import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  count: number;
  meanUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

export class LatencyRecorder {
  // Pure-JS histogram: no WebAssembly start-up, and this is off the hot path.
  private readonly h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });

  record(us: number): void {
    this.h.recordValue(Math.max(1, Math.round(us)));
  }

  summary(): LatencySummary {
    const h = this.h;
    return {
      count: h.totalCount,
      meanUs: Math.round(h.mean * 10) / 10,
      p50Us: h.getValueAtPercentile(50),
      p90Us: h.getValueAtPercentile(90),
      p99Us: h.getValueAtPercentile(99),
      p999Us: h.getValueAtPercentile(99.9),
      maxUs: h.maxValue,
    };
  }
}

export function formatLatency(name: string, s: LatencySummary): string {
  const cols = ['count', 'mean', 'p50', 'p90', 'p99', 'p99.9', 'max'];
  const vals = [s.count, s.meanUs, s.p50Us, s.p90Us, s.p99Us, s.p999Us, s.maxUs].map(String);
  const w = 10;
  return [
    `${name} latency (µs)`,
    cols.map((c) => c.padStart(w)).join(''),
    vals.map((v) => v.padStart(w)).join(''),
  ].join('\n');
}
