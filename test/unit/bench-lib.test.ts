import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  compare,
  compareLatency,
  createHistogram,
  exactPercentile,
  formatComparison,
  plannedCount,
  recordCorrected,
  recordNs,
  resultsDir,
  runClosedLoop,
  runOpenLoop,
  scheduledOffsetNs,
  summarize,
  summarizeValues,
  writeResult,
} from '../../bench/lib';

describe('summary math', () => {
  it('exact nearest-rank percentiles of 1..1000', () => {
    const v = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(exactPercentile(v, 50)).toBe(500);
    expect(exactPercentile(v, 99)).toBe(990);
    expect(exactPercentile(v, 99.9)).toBe(999);
    expect(exactPercentile(v, 100)).toBe(1000);
    expect(exactPercentile([], 50)).toBe(0);
  });

  it('HDR summary agrees with the exact one within 0.1% and converts ns to µs', () => {
    const valuesNs = Array.from({ length: 10_000 }, (_, i) => 1000 + ((i * 7919) % 100_000));
    const h = createHistogram();
    for (const v of valuesNs) recordNs(h, v);
    const hdr = summarize(h);
    const exact = summarizeValues(valuesNs);
    expect(hdr.count).toBe(10_000);
    for (const k of ['p50', 'p90', 'p99', 'p999', 'max'] as const) {
      expect(Math.abs(hdr[k] - exact[k]) / exact[k]).toBeLessThan(0.001);
    }
    expect(exact.min).toBe(1); // 1000 ns = 1 µs
    h.destroy();
  });

  it('clamps negative samples to zero rather than throwing', () => {
    const h = createHistogram();
    recordNs(h, -5);
    recordNs(h, Number.NaN);
    expect(h.totalCount).toBe(2);
    expect(summarize(h).max).toBe(0);
  });

  it('CO correction back-fills the samples a stall swallowed', () => {
    const h = createHistogram();
    // One 10 ms stall at an expected 1 ms interval also stands for 9, 8, ... 1 ms samples.
    recordCorrected(h, 10e6, 1e6);
    expect(h.totalCount).toBe(10);
    expect(summarize(h).p50).toBeCloseTo(5000, -1);
  });

  it('empty summaries are all zero', () => {
    expect(summarize(createHistogram()).count).toBe(0);
    expect(summarizeValues([]).p99).toBe(0);
  });
});

describe('compare', () => {
  it('computes candidate/baseline ratios over shared numeric fields', () => {
    const rows = compare({ a: 10, b: 4, c: 'x', d: 0 }, { a: 15, b: 2, d: 3 });
    expect(rows.map((r) => [r.metric, r.ratio])).toEqual([
      ['a', 1.5],
      ['b', 0.5],
      ['d', Number.NaN],
    ]);
    expect(rows[0]?.delta).toBe(5);
  });

  it('latency comparison lists the tail metrics and formats them', () => {
    const base = summarizeValues([1000, 2000, 3000]);
    const cand = summarizeValues([2000, 4000, 6000]);
    const rows = compareLatency(base, cand);
    expect(rows.map((r) => r.metric)).toEqual(['p50', 'p90', 'p99', 'p999', 'max', 'mean']);
    expect(rows.every((r) => r.ratio === 2)).toBe(true);
    expect(formatComparison('t', rows)).toContain('2.00x');
  });
});

/** A fake clock whose time moves only when the scheduler sleeps. */
function fakeTime(overshootMsAt: Map<number, number> = new Map()) {
  let now = 1_000_000_000;
  let sleeps = 0;
  return {
    clock: () => now,
    sleep: async (ms: number) => {
      sleeps++;
      // A zero-length yield still lets 1 µs pass, so a busy wait terminates.
      now += Math.max(1000, ms * 1e6) + (overshootMsAt.get(sleeps) ?? 0) * 1e6;
    },
    advance: (ns: number) => (now += ns),
  };
}

