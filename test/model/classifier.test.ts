/**
 * The classifier path on real data: train on twitter-financial-news-sentiment, export
 * ONNX, load it with onnxruntime, and serve it inline and from a pool. Also the HF-style
 * path with a tiny WordPiece tokenizer fixture and a model written by our ONNX writer.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Classifier } from '../../src/classifier/classifier';
import { parseLabelledCsv } from '../../src/classifier/csv';
import { Featurizer } from '../../src/classifier/featurize';
import { predictProbs } from '../../src/classifier/linear';
import { HashedRunner } from '../../src/classifier/hashedRunner';
import { hashedGraph, readHashedModel } from '../../src/classifier/onnx/hashedGraph';
import { encodeModel } from '../../src/classifier/onnx/onnx';
import type { LinearModel } from '../../src/classifier/linear';
import { buildMeanPoolTextModel } from '../../src/classifier/onnx/textGraph';
import { ClassifierRegistry } from '../../src/classifier/registry';
import { type TrainResult, trainClassifier } from '../../src/classifier/train';
import type { ColoError } from '../../src/core/errors';

const DATA = join(import.meta.dirname, '../../../shared/data/twitter-financial-news-sentiment');
const TRAIN = join(DATA, 'train.csv');
const VALID = join(DATA, 'valid.csv');
const FIXTURES = join(import.meta.dirname, '../fixtures/classifier');

if (!existsSync(TRAIN) || !existsSync(VALID)) {
  throw new Error(`classifier model tests need the labelled data at ${DATA} (see ../shared/data)`);
}

const errorOf = async (p: Promise<unknown>): Promise<ColoError> => {
  try {
    await p;
  } catch (err) {
    return err as ColoError;
  }
  throw new Error('expected a rejection');
};

let tmp: string;
let trained: TrainResult;
let validTexts: string[];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'colo-classifier-test-'));
  // Default options: the figures the README reports.
  trained = await trainClassifier({ train: TRAIN, valid: VALID, out: join(tmp, 'model'), seed: 1 });
  validTexts = parseLabelledCsv(await readFile(VALID, 'utf8'), 3).map((e) => e.text);
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('trainClassifier', () => {
  it('reaches the accuracy and macro-F1 floor on valid (measured 0.843 / 0.791)', () => {
    expect(trained.valid.examples).toBe(2388);
    expect(trained.valid.accuracy).toBeGreaterThanOrEqual(0.84);
    expect(trained.valid.macroF1).toBeGreaterThanOrEqual(0.78);
  });

  it('writes the model directory layout', async () => {
    for (const f of ['model.onnx', 'featurizer.json', 'labels.json', 'metrics.json'])
      expect(existsSync(join(tmp, 'model', f))).toBe(true);
    expect(JSON.parse(await readFile(join(tmp, 'model', 'labels.json'), 'utf8'))).toEqual([
      'bearish',
      'bullish',
      'neutral',
    ]);
    const metrics = JSON.parse(await readFile(join(tmp, 'model', 'metrics.json'), 'utf8'));
    expect(metrics.valid.accuracy).toBe(trained.valid.accuracy);
    expect(metrics.modelSha256).toBe(trained.modelSha256);
  });

  it('is deterministic for a seed and differs across seeds', async () => {
    const opts = { train: TRAIN, valid: VALID, epochs: 2 };
    const a = await trainClassifier({ ...opts, out: join(tmp, 'a'), seed: 5 });
    const b = await trainClassifier({ ...opts, out: join(tmp, 'b'), seed: 5 });
    const c = await trainClassifier({ ...opts, out: join(tmp, 'c'), seed: 6 });
    expect(b.modelSha256).toBe(a.modelSha256);
    expect(
      Buffer.compare(await readFile(join(tmp, 'a/model.onnx')), await readFile(join(tmp, 'b/model.onnx'))),
    ).toBe(0);
    expect(b.valid).toEqual(a.valid);
    expect(c.modelSha256).not.toBe(a.modelSha256);
  });
});

describe('Classifier (hashed ONNX)', () => {
  it('onnxruntime gives the same probabilities as the TypeScript reference forward pass', async () => {
    const c = await Classifier.load(join(tmp, 'model'), { kernel: 'onnx' });
    try {
      const f = new Featurizer(trained.featurizer);
      const sample = validTexts.slice(0, 300);
      const got = await c.classify(sample);
      let agree = 0;
      got.forEach((g, i) => {
        const ref = predictProbs(trained.model, f.featurize(sample[i]!));
        for (let k = 0; k < 3; k++) expect(g.probs[k]).toBeCloseTo(ref[k]!, 5);
        if (g.label === c.labels[ref.indexOf(Math.max(...ref))]) agree++;
      });
      expect(agree).toBe(sample.length);
      expect(got[0]!.confidence).toBe(Math.max(...got[0]!.probs));
    } finally {
      await c.close();
    }
  });

  it("serves Colo's own graph with the TypeScript kernel, answering as onnxruntime does", async () => {
    const auto = await HashedRunner.load(join(tmp, 'model'));
    const onnx = await HashedRunner.load(join(tmp, 'model'), { kernel: 'onnx' });
    try {
      expect(auto.kernel).toBe('typescript');
      expect(onnx.kernel).toBe('onnx');
      const sample = validTexts.slice(0, 300);
      const [a, b] = await Promise.all([auto.run(sample), onnx.run(sample)]);
      expect(a.length).toBe(sample.length * 3);
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5);
    } finally {
      await Promise.all([auto.close(), onnx.close()]);
    }
  });

  it('keeps any other hashed graph on onnxruntime', async () => {
    // The same weights behind one extra node: not the graph buildHashedModel writes.
    const dir = join(tmp, 'other-graph');
    await mkdir(dir, { recursive: true });
    for (const f of ['featurizer.json', 'labels.json']) await copyFile(join(tmp, 'model', f), join(dir, f));
    const linear = readHashedModel(await readFile(join(tmp, 'model', 'model.onnx')))!;
    expect(linear.classes).toBe(3);
    await writeFile(join(dir, 'model.onnx'), hashedWithExtraNode(linear));
    const r = await HashedRunner.load(dir);
    const ref = await HashedRunner.load(join(tmp, 'model'));
    try {
      expect(r.kernel).toBe('onnx');
      const sample = validTexts.slice(0, 50);
      const [a, b] = await Promise.all([r.run(sample), ref.run(sample)]);
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5);
    } finally {
      await Promise.all([r.close(), ref.close()]);
    }
  });

  it('pool mode answers exactly like inline mode', async () => {
    const inline = await Classifier.load(join(tmp, 'model'), { mode: 'inline' });
    const pool = await Classifier.load(join(tmp, 'model'), { mode: 'pool', poolThreads: 1 });
    try {
      const sample = validTexts.slice(0, 50);
      const [a, b] = await Promise.all([inline.classify(sample), pool.classify(sample)]);
      expect(b).toEqual(a);
      expect(pool.mode).toBe('pool');
    } finally {
      await Promise.all([inline.close(), pool.close()]);
    }
  });

  it('rejects empty, oversize and non-UTF-8 texts with INVALID_ARGUMENT naming the text', async () => {
    const c = await Classifier.load(join(tmp, 'model'), { maxTextBytes: 64 });
    try {
      expect(await errorOf(c.classify(['fine', '']))).toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'texts[1]',
      });
      expect(await errorOf(c.classify(['x'.repeat(65)]))).toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'texts[0]',
      });
      expect(await errorOf(c.classify([Buffer.from([0xc3, 0x28])]))).toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      expect((await c.classify([Buffer.from('Stock soars 20% on buyout')]))[0]!.label).toBe('bullish');
    } finally {
      await c.close();
    }
  });

  it('fails with OVERLOADED rather than queueing past maxQueue', async () => {
    const c = await Classifier.load(join(tmp, 'model'), { maxQueue: 4 });
    try {
      expect(await errorOf(c.classify(validTexts.slice(0, 5)))).toMatchObject({ code: 'OVERLOADED' });
      expect(await c.classify(validTexts.slice(0, 4))).toHaveLength(4);
    } finally {
      await c.close();
    }
  });
});

async function modelDirWith(name: string, edit: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(tmp, name);
  await mkdir(dir, { recursive: true });
  for (const f of ['model.onnx', 'featurizer.json', 'labels.json'])
    await copyFile(join(tmp, 'model', f), join(dir, f));
  await edit(dir);
  return dir;
}

describe('bad model directories', () => {
  it('a corrupt model.onnx gives MODEL_LOAD_FAILED naming the file', async () => {
    const dir = await modelDirWith('corrupt', (d) =>
      copyFile(join(FIXTURES, 'corrupt.onnx'), join(d, 'model.onnx')),
    );
    const err = await errorOf(Classifier.load(dir));
    expect(err.code).toBe('MODEL_LOAD_FAILED');
    expect(err.message).toContain(join(dir, 'model.onnx'));
  });

  it('a missing model.onnx gives MODEL_LOAD_FAILED naming the file', async () => {
    const dir = await modelDirWith('missing', (d) => rm(join(d, 'model.onnx')));
    const err = await errorOf(Classifier.load(dir));
    expect(err).toMatchObject({ code: 'MODEL_LOAD_FAILED' });
    expect(err.message).toMatch(/model\.onnx: file not found/);
  });

  it('labels.json with the wrong class count gives MODEL_LOAD_FAILED', async () => {
    const dir = await modelDirWith('labels', (d) => writeFile(join(d, 'labels.json'), '["down","up"]'));
    const err = await errorOf(Classifier.load(dir));
    expect(err.code).toBe('MODEL_LOAD_FAILED');
    expect(err.message).toContain('outputs 3 classes but labels.json names 2');
  });

  it('an invalid featurizer.json gives MODEL_LOAD_FAILED naming the file', async () => {
    const dir = await modelDirWith('feat', (d) => writeFile(join(d, 'featurizer.json'), '{"dim": 1000}'));
    const err = await errorOf(Classifier.load(dir));
    expect(err.code).toBe('MODEL_LOAD_FAILED');
    expect(err.message).toContain('featurizer.json');
  });

  it('the registry keeps serving the good models when one fails', async () => {
    const bad = await modelDirWith('corrupt2', (d) =>
      copyFile(join(FIXTURES, 'corrupt.onnx'), join(d, 'model.onnx')),
    );
    const reg = await ClassifierRegistry.create({
      models: [
        { name: 'broken', dir: bad },
        { name: 'sentiment', dir: join(tmp, 'model') },
      ],
    });
    try {
      expect(reg.status().map((s) => [s.name, s.state, s.error?.code])).toEqual([
        ['broken', 'failed', 'MODEL_LOAD_FAILED'],
        ['sentiment', 'ready', undefined],
      ]);
      expect(
        (await reg.get('sentiment').classifyOne('Company X shares plunge after guidance cut')).label,
      ).toBe('bearish');
      expect(() => reg.get('broken')).toThrow(expect.objectContaining({ code: 'NOT_READY' }));
      expect(() => reg.get('nope')).toThrow(expect.objectContaining({ code: 'MODEL_NOT_FOUND' }));
    } finally {
      await reg.close();
    }
  });
});

describe('HF-style model (tokenizer.json + ONNX)', () => {
  // Vocab ids from the fixture: rises 5, falls 6, profit 7, loss 8, up 9, down 10, rise 14, fall 15.
  const VOCAB = 17;
  const embeddings = new Float32Array(VOCAB * 3);
  for (const id of [5, 7, 9, 14]) embeddings[id * 3 + 1] = 3; // bullish dim
  for (const id of [6, 8, 10, 15]) embeddings[id * 3 + 0] = 3; // bearish dim
  for (const id of [4, 11, 12, 16]) embeddings[id * 3 + 2] = 1; // neutral-ish words

  async function hfDir(name: string, labels: string[]): Promise<string> {
    const dir = join(tmp, name);
    await mkdir(dir, { recursive: true });
    for (const f of ['tokenizer.json', 'tokenizer_config.json'])
      await copyFile(join(FIXTURES, 'wordpiece', f), join(dir, f));
    const model = buildMeanPoolTextModel({
      vocab: VOCAB,
      hidden: 3,
      classes: 3,
      embeddings,
      proj: Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]),
      bias: new Float32Array(3),
    });
    await writeFile(join(dir, 'model.onnx'), model);
    await writeFile(join(dir, 'labels.json'), JSON.stringify(labels));
    return dir;
  }

  it('tokenizes with WordPiece, runs the model and softmaxes the logits', async () => {
    const c = await Classifier.load(await hfDir('hf', ['bearish', 'bullish', 'neutral']));
    try {
      expect(c.kind).toBe('hf');
      const [up, down, flat] = await c.classify(['Stock RISES', 'shares fall', 'the stock']);
      expect(up!.label).toBe('bullish');
      expect(down!.label).toBe('bearish');
      expect(flat!.label).toBe('neutral');
      // 'Stock RISES' → [CLS] stock rises [SEP]: mean = [0, 3/4, 1/4].
      const z = [0, 0.75, 0.25].map(Math.exp);
      const sum = z.reduce((a, b) => a + b, 0);
      z.forEach((v, k) => expect(up!.probs[k]).toBeCloseTo(v / sum, 5));
    } finally {
      await c.close();
    }
  });

  it('cuts long texts to maxTokens but keeps the closing [SEP]', async () => {
    const c = await Classifier.load(await hfDir('hf-trunc', ['bearish', 'bullish', 'neutral']), {
      maxTokens: 4,
    });
    try {
      // Kept: [CLS] rises rises [SEP] → mean [0, 1.5, 0]; the falls after the cut do not count.
      const [r] = await c.classify(['rises rises falls falls falls falls']);
      expect(r!.label).toBe('bullish');
      const z = [0, 1.5, 0].map(Math.exp);
      expect(r!.probs[1]).toBeCloseTo(z[1]! / (z[0]! + z[1]! + z[2]!), 5);
    } finally {
      await c.close();
    }
  });

  it('a label count that differs from the model output gives MODEL_LOAD_FAILED', async () => {
    const err = await errorOf(Classifier.load(await hfDir('hf-bad', ['down', 'up'])));
    expect(err.code).toBe('MODEL_LOAD_FAILED');
    expect(err.message).toContain('labels.json');
  });
});

/** Colo's hashed graph with an Identity node before the output: same answers, another graph. */
function hashedWithExtraNode(m: LinearModel): Uint8Array {
  const g = hashedGraph(m);
  const softmax = g.nodes.at(-1)!;
  return encodeModel({
    opset: 17,
    graph: {
      ...g,
      name: 'hashed_plus_identity',
      nodes: [
        ...g.nodes.slice(0, -1),
        { ...softmax, outputs: ['probs'] },
        { op: 'Identity', inputs: ['probs'], outputs: softmax.outputs },
      ],
    },
  });
}
