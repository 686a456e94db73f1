/**
 * `trainClassifier`: CSV in, model directory out (model.onnx, featurizer.json,
 * labels.json, metrics.json). Deterministic for a seed: same inputs and options give
 * byte-identical model.onnx. The CLI (`colo train-classifier`) is a thin wrapper.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ColoError } from '../core/errors';
import { readLabelledCsv } from './csv';
import { Featurizer, type FeaturizerSpec } from './featurize';
import { type ClassWeighting, fitLinear } from './fit';
import { type LinearModel, argmax, predictProbs } from './linear';
import { type EvalMetrics, evaluate, formatConfusion } from './metrics';
import { FEATURIZER_FILE, LABELS_FILE, METRICS_FILE, MODEL_FILE } from './modelDir';
import { buildHashedModel } from './onnx/hashedGraph';

/** Label names of the twitter-financial-news-sentiment data, in label order. */
export const DEFAULT_LABELS = ['bearish', 'bullish', 'neutral'] as const;

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
  /** Featurizer overrides (dim, bigrams, charNgrams...). Default: featurizer defaults. */
  featurizer?: Partial<FeaturizerSpec>;
  /** Class names in label order. Default bearish, bullish, neutral. */
  labels?: readonly string[];
  /** Progress lines (epoch losses, final report). Default: silent. */
  log?: (line: string) => void;
}

export interface TrainResult {
  out: string;
  labels: string[];
  valid: EvalMetrics;
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
  const featurizer = new Featurizer(opts.featurizer ?? {});
  const xs = train.map((e) => featurizer.featurize(e.text));
  const ys = Int32Array.from(train, (e) => e.label);
  const seed = opts.seed ?? 1;
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
  const predicted = valid.map((e) => argmax(predictProbs(model, featurizer.featurize(e.text))));
  const metrics = evaluate(
    valid.map((e) => e.label),
    predicted,
    labels.length,
  );
  log(
    `valid: accuracy ${metrics.accuracy.toFixed(4)}, macro-F1 ${metrics.macroF1.toFixed(4)} (${valid.length} examples)`,
  );
  log(formatConfusion(metrics, labels));

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
    trainExamples: train.length,
    options: {
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
    trainExamples: train.length,
    modelSha256,
    durationMs,
    model,
    featurizer: featurizer.spec,
  };
}
