/**
 * `colo train-classifier --train train.csv --valid valid.csv --out DIR [--seed N] [--epochs N]
 *   [--calibrate dev.csv] [--eval more.csv ...] [--lexicon-prior X] [--no-lexicon]`
 */
import { parseArgs } from 'node:util';
import { formatConfusion, trainClassifier } from '../classifier';
import { invalidArgument } from '../core/errors';

export async function trainCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      train: { type: 'string' },
      valid: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string', default: '1' },
      epochs: { type: 'string' },
      calibrate: { type: 'string' },
      eval: { type: 'string', multiple: true },
      'lexicon-prior': { type: 'string' },
      'no-lexicon': { type: 'boolean', default: false },
    },
  });
  for (const k of ['train', 'valid', 'out'] as const)
    if (!values[k]) throw invalidArgument(`--${k}`, 'is required');
  const num = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw invalidArgument(`--${flag}`, 'must be a number ≥ 0');
    return n;
  };
  const r = await trainClassifier({
    train: values.train!,
    valid: values.valid!,
    out: values.out!,
    seed: num('seed', values.seed),
    epochs: num('epochs', values.epochs),
    calibrate: values.calibrate,
    evaluate: values.eval,
    lexiconPrior: num('lexicon-prior', values['lexicon-prior']),
    featurizer: values['no-lexicon'] ? { lexicon: false } : undefined,
    log: (line: string) => process.stderr.write(line + '\n'),
  });
  const m = r.valid;
  process.stdout.write(`validation: accuracy ${m.accuracy.toFixed(4)}  macro-F1 ${m.macroF1.toFixed(4)}\n`);
  process.stdout.write(formatConfusion(m, r.labels) + '\n');
  for (const [path, e] of Object.entries(r.eval))
    process.stdout.write(`${path}: accuracy ${e.accuracy.toFixed(4)}  macro-F1 ${e.macroF1.toFixed(4)}\n`);
  if (r.temperature !== 1) process.stdout.write(`temperature ${r.temperature.toFixed(3)}\n`);
  process.stdout.write(`wrote ${values.out} (model.onnx sha256 ${r.modelSha256})\n`);
  return 0;
}
