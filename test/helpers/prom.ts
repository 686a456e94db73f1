/**
 * Prometheus text parsing for tests, by an independent implementation: the official
 * Python client's parser (promparse.py), and PromQL's histogram_quantile over merged
 * bucket counts, as Prometheus computes it (linear interpolation inside the bucket).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Family {
  name: string;
  type: string;
  samples: Sample[];
}

const SCRIPT = fileURLToPath(new URL('./promparse.py', import.meta.url));

export function parseExposition(text: string): Family[] {
  const r = spawnSync('/usr/bin/python3', [SCRIPT], { input: text, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`Prometheus parser rejected the exposition: ${r.stderr}`);
  return JSON.parse(r.stdout) as Family[];
}

/** Sums `_bucket` samples by `le` over every series of a family that matches `filter`. */
export function mergedBuckets(
  families: Family[][],
  name: string,
  filter: (labels: Record<string, string>) => boolean = () => true,
): Map<number, number> {
  const out = new Map<number, number>();
  for (const fams of families) {
    const f = fams.find((x) => x.name === name);
    for (const s of f?.samples ?? []) {
      if (s.name !== `${name}_bucket` || !filter(s.labels)) continue;
      const le = s.labels['le'] === '+Inf' ? Infinity : Number(s.labels['le']);
      out.set(le, (out.get(le) ?? 0) + s.value);
    }
  }
  return new Map([...out].sort((a, b) => a[0] - b[0]));
}

/** PromQL histogram_quantile(q, buckets): cumulative counts by upper bound. */
export function histogramQuantile(q: number, buckets: Map<number, number>): number {
  const b = [...buckets];
  const total = b[b.length - 1]![1];
  if (total === 0) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of b) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / (count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}
