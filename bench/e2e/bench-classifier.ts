/**
 * A microsecond headline classifier for benches: Colo's hashed softmax model trained on
 * the labelled financial headlines into a temporary directory (a few seconds, before
 * any timing starts). Shared by colo-vs-echo.ts and classifier-dispatch.ts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { trainClassifier } from '../../src/classifier';
import { ROOT } from './colo-process';

export const HEADLINE_DATA = resolve(ROOT, '../shared/data/twitter-financial-news-sentiment');

/** Headlines with the label a trained model must give them (checked before timing). */
export const CHECK_HEADLINES: readonly { text: string; label: string }[] = [
  { text: '$TSLA downgraded to sell at Goldman', label: 'bearish' },
  { text: '$AAPL beats estimates, raises guidance', label: 'bullish' },
];

export interface BenchClassifier {
  dir: string;
  labels: string[];
  accuracy: number;
  trainMs: number;
}

export async function trainBenchClassifier(epochs = 4): Promise<BenchClassifier> {
  const out = join(mkdtempSync(join(tmpdir(), 'colo-bench-clf-')), 'fin-sentiment');
  const r = await trainClassifier({
    train: join(HEADLINE_DATA, 'train.csv'),
    valid: join(HEADLINE_DATA, 'valid.csv'),
    out,
    seed: 1,
    epochs,
  });
  return { dir: out, labels: r.labels, accuracy: r.valid.accuracy, trainMs: r.durationMs };
}
