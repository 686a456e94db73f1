/**
 * The classifier's two scores, as CI holds them: trained on the shared tweet headlines
 * (seed 1, defaults), calibrated on the cross-domain dev split, scored on the shared
 * valid split and on the hand-written press-release test split (bench/data/, never
 * used for any fitting or tuning). Then the exported ONNX model is served with a cascade
 * threshold and must agree with the TypeScript forward pass.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Classifier } from '../../src/classifier/classifier';
import { parseLabelledCsv } from '../../src/classifier/csv';
import { Featurizer } from '../../src/classifier/featurize';
import { predictProbs } from '../../src/classifier/linear';
import { type TrainResult, trainClassifier } from '../../src/classifier/train';
import { REPO_ROOT } from '../helpers/models';

const DATA = join(REPO_ROOT, '../shared/data/twitter-financial-news-sentiment');
const DEV = join(REPO_ROOT, 'bench/data/finnews-dev.csv');
const TEST = join(REPO_ROOT, 'bench/data/finnews-test.csv');
if (!existsSync(join(DATA, 'train.csv')))
  throw new Error(`classifier model tests need the labelled data at ${DATA} (see ../shared/data)`);

let tmp: string;
let trained: TrainResult;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'colo-crossdomain-'));
  trained = await trainClassifier({
    train: join(DATA, 'train.csv'),
    valid: join(DATA, 'valid.csv'),
    out: join(tmp, 'model'),
    seed: 1,
    calibrate: DEV,
    evaluate: [TEST],
  });
}, 120_000);

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('classifier scores (seed 1, defaults)', () => {
  it('keeps in-domain quality on the shared valid split (measured 0.843 / 0.791)', () => {
    expect(trained.valid.examples).toBe(2388);
    expect(trained.valid.accuracy).toBeGreaterThanOrEqual(0.84);
    expect(trained.valid.macroF1).toBeGreaterThanOrEqual(0.78);
  });

  it('generalises to held-out press-release sentences (measured 0.830 / 0.828)', () => {
    const m = trained.eval[TEST]!;
    expect(m.examples).toBe(394);
    expect(m.accuracy).toBeGreaterThanOrEqual(0.8);
    expect(m.macroF1).toBeGreaterThanOrEqual(0.75);
    // Every class is really predicted, not one answer for all.
    for (const c of m.perClass) expect(c.f1).toBeGreaterThan(0.7);
  });

  it('records the fitted temperature and the cross-domain score in metrics.json', async () => {
    const metrics = JSON.parse(await readFile(join(tmp, 'model', 'metrics.json'), 'utf8'));
    expect(metrics.options.temperature).toBe(trained.temperature);
    expect(trained.temperature).not.toBe(1);
    expect(metrics.eval[TEST].accuracy).toBe(trained.eval[TEST]!.accuracy);
    expect(metrics.options.featurizer.lexicon).toBe(true);
  });
});

describe('serving the trained model with a cascade threshold', () => {
  it('marks exactly the classifications below escalateBelow, and ONNX matches the TS forward pass', async () => {
    const texts = parseLabelledCsv(await readFile(TEST, 'utf8'), 3).map((e) => e.text);
    const c = await Classifier.load(join(tmp, 'model'), { escalateBelow: 0.6 });
    try {
      const got = await c.classify(texts);
      const f = new Featurizer(trained.featurizer);
      got.forEach((g, i) => {
        const ref = predictProbs(trained.model, f.featurize(texts[i]!));
        for (let k = 0; k < 3; k++) expect(g.probs[k]).toBeCloseTo(ref[k]!, 5);
        expect(g.escalate).toBe(g.confidence < 0.6);
      });
      const escalated = got.filter((g) => g.escalate).length;
      expect(escalated).toBeGreaterThan(0);
      expect(escalated).toBeLessThan(texts.length);
    } finally {
      await c.close();
    }
  });
});
