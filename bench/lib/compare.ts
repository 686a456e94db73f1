/**
 * Reads a result against a baseline measured in the same run. A ratio is
 * candidate / baseline: for latencies above 1 means slower, for throughput faster.
 */
import type { LatencySummary } from './hdr';

export interface ComparisonRow {
  metric: string;
  baseline: number;
  candidate: number;
  /** candidate / baseline; NaN when the baseline is 0. */
  ratio: number;
  /** candidate - baseline, in the metric's unit. */
  delta: number;
}

export type NumericRecord = Readonly<Record<string, unknown>>;

/** Compares every finite numeric field both records share, in the baseline's key order. */
export function compare(
  baseline: NumericRecord,
  candidate: NumericRecord,
  metrics?: readonly string[],
): ComparisonRow[] {
  const keys = metrics ?? Object.keys(baseline);
  const rows: ComparisonRow[] = [];
  for (const metric of keys) {
    const b = baseline[metric];
    const c = candidate[metric];
    if (typeof b !== 'number' || typeof c !== 'number' || !Number.isFinite(b) || !Number.isFinite(c))
      continue;
    rows.push({ metric, baseline: b, candidate: c, ratio: b === 0 ? Number.NaN : c / b, delta: c - b });
  }
  return rows;
}

/** The latency fields worth comparing, in reading order. */
export const LATENCY_METRICS: readonly (keyof LatencySummary)[] = [
  'p50',
  'p90',
  'p99',
  'p999',
  'max',
  'mean',
];

export function compareLatency(baseline: LatencySummary, candidate: LatencySummary): ComparisonRow[] {
  return compare(
    baseline as unknown as NumericRecord,
    candidate as unknown as NumericRecord,
    LATENCY_METRICS as readonly string[],
  );
}

export function formatComparison(
  title: string,
  rows: readonly ComparisonRow[],
  labels = ['baseline', 'candidate'],
): string {
  const lines = [
    `${title}`,
    `  ${'metric'.padEnd(8)} ${labels[0]!.padStart(12)} ${labels[1]!.padStart(12)} ${'ratio'.padStart(8)}`,
  ];
  for (const r of rows) {
    const ratio = Number.isNaN(r.ratio) ? 'n/a' : `${r.ratio.toFixed(2)}x`;
    lines.push(
      `  ${r.metric.padEnd(8)} ${r.baseline.toFixed(2).padStart(12)} ${r.candidate.toFixed(2).padStart(12)} ${ratio.padStart(8)}`,
    );
  }
  return lines.join('\n');
}

export function printComparison(title: string, rows: readonly ComparisonRow[], labels?: string[]): void {
  console.log(formatComparison(title, rows, labels));
}
