/**
 * Cost of one hdr-histogram-js recordValue, the call every request stage makes on the
 * hot path: JS vs WASM build, 32-bit buckets vs packed.
 *
 *   npx tsx bench/micro/hdr.bench.ts
 *
 * Each call records a batch of 1,000 realistic latencies (5 µs .. 50 ms, skewed), so
 * the timer read does not swamp a ~10 ns operation; figures in the JSON are per record.
 */
import { initWebAssembly, type Histogram } from 'hdr-histogram-js';
import { createHistogram, exactPercentile, runMicro, type HistogramOptions } from '../lib';

const BATCH = 1000;

/** Deterministic skewed latencies in ns: most near 20 µs, a long tail to 50 ms. */
function latencies(n: number): Float64Array {
  const out = new Float64Array(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const u = ((x >>> 0) + 1) / 2 ** 32;
    out[i] = Math.min(50e6, Math.round(5000 + 15000 / u ** 0.9));
  }
  return out;
}

const values = latencies(BATCH);

const kinds: Record<string, HistogramOptions> = {
  'js 32-bit': { bitBucketSize: 32 },
  'js packed': { bitBucketSize: 'packed' },
  'wasm 32-bit': { bitBucketSize: 32, useWebAssembly: true },
  'wasm packed': { bitBucketSize: 'packed', useWebAssembly: true },
};

/** Records every value and checks count and percentiles against the exact answer. */
function checkKind(name: string, opts: HistogramOptions): void {
  const h = createHistogram(opts);
  for (const v of values) h.recordValue(v);
  const sorted = Array.from(values).sort((a, b) => a - b);
  if (h.totalCount !== BATCH) throw new Error(`${name}: count ${h.totalCount} != ${BATCH}`);
  for (const p of [50, 99, 99.9]) {
    const got = h.getValueAtPercentile(p);
    const want = exactPercentile(sorted, p);
    // 3 significant digits: within 0.1% of the exact value.
    if (Math.abs(got - want) / want > 0.001) throw new Error(`${name}: p${p} ${got} vs exact ${want}`);
  }
  h.destroy();
}

await initWebAssembly();
const live: Histogram[] = [];
const tasks = Object.entries(kinds).map(([name, opts]) => {
  const h = createHistogram(opts);
  live.push(h);
  return {
    name,
    batch: BATCH,
    check: () => checkKind(name, opts),
    fn: () => {
      for (let i = 0; i < BATCH; i++) h.recordValue(values[i] as number);
    },
  };
});

await runMicro('hdr-record', tasks, { meta: { batch: BATCH, valueRangeNs: [5000, 50e6] } });
for (const h of live) h.destroy();
