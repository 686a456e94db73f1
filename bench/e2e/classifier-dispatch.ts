/**
 * Piscina dispatch vs inline for the microsecond classifier: one headline classified
 * on the calling thread (mode 'inline') vs on a Piscina worker (mode 'pool', one
 * thread), one call at a time (closed loop, 1 caller), then a batch of 32 headlines per
 * call. Both Classifiers are loaded from the same freshly trained model directory and
 * measured in alternating rounds in one process.
 *
 *   node bench/lib/run.mjs bench/e2e/classifier-dispatch.ts [--count 5000] [--batch-count 1000] [--rounds 2] [--quick]
 *
 * Checks the answer first: inline and pool give the same label and probabilities
 * (to 1e-6) for 64 validation headlines, and the known headlines their expected labels.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Classifier } from '../../src/classifier';
import { readLabelledCsv } from '../../src/classifier/csv';
import { formatSummary, machineLine, runClosedLoop, writeResult, type LatencySummary } from '../lib';
import { CHECK_HEADLINES, HEADLINE_DATA, trainBenchClassifier } from './bench-classifier';
import { loadNow } from './loadgen-core';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '5000' },
    'batch-count': { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '2' },
    quick: { type: 'boolean', default: false },
  },
});
const QUICK = values.quick || process.env.BENCH_QUICK === '1';
const COUNT = QUICK ? 1000 : Number(values.count);
const BATCH_COUNT = QUICK ? 200 : Number(values['batch-count']);
const ROUNDS = QUICK ? 1 : Number(values.rounds);
const BATCH = 32;

/** The first n validation headlines. */
async function headlines(n: number): Promise<string[]> {
  const rows = await readLabelledCsv(join(HEADLINE_DATA, 'valid.csv'), 3);
  const out = rows.slice(0, n).map((r) => r.text);
  if (out.length < BATCH)
    throw new Error(`answer check failed: only ${out.length} validation headlines read`);
  return out;
}

async function check(inline: Classifier, pool: Classifier, texts: string[]): Promise<void> {
  const a = await inline.classify(texts);
  const b = await pool.classify(texts);
  if (a.length !== texts.length || b.length !== texts.length)
    throw new Error('answer check failed: missing classifications');
  a.forEach((x, i) => {
    const y = b[i]!;
    if (x.label !== y.label || x.probs.some((p, k) => Math.abs(p - y.probs[k]!) > 1e-6))
      throw new Error(`answer check failed: inline and pool differ on "${texts[i]}"`);
  });
  for (const h of CHECK_HEADLINES) {
    for (const c of [inline, pool]) {
      const r = await c.classifyOne(h.text);
      if (r.label !== h.label)
        throw new Error(`answer check failed (${c.mode}): "${h.text}" is ${r.label}, expected ${h.label}`);
    }
  }
}

interface Row {
  round: number;
  mode: 'inline' | 'pool';
  one: LatencySummary;
  batch32: LatencySummary;
  /** batch32 p50 / 32: cost per headline inside a batch. */
  batch32PerTextP50Us: number;
}

async function measure(c: Classifier, texts: string[], round: number): Promise<Row> {
  let i = 0;
  const one = await runClosedLoop({
    concurrency: 1,
    count: COUNT,
    warmup: 200,
    send: () => c.classifyOne(texts[i++ % texts.length]!),
  });
  const batch = texts.slice(0, BATCH);
  const b = await runClosedLoop({
    concurrency: 1,
    count: BATCH_COUNT,
    warmup: 50,
    send: () => c.classify(batch),
  });
  if (one.errors + b.errors > 0) throw new Error(`${c.mode}: ${one.errors + b.errors} classify calls failed`);
  return { round, mode: c.mode, one: one.rtt, batch32: b.rtt, batch32PerTextP50Us: b.rtt.p50 / BATCH };
}

const loadavgStart = loadNow();
console.log(`# classifier-dispatch\n${machineLine()}`);
const clf = await trainBenchClassifier();
console.log(
  `classifier trained in ${Math.round(clf.trainMs)} ms (valid accuracy ${clf.accuracy.toFixed(3)})`,
);
const texts = await headlines(256);
const inline = await Classifier.load(clf.dir, { mode: 'inline' });
const pool = await Classifier.load(clf.dir, { mode: 'pool', poolThreads: 1 });
const rows: Row[] = [];
try {
  await check(inline, pool, texts.slice(0, 64));
  console.log('answers ok: inline and pool agree on 64 headlines; known headlines labelled as expected');
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of r % 2 === 0 ? [inline, pool] : [pool, inline]) {
      const row = await measure(c, texts, r);
      rows.push(row);
      console.log(`round ${r + 1} ${row.mode.padEnd(6)} one: ${formatSummary(row.one)}`);
      console.log(
        `round ${r + 1} ${row.mode.padEnd(6)} x32: ${formatSummary(row.batch32)}  (${row.batch32PerTextP50Us.toFixed(1)} µs/text at p50)`,
      );
    }
  }
} finally {
  await inline.close();
  await pool.close();
}
const p50 = (mode: string, k: 'one' | 'batch32') =>
  rows
    .filter((r) => r.mode === mode)
    .map((r) => r[k].p50)
    .sort((a, b) => a - b)[0]!;
const summary = {
  poolMinusInlineOneP50Us: p50('pool', 'one') - p50('inline', 'one'),
  poolOverInlineBatch32P50: p50('pool', 'batch32') / p50('inline', 'batch32'),
};
console.log(
  `best p50s: pool - inline, one headline: ${summary.poolMinusInlineOneP50Us.toFixed(1)} µs; pool / inline, batch of 32: ${summary.poolOverInlineBatch32P50.toFixed(2)}x`,
);
const results = {
  loadavgStart,
  loadavgEnd: loadNow(),
  accuracy: clf.accuracy,
  count: COUNT,
  batchCount: BATCH_COUNT,
  rows,
  summary,
};
const path = writeResult('classifier-dispatch', 'e2e', results);
console.log(JSON.stringify(results));
if (path) console.log(`wrote ${path}`);
