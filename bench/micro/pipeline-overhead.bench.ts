/**
 * The pipeline's own cost on the classifier path, in-process (no sockets): the same
 * headline through (a) the classifier alone and (b) `pipeline.execute` (validate,
 * authorize, reserve, route, run, settle, audit, metrics), with the default config
 * (audit on, fsync 'background') and with audit off. Rounds interleave the variants,
 * so a loaded machine slows them alike; read the differences, not the absolutes.
 *
 *   npx tsx bench/micro/pipeline-overhead.bench.ts [--n 20000] [--rounds 3]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'hdr-histogram-js';
import { startColo, type Colo } from '../../src/app/colo';
import { ClassifierRegistry } from '../../src/classifier';
import { parseConfig } from '../../src/config';
import { createLogger } from '../../src/core/log';
import { machineLine } from '../lib';
import { trainBenchClassifier } from '../e2e/bench-classifier';
import { SHARED_MODELS } from '../../test/helpers/engine';

const { values } = parseArgs({
  options: { n: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '3' } },
});
const N = Number(values.n);
const ROUNDS = Number(values.rounds);
const HEADLINE = '$AAPL beats estimates, raises guidance';

async function start(clfDir: string, audit: boolean, extra: Record<string, unknown> = {}): Promise<Colo> {
  const dir = mkdtempSync(join(tmpdir(), 'colo-pipe-'));
  return startColo(
    parseConfig({
      server: { port: 0 },
      audit: { enabled: audit, dir: join(dir, 'audit'), ...extra },
      auth: { storePath: join(dir, 'auth.json') },
      engine: { modelDirs: [SHARED_MODELS], models: [{ name: 'stories260K', sequences: 1, threads: 1 }] },
      classifiers: { models: [{ name: 'fin-sentiment', dir: clfDir }] },
    }),
    createLogger('error'),
  );
}

async function time(label: string, fn: () => Promise<unknown>) {
  const h = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 10_000_000,
    numberOfSignificantValueDigits: 3,
  });
  for (let i = 0; i < 500; i++) await fn();
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    await fn();
    h.recordValue(Number(process.hrtime.bigint() - t) / 1000);
  }
  return {
    label,
    p50: h.getValueAtPercentile(50),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
  };
}

const clf = await trainBenchClassifier();
const registry = await ClassifierRegistry.create({ models: [{ name: 'fin-sentiment', dir: clf.dir }] });
const withAudit = await start(clf.dir, true);
const noAudit = await start(clf.dir, false);
const never = await start(clf.dir, true, { fsync: 'never' });
const window20 = await start(clf.dir, true, { fsyncWindowMs: 20 });
const signal = new AbortController().signal;
let id = 0;
const exec = (c: Colo) => () =>
  c.pipeline.execute(
    { id: `b${id++}`, model: 'fin-sentiment', prompt: HEADLINE, receivedAt: performance.now() },
    'ws',
    undefined,
    null,
    signal,
  );
console.log(`# pipeline overhead, classifier path, in-process\n${machineLine()}`);
const rows: Record<string, { p50: number[]; p99: number[]; p999: number[] }> = {};
for (let r = 0; r < ROUNDS; r++) {
  for (const [label, fn] of [
    ['classifier alone', clfOnly],
    ['pipeline, audit off', exec(noAudit)],
    ['pipeline, default (audit, fsync background)', exec(withAudit)],
    ['pipeline, audit fsync never', exec(never)],
    ['pipeline, audit fsync background, 20 ms window', exec(window20)],
  ] as const) {
    const t = await time(label, fn as () => Promise<unknown>);
    const row = (rows[label] ??= { p50: [], p99: [], p999: [] });
    row.p50.push(t.p50);
    row.p99.push(t.p99);
    row.p999.push(t.p999);
  }
}
function clfOnly(): Promise<unknown> {
  return registry.get('fin-sentiment').classify([HEADLINE]);
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [label, r] of Object.entries(rows))
  console.log(
    `${label.padEnd(46)} p50 ${med(r.p50).toFixed(1)} µs  p99 ${med(r.p99).toFixed(1)} µs  p99.9 ${med(r.p999).toFixed(1)} µs`,
  );
await withAudit.shutdown('bench end');
await noAudit.shutdown('bench end');
await never.shutdown('bench end');
await window20.shutdown('bench end');
process.exit(0);