describe('open-loop scheduler', () => {
  it('plans count from rate, count and duration', () => {
    expect(plannedCount(1000, undefined, 100)).toBe(100);
    expect(plannedCount(1000, 50, 100)).toBe(50);
    expect(plannedCount(10, 1000)).toBe(1000);
    expect(() => plannedCount(0, 10)).toThrow(RangeError);
    expect(() => plannedCount(10)).toThrow(RangeError);
    expect(scheduledOffsetNs(3, 1000)).toBe(3e6);
  });

  it('sends on schedule and measures latency from the scheduled time', async () => {
    const t = fakeTime();
    const sentAt: number[] = [];
    const r = await runOpenLoop({
      ratePerSec: 1000,
      count: 20,
      clock: t.clock,
      sleep: t.sleep,
      send: async () => {
        sentAt.push(t.clock());
        t.advance(200_000); // each reply takes 200 µs
      },
    });
    expect(r.sent).toBe(20);
    expect(r.completed).toBe(20);
    // Sends are 1 ms apart (never before schedule), within the 1 µs yield step.
    for (let i = 1; i < sentAt.length; i++) {
      expect((sentAt[i] as number) - (sentAt[0] as number)).toBeGreaterThanOrEqual(i * 1e6);
    }
    expect(r.latency.p50).toBeGreaterThanOrEqual(200);
    expect(r.latency.max).toBeLessThan(300);
  });

  it('charges a client stall to every request it delayed (no coordinated omission)', async () => {
    // The 3rd sleep oversleeps by 5 ms: the requests due in that window go out late.
    const t = fakeTime(new Map([[3, 5]]));
    const r = await runOpenLoop({
      ratePerSec: 1000,
      count: 20,
      clock: t.clock,
      sleep: t.sleep,
      send: async () => undefined,
    });
    expect(r.completed).toBe(20);
    // Service time stays ~0; latency from schedule shows the stall on several requests.
    expect(r.serviceTime.max).toBeLessThan(10);
    expect(r.latency.max).toBeGreaterThanOrEqual(4000);
    expect(r.maxSendLagUs).toBeGreaterThanOrEqual(4000);
    // p90 of 20 samples is the 18th: only a few requests were delayed, so it is lower.
    expect(r.latency.p50).toBeLessThan(r.latency.max);
  });

  it('counts errors and does not record them as latency', async () => {
    const t = fakeTime();
    const r = await runOpenLoop({
      ratePerSec: 1000,
      count: 10,
      clock: t.clock,
      sleep: t.sleep,
      send: async (i) => {
        if (i % 2 === 0) throw new Error('boom');
      },
    });
    expect(r.errors).toBe(5);
    expect(r.completed).toBe(5);
    expect(r.latency.count).toBe(5);
  });

  it('waits at maxInFlight and charges the wait to later requests', async () => {
    const t = fakeTime();
    const resolvers: (() => void)[] = [];
    let peak = 0;
    let live = 0;
    const run = runOpenLoop({
      ratePerSec: 1000,
      count: 6,
      maxInFlight: 2,
      clock: t.clock,
      sleep: async (ms) => {
        await t.sleep(ms);
        // Replies arrive only when the scheduler sleeps: release one each time.
        resolvers.shift()?.();
      },
      send: () =>
        new Promise<void>((res) => {
          live++;
          peak = Math.max(peak, live);
          resolvers.push(() => {
            live--;
            res();
          });
        }),
    });
    // Drain any replies left when the schedule ends.
    const drain = setInterval(() => resolvers.shift()?.(), 1);
    const r = await run;
    clearInterval(drain);
    expect(peak).toBeLessThanOrEqual(2);
    expect(r.completed).toBe(6);
  });
});

describe('closed-loop runner', () => {
  it('runs count requests over N clients, excluding warm-up', async () => {
    let now = 0;
    const perClient = new Map<number, number>();
    const r = await runClosedLoop({
      concurrency: 3,
      count: 30,
      warmup: 6,
      clock: () => now,
      send: async (c) => {
        perClient.set(c, (perClient.get(c) ?? 0) + 1);
        now += 50_000; // a server that serves one request at a time, 50 µs each
      },
    });
    expect(r.completed).toBe(30);
    expect([...perClient.values()].reduce((a, b) => a + b, 0)).toBe(36);
    expect(perClient.size).toBe(3);
    // Three clients queue on a serial 50 µs server: RTT 150 µs, 20k req/s (Little's law).
    expect(r.rtt.p50).toBeCloseTo(150, 0);
    expect(r.throughputPerSec).toBeCloseTo(20_000, -2);
  });

  it('rejects a bad concurrency', async () => {
    await expect(runClosedLoop({ concurrency: 0, count: 1, send: async () => undefined })).rejects.toThrow(
      RangeError,
    );
  });
});

describe('results', () => {
  let dir: string | undefined;
  const saved = process.env.BENCH_OUT;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    process.env.BENCH_OUT = saved;
  });

  it('BENCH_OUT picks the directory; 0 disables writing', () => {
    expect(resultsDir({ BENCH_OUT: '0' })).toBeUndefined();
    expect(resultsDir({ BENCH_OUT: '/tmp/x' })).toBe('/tmp/x');
    expect(resultsDir({})).toMatch(/bench[/\\]results$/);
  });

  it('writes an envelope with machine info, date and commit', () => {
    dir = mkdtempSync(join(tmpdir(), 'colo-bench-'));
    process.env.BENCH_OUT = dir;
    const path = writeResult('unit/test result', 'micro', { x: 1 });
    expect(path).toBe(join(dir, 'unit-test-result.json'));
    const doc = JSON.parse(readFileSync(path as string, 'utf8'));
    expect(doc.results).toEqual({ x: 1 });
    expect(doc.kind).toBe('micro');
    expect(doc.machine.node).toBe(process.version);
    expect(doc.machine.cores).toBeGreaterThan(0);
    expect(typeof doc.machine.gitCommit).toBe('string');
    expect(Number.isNaN(Date.parse(doc.date))).toBe(false);
  });
});
