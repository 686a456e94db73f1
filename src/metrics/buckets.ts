/**
 * Prometheus histograms: cumulative bucket counts that add across boxes and windows,
 * so `histogram_quantile(0.99, sum by (le) (rate(colo_ttft_seconds_bucket[5m])))` is a
 * fleet p99. Buckets are fixed at start (every box must share them for the sum to
 * mean anything) and fine below 1 ms, where a classifier answer or a token gap lives.
 */

/** Upper bounds in seconds: 10 µs steps to 100 µs, then about 1.25–1.6× to a minute. */
export const LATENCY_BUCKETS_S: readonly number[] = Object.freeze([
  0.00001, 0.000025, 0.00005, 0.000075, 0.0001, 0.00015, 0.0002, 0.0003, 0.0004, 0.0005, 0.00065, 0.0008,
  0.001, 0.00125, 0.0015, 0.002, 0.0025, 0.003, 0.004, 0.005, 0.0065, 0.008, 0.01, 0.015, 0.02, 0.03, 0.05,
  0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60,
]);

/** One histogram series: per-bucket (non-cumulative) counts, a sum and a count. */
export class BucketSeries {
  /** counts[i] for bounds[i]; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly boundsUs: Float64Array) {
    this.counts = new Float64Array(boundsUs.length + 1);
  }

  /** Records one value in microseconds. A binary search over ~40 bounds: no allocation. */
  recordUs(us: number): void {
    const b = this.boundsUs;
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (us <= b[mid]!) hi = mid;
      else lo = mid + 1;
    }
    this.counts[lo]! += 1;
    this.sum += us;
    this.count += 1;
  }
}

/** A histogram family: one BucketSeries per label set, rendered in text format 0.0.4. */
export class HistogramFamily {
  readonly boundsUs: Float64Array;
  private readonly leText: string[];
  readonly series = new Map<string, { labels: string; s: BucketSeries }>();

  constructor(
    readonly name: string,
    readonly help: string,
    boundsS: readonly number[] = LATENCY_BUCKETS_S,
  ) {
    this.boundsUs = Float64Array.from(boundsS, (s) => Math.round(s * 1e6 * 1000) / 1000);
    this.leText = [...boundsS.map((s) => String(s)), '+Inf'];
  }

  /** `labels` is already rendered (`model="a",route="local"`); it is the map key too. */
  get(labels: string): BucketSeries {
    let e = this.series.get(labels);
    if (!e) this.series.set(labels, (e = { labels, s: new BucketSeries(this.boundsUs) }));
    return e.s;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const { labels, s } of this.series.values()) {
      const sep = labels ? `${labels},` : '';
      let cum = 0;
      for (let i = 0; i < s.counts.length; i++) {
        cum += s.counts[i]!;
        out.push(`${this.name}_bucket{${sep}le="${this.leText[i]}"} ${cum}`);
      }
      const l = labels ? `{${labels}}` : '';
      out.push(`${this.name}_sum${l} ${s.sum / 1e6}`, `${this.name}_count${l} ${s.count}`);
    }
  }
}
