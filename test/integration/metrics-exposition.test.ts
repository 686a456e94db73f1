/**
 * /metrics as a Prometheus server reads it: every line passes the official client's
 * text-format parser, each latency family has _bucket, _sum and _count, and merging
 * two boxes' buckets gives a fleet p99 (histogram_quantile) close to the true one.
 */
import { describe, expect, it } from 'vitest';
import { Metrics, listenMetrics } from '../../src/metrics';
import type { RequestDoneEvent } from '../../src/metrics/events';
import { histogramQuantile, mergedBuckets, parseExposition } from '../helpers/prom';

const FAMILIES = [
  'colo_queue_seconds',
  'colo_ttft_seconds',
  'colo_inter_token_seconds',
  'colo_total_seconds',
  'colo_classify_seconds',
  'colo_upstream_seconds',
];

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One box: `n` requests whose TTFT is log-uniform between lo and hi microseconds. */
function box(n: number, loUs: number, hiUs: number, seed: number): { m: Metrics; ttfts: number[] } {
  const m = new Metrics({ runtime: false });
  m.labels.allowModels(['stories260K', 'fin-sentiment']);
  const r = rng(seed);
  const ttfts: number[] = [];
  for (let i = 0; i < n; i++) {
    const ttft = loUs * (hiUs / loUs) ** r();
    ttfts.push(ttft);
    const e: RequestDoneEvent = {
      api: 'ws',
      model: 'stories260K',
      route: 'local',
      provider: 'local',
      queueUs: ttft / 10,
      ttftUs: ttft,
      totalUs: ttft * 20,
      gapsUs: [ttft / 3, ttft / 2],
    };
    m.recordDone(e);
  }
  m.recordDone({
    api: 'http',
    model: 'fin-sentiment',
    route: 'local',
    provider: 'onnx',
    queueUs: 5,
    ttftUs: 30,
    totalUs: 40,
    gapsUs: [],
  });
  m.hist.upstream.get('target="oai",provider="openai",outcome="ok"').recordUs(1500);
  return { m, ttfts };
}

describe('Prometheus exposition', () => {
  it('passes the text-format parser with _bucket, _sum and _count for each latency family', () => {
    const { m } = box(500, 200, 20_000, 1);
    m.gauge('colo_queue_depth', 'queue', () => [{ labels: { model: 'a"b\\c\nd' }, value: 2 }]);
    const fams = parseExposition(m.render());
    for (const name of FAMILIES) {
      const f = fams.find((x) => x.name === name);
      expect(f, name).toBeDefined();
      expect(f!.type).toBe('histogram');
      const kinds = new Set(f!.samples.map((s) => s.name.slice(name.length)));
      expect([...kinds].sort()).toEqual(['_bucket', '_count', '_sum']);
      // Cumulative buckets never decrease, and +Inf equals _count.
      const buckets = f!.samples.filter((s) => s.name.endsWith('_bucket'));
      const first = JSON.stringify({ ...buckets[0]!.labels, le: undefined });
      const series = buckets.filter((s) => JSON.stringify({ ...s.labels, le: undefined }) === first);
      for (let i = 1; i < series.length; i++)
        expect(series[i]!.value).toBeGreaterThanOrEqual(series[i - 1]!.value);
      const count = f!.samples.find((s) => s.name === `${name}_count`)!.value;
      expect(series[series.length - 1]!.labels['le']).toBe('+Inf');
      expect(series[series.length - 1]!.value).toBe(count);
    }
    // Escaped label values come back intact.
    const q = fams.find((x) => x.name === 'colo_queue_depth')!;
    expect(q.samples[0]!.labels['model']).toBe('a"b\\c\nd');
  });

  it('merges two boxes into a fleet p99 close to the true p99', () => {
    // Box A is fast (0.2–2 ms TTFT), box B slow (1–30 ms): the fleet p99 is B's tail.
    const a = box(4000, 200, 2000, 7);
    const b = box(1000, 1000, 30_000, 8);
    const fams = [parseExposition(a.m.render()), parseExposition(b.m.render())];
    const buckets = mergedBuckets(fams, 'colo_ttft_seconds', (l) => l['model'] === 'stories260K');
    expect(buckets.get(Infinity)).toBe(5000);
    const all = [...a.ttfts, ...b.ttfts].sort((x, y) => x - y);
    for (const q of [0.5, 0.9, 0.99]) {
      const truth = all[Math.ceil(q * all.length) - 1]! / 1e6;
      const fleet = histogramQuantile(q, buckets);
      // Within the width of the bucket the true value falls in (buckets grow ≤ 1.67×).
      expect(fleet / truth, `q=${q}`).toBeGreaterThan(0.6);
      expect(fleet / truth, `q=${q}`).toBeLessThan(1.67);
    }
    // The per-box p99s bracket the fleet's: A's alone would hide B's tail.
    const pa = histogramQuantile(0.99, mergedBuckets([fams[0]!], 'colo_ttft_seconds'));
    const fleet99 = histogramQuantile(0.99, buckets);
    expect(fleet99).toBeGreaterThan(5 * pa);
  });

  it('serves /metrics on a separate listener and nothing else there', async () => {
    const { m } = box(10, 100, 1000, 3);
    const l = await listenMetrics('127.0.0.1', 0, () => m.render());
    try {
      const r = await fetch(`http://127.0.0.1:${l.port}/metrics`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toContain('version=0.0.4');
      expect(parseExposition(await r.text()).some((f) => f.name === 'colo_ttft_seconds')).toBe(true);
      expect((await fetch(`http://127.0.0.1:${l.port}/v1/models`)).status).toBe(404);
    } finally {
      await l.close();
    }
  });
});
