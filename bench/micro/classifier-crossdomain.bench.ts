/**
 * The lexicon classifier against the one before it (issue 14), in the same run: both
 * trained here (seed 1) on the shared headlines, scored on the shared valid split and on
 * the hand-written press-release set (bench/data/finnews-{dev,test}.csv; dev only for the
 * temperature), then timed per text: featurize alone, and featurize + the serving kernel
 * (HashedRunner.run of one text, no batcher: the TypeScript kernel since issue 16, as
 * served by default; bench/micro/classifier.bench.ts times onnxruntime beside it). Timed tasks alternate baseline / lexicon
 * over three rounds so drift in the box's load hits both.
 *
 *   node bench/lib/run.mjs bench/micro/classifier-crossdomain.bench.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLabelledCsv } from '../../src/classifier/csv';
import type { EvalMetrics } from '../../src/classifier/metrics';
import { HashedRunner } from '../../src/classifier/hashedRunner';
import { trainClassifier } from '../../src/classifier/train';
import { type MicroTask, runMicro } from '../lib';

const DATA = join(process.cwd(), '../shared/data/twitter-financial-news-sentiment');
const DEV = join(process.cwd(), 'bench/data/finnews-dev.csv');
const TEST = join(process.cwd(), 'bench/data/finnews-test.csv');
const CACHE = join(process.cwd(), 'node_modules/.cache/colo-bench');
const common = {
  train: join(DATA, 'train.csv'),
  valid: join(DATA, 'valid.csv'),
  seed: 1,
  evaluate: [DEV, TEST],
};

const baseline = await trainClassifier({
  ...common,
  out: join(CACHE, 'clf-baseline'),
  featurizer: { lexicon: false },
  lexiconPrior: 0,
});
const lexicon = await trainClassifier({ ...common, out: join(CACHE, 'clf-lexicon'), calibrate: DEV });
const scores = (m: EvalMetrics): { accuracy: number; macroF1: number; ece?: number } => ({
  accuracy: Math.round(m.accuracy * 10000) / 10000,
  macroF1: Math.round(m.macroF1 * 10000) / 10000,
  ece: m.ece === undefined ? undefined : Math.round(m.ece * 10000) / 10000,
});
const quality = Object.fromEntries(
  (
    [
      ['baseline', baseline],
      ['lexicon', lexicon],
    ] as const
  ).map(([name, r]) => [
    name,
    {
      valid: scores(r.valid),
      dev: scores(r.eval[DEV]!),
      test: scores(r.eval[TEST]!),
      temperature: r.temperature,
    },
  ]),
);
console.log(JSON.stringify(quality, null, 2));

const [oldRunner, newRunner] = await Promise.all([
  HashedRunner.load(baseline.out),
  HashedRunner.load(lexicon.out),
]);
// Half tweets, half press-release sentences, interleaved.
const tweets = parseLabelledCsv(readFileSync(common.valid, 'utf8'), 3).map((e) => e.text);
const formal = parseLabelledCsv(readFileSync(TEST, 'utf8'), 3).map((e) => e.text);
const texts = formal.flatMap((f, i) => [f, tweets[i] as string]);
let i = 0;
const next = (): string => texts[i++ % texts.length] as string;

const tasks: MicroTask[] = [];
for (let round = 1; round <= 3; round++) {
  for (const [name, r] of [
    ['baseline', oldRunner],
    ['lexicon', newRunner],
  ] as const) {
    tasks.push({ name: `${name} featurize r${round}`, fn: () => r.featurizer.featurize(next()) });
    tasks.push({ name: `${name} featurize+kernel r${round}`, fn: () => r.run([next()]) });
  }
}

await runMicro('classifier-crossdomain', tasks, {
  time: process.env.BENCH_QUICK === '1' ? 200 : 700,
  check: () => {
    const t = lexicon.eval[TEST]!;
    if (t.accuracy < 0.8 || t.macroF1 < 0.75)
      throw new Error(`cross-domain test ${t.accuracy} / ${t.macroF1}`);
    if (lexicon.valid.accuracy < 0.84 || lexicon.valid.macroF1 < 0.78)
      throw new Error(`valid ${lexicon.valid.accuracy} / ${lexicon.valid.macroF1}`);
  },
  meta: { quality, texts: { tweets: tweets.length, formal: formal.length } },
});
await Promise.all([oldRunner.close(), newRunner.close()]);
