/**
 * Classifying one headline with the hashed classifier: the two kernels (TypeScript, the
 * default for Colo's own graph, vs featurize + onnxruntime run), inline on this thread vs
 * through the Piscina pool, one text vs a batch of 32, featurize alone, and the
 * dense-input alternative we did not pick (float [1, 2^14] · W) for comparison.
 *
 *   node bench/lib/run.mjs bench/micro/classifier.bench.ts
 *
 * Trains the model first (defaults, ~2 s) into node_modules/.cache/colo-bench/classifier.
 */
import { existsSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Classifier } from '../../src/classifier/classifier';
import { parseLabelledCsv } from '../../src/classifier/csv';
import { HashedRunner } from '../../src/classifier/hashedRunner';
import { DataType, encodeModel } from '../../src/classifier/onnx/onnx';
import { trainClassifier } from '../../src/classifier/train';
import { runMicro } from '../lib';

const DATA = join(process.cwd(), '../shared/data/twitter-financial-news-sentiment');
const MODEL = join(process.cwd(), 'node_modules/.cache/colo-bench/classifier');
if (!existsSync(join(MODEL, 'model.onnx'))) {
  await trainClassifier({ train: join(DATA, 'train.csv'), valid: join(DATA, 'valid.csv'), out: MODEL });
}
const texts = parseLabelledCsv(readFileSync(join(DATA, 'valid.csv'), 'utf8'), 3).map((e) => e.text);
const inline = await Classifier.load(MODEL, { mode: 'inline' });
const pool = await Classifier.load(MODEL, { mode: 'pool', poolThreads: 1 });
const runner = await HashedRunner.load(MODEL, { kernel: 'onnx' });
const tsRunner = await HashedRunner.load(MODEL);
if (tsRunner.kernel !== 'typescript') throw new Error('the TypeScript kernel was not chosen');

// Dense alternative: [1, D] float input, D = 2^14, MatMul + Add + Softmax.
const D = 1 << 14;
const dense = await ort.InferenceSession.create(
  encodeModel({
    opset: 17,
    graph: {
      name: 'dense',
      initializers: [
        { name: 'W', dataType: DataType.FLOAT, dims: [D, 3], data: new Float32Array(D * 3).fill(0.01) },
        { name: 'b', dataType: DataType.FLOAT, dims: [3], data: new Float32Array(3) },
      ],
      nodes: [
        { op: 'MatMul', inputs: ['x', 'W'], outputs: ['z'] },
        { op: 'Add', inputs: ['z', 'b'], outputs: ['l'] },
        { op: 'Softmax', inputs: ['l'], outputs: ['p'], attrs: { axis: { int: -1 } } },
      ],
      inputs: [{ name: 'x', dataType: DataType.FLOAT, shape: [1, D] }],
      outputs: [{ name: 'p', dataType: DataType.FLOAT, shape: [1, 3] }],
    },
  }),
  { intraOpNumThreads: 1, interOpNumThreads: 1 },
);
const denseX = new Float32Array(D);
const f = runner.featurizer;

let i = 0;
const next = (): string => texts[i++ % texts.length] as string;
const batch32 = (): string[] => Array.from({ length: 32 }, next);

await runMicro(
  'classifier',
  [
    { name: 'featurize 1 (alone)', fn: () => void f.featurize(next()) },
    { name: 'runner.run 1, TypeScript kernel (featurize+dot)', fn: () => tsRunner.run([next()]) },
    { name: 'runner.run 1, onnxruntime kernel (featurize+ort)', fn: () => runner.run([next()]) },
    { name: 'inline classify 1', fn: () => inline.classify([next()]) },
    { name: 'inline classify 32 (per text)', fn: () => inline.classify(batch32()), batch: 32 },
    { name: 'pool classify 1', fn: () => pool.classify([next()]) },
    { name: 'pool classify 32 (per text)', fn: () => pool.classify(batch32()), batch: 32 },
    {
      name: 'dense [1,2^14] featurize+ort (alternative)',
      fn: async () => {
        const x = f.featurize(next());
        denseX.fill(0);
        for (let k = 0; k < x.indices.length; k++) denseX[x.indices[k]! & (D - 1)] = x.values[k]!;
        await dense.run({ x: new ort.Tensor('float32', denseX, [1, D]) });
      },
    },
  ],
  {
    check: async () => {
      const probe = [
        'Shares soar 20% after earnings beat',
        'Company cuts guidance, stock plunges',
        'Fed minutes due Wednesday',
      ];
      const a = await inline.classify(probe);
      const b = await pool.classify(probe);
      if (a.map((r) => r.label).join() !== 'bullish,bearish,neutral')
        throw new Error(`unexpected labels ${a.map((r) => r.label)}`);
      if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error('pool and inline disagree');
      const [x, y] = await Promise.all([tsRunner.run(probe), runner.run(probe)]);
      if (x.some((v, k) => Math.abs(v - y[k]!) > 1e-5)) throw new Error('the two kernels disagree');
    },
    meta: { model: MODEL, threads: 1 },
  },
);
await Promise.all([inline.close(), pool.close(), runner.close(), tsRunner.close(), dense.release()]);
