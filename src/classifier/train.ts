/**
 * `trainClassifier`: CSV in, model directory out (model.onnx, featurizer.json,
 * labels.json, metrics.json). Deterministic for a seed: same inputs and options give
 * byte-identical model.onnx. The CLI (`colo train-classifier`) is a thin wrapper.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ColoError } from '../core/errors';
import { applyTemperature, expectedCalibrationError, fitTemperature } from './calibrate';
import { type LabelledExample, readLabelledCsv } from './csv';
import { Featurizer, type FeaturizerSpec } from './featurize';
import { type ClassWeighting, fitLinear } from './fit';
import { type LinearModel, argmax, predictProbs } from './linear';
import { type EvalMetrics, evaluate, formatConfusion } from './metrics';
import { FEATURIZER_FILE, LABELS_FILE, METRICS_FILE, MODEL_FILE } from './modelDir';
import { applyLexiconPrior } from './lexiconPrior';
import { buildHashedModel } from './onnx/hashedGraph';

/** Label names of the twitter-financial-news-sentiment data, in label order. */
export const DEFAULT_LABELS = ['bearish', 'bullish', 'neutral'] as const;

/** Default lexicon prior strength: chosen on the cross-domain dev split (bench/README.md). */
export const LEXICON_PRIOR = 4;

/** Featurizer settings training starts from (featurize.ts defaults keep old files v1-exact). */
export const TRAIN_FEATURIZER: Partial<FeaturizerSpec> = Object.freeze({ lexicon: true });

export interface TrainOptions {
  /** Training CSV (`text,label`). */
  train: string;
  /** Validation CSV; metrics are reported on it. */
  valid: string;
  /** Output directory (created). */
  out: string;
  /** Shuffle seed. Default 1. */
  seed?: number;
  /** Default 40. */
  epochs?: number;
  /** AdaGrad step. Default 0.1. */
  learningRate?: number;
  /** Default 1e-6. */
  l2?: number;
  /** Default 'sqrt'. */
  classWeight?: ClassWeighting;
  /** Featurizer overrides (dim, bigrams, charNgrams, lexicon...), over TRAIN_FEATURIZER. */
  featurizer?: Partial<FeaturizerSpec>;
  /**
   * Lexicon prior strength (lexiconPrior.ts), added to the polarity tokens' weights after
   * the fit; 0 disables; ignored without the lexicon. Default LEXICON_PRIOR.
   */
  lexiconPrior?: number;
  /**
   * CSV for temperature scaling (calibrate.ts): T is fitted on it and folded into the
   * weights. Default: none (T = 1). Never the split you report a final score on.
   */
  calibrate?: string;
  /** More CSVs to score; each goes to metrics.json under `eval[path]`. Default: none. */
  evaluate?: readonly string[];
  /** Class names in label order. Default bearish, bullish, neutral. */
  labels?: readonly string[];
  /** Progress lines (epoch losses, final report). Default: silent. */
  log?: (line: string) => void;
}

export interface TrainResult {
  out: string;
  labels: string[];
  valid: EvalMetrics;
  /** Scores on `evaluate` CSVs, by path. */
  eval: Record<string, EvalMetrics>;
  /** 1 when not calibrated. */
  temperature: number;
  trainExamples: number;
  /** sha256 of model.onnx. */
  modelSha256: string;
  durationMs: number;
  model: LinearModel;
  featurizer: FeaturizerSpec;
}

