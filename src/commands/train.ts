/** `colo train-classifier --train train.csv --valid valid.csv --out DIR [--seed N] [--epochs N]` */
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
    },
  });
  for (const k of ['train', 'valid', 'out'] as const)
    if (!values[k]) throw invalidArgument(`--${k}`, 'is required');
  const r = await trainClassifier({
    train: values.train!,
    valid: values.valid!,
    out: values.out!,
    seed: Number(values.seed),
    epochs: values.epochs ? Number(values.epochs) : undefined,
    log: (line: string) => process.stderr.write(line + '\n'),
  });
  const m = r.valid;
  process.stdout.write(`validation: accuracy ${m.accuracy.toFixed(4)}  macro-F1 ${m.macroF1.toFixed(4)}\n`);
  process.stdout.write(formatConfusion(m, r.labels) + '\n');
  process.stdout.write(`wrote ${values.out} (model.onnx sha256 ${r.modelSha256})\n`);
  return 0;
}