export async function trainClassifier(opts: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const labels = [...(opts.labels ?? DEFAULT_LABELS)];
  if (labels.length < 2)
    throw new ColoError('INVALID_ARGUMENT', 'labels: need at least two classes', { field: 'labels' });
  const log = opts.log ?? (() => {});
  const [train, valid] = await Promise.all([
    readLabelledCsv(opts.train, labels.length),
    readLabelledCsv(opts.valid, labels.length),
  ]);
  if (train.length === 0)
    throw new ColoError('INVALID_ARGUMENT', `${opts.train}: no examples`, { field: 'train' });
  const featurizer = new Featurizer({ ...TRAIN_FEATURIZER, ...opts.featurizer });
  const seed = opts.seed ?? 1;
  const xs = train.map((e) => featurizer.featurize(e.text));
  const ys = Int32Array.from(train, (e) => e.label);
  const model = fitLinear(xs, ys, {
    dim: featurizer.spec.dim,
    classes: labels.length,
    epochs: opts.epochs ?? 40,
    learningRate: opts.learningRate ?? 0.1,
    l2: opts.l2 ?? 1e-6,
    classWeight: opts.classWeight ?? 'sqrt',
    seed,
    onEpoch: (epoch, loss) => log(`epoch ${epoch}: mean loss ${loss.toFixed(4)}`),
  });
  const lexiconPrior = opts.lexiconPrior ?? LEXICON_PRIOR;
  applyLexiconPrior(model, featurizer, labels, lexiconPrior);
  let temperature = 1;
  if (opts.calibrate) {
    const cal = await readLabelledCsv(opts.calibrate, labels.length);
    temperature = fitTemperature(
      model,
      cal.map((e) => featurizer.featurize(e.text)),
      cal.map((e) => e.label),
    );
    applyTemperature(model, temperature);
    log(`temperature ${temperature.toFixed(3)} (fitted on ${opts.calibrate}, ${cal.length} examples)`);
  }
  const score = (examples: readonly LabelledExample[]): EvalMetrics => {
    const probs = examples.map((e) => predictProbs(model, featurizer.featurize(e.text)));
    const truth = examples.map((e) => e.label);
    return {
      ...evaluate(truth, probs.map(argmax), labels.length),
      ece: expectedCalibrationError(probs, truth),
    };
  };
  const metrics = score(valid);
  log(
    `valid: accuracy ${metrics.accuracy.toFixed(4)}, macro-F1 ${metrics.macroF1.toFixed(4)} (${valid.length} examples)`,
  );
  log(formatConfusion(metrics, labels));
  const extra: Record<string, EvalMetrics> = {};
  for (const path of opts.evaluate ?? []) {
    const m = score(await readLabelledCsv(path, labels.length));
    extra[path] = m;
    log(
      `${path}: accuracy ${m.accuracy.toFixed(4)}, macro-F1 ${m.macroF1.toFixed(4)} (${m.examples} examples)`,
    );
  }

  const onnx = buildHashedModel(model, {
    labels: JSON.stringify(labels),
    featurizer: JSON.stringify(featurizer.spec),
  });
  const modelSha256 = createHash('sha256').update(onnx).digest('hex');
  const durationMs = performance.now() - t0;
  await mkdir(opts.out, { recursive: true });
  await writeFile(join(opts.out, MODEL_FILE), onnx);
  await writeFile(join(opts.out, FEATURIZER_FILE), `${JSON.stringify(featurizer.spec, null, 2)}\n`);
  await writeFile(join(opts.out, LABELS_FILE), `${JSON.stringify(labels)}\n`);
  const report = {
    valid: metrics,
    eval: extra,
    trainExamples: train.length,
    options: {
      featurizer: featurizer.spec,
      lexiconPrior,
      temperature,
      seed,
      epochs: opts.epochs ?? 40,
      learningRate: opts.learningRate ?? 0.1,
      l2: opts.l2 ?? 1e-6,
      classWeight: opts.classWeight ?? 'sqrt',
    },
    modelSha256,
    trainSeconds: Math.round(durationMs) / 1000,
  };
  await writeFile(join(opts.out, METRICS_FILE), `${JSON.stringify(report, null, 2)}\n`);
  return {
    out: opts.out,
    labels,
    valid: metrics,
    eval: extra,
    temperature,
    trainExamples: train.length,
    modelSha256,
    durationMs,
    model,
    featurizer: featurizer.spec,
  };
}
