import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Featurizer } from '../../src/classifier/featurize';
import { type LinearModel, predictProbs } from '../../src/classifier/linear';
import { buildHashedModel } from '../../src/classifier/onnx/hashedGraph';
import { ProtoWriter } from '../../src/classifier/onnx/protobuf';
import { buildMeanPoolTextModel } from '../../src/classifier/onnx/textGraph';
import { mulberry32 } from '../../src/classifier/prng';

describe('ProtoWriter', () => {
  it('encodes varints, strings and fixed32 floats per the protobuf wire format', () => {
    const w = new ProtoWriter().int(1, 300).string(2, 'hi').float(3, 1.5).int(4, -1);
    expect(Array.from(w.finish())).toEqual([
      0x08,
      0xac,
      0x02, // field 1 varint 300
      0x12,
      0x02,
      0x68,
      0x69, // field 2 "hi"
      0x1d,
      0x00,
      0x00,
      0xc0,
      0x3f, // field 3 fixed32 1.5
      0x20,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0x01, // field 4 int64 -1
    ]);
  });
});

function randomModel(dim: number, classes: number, seed: number): LinearModel {
  const r = mulberry32(seed);
  return {
    dim,
    classes,
    weights: Float32Array.from({ length: dim * classes }, () => (r() - 0.5) * 4),
    bias: Float32Array.from({ length: classes }, () => r() - 0.5),
  };
}

describe('hashed ONNX graph', () => {
  it('loads in onnxruntime and matches the TypeScript forward pass on a batch', async () => {
    const model = randomModel(1 << 10, 3, 3);
    const session = await ort.InferenceSession.create(buildHashedModel(model));
    const f = new Featurizer({ dim: 1 << 10 });
    // The second text has no features: its row must be softmax(bias).
    const texts = [
      'Shares of $XYZ soar 12% on record profit',
      'https://t.co/x',
      'Bank cuts outlook, stock falls',
      'flat',
    ];
    const feats = texts.map((t) => f.featurize(t));
    const nnz = feats.reduce((s, x) => s + x.indices.length, 0);
    const indices = new Int32Array(nnz);
    const values = new Float32Array(nnz);
    const rows = new Int32Array(nnz);
    let o = 0;
    feats.forEach((x, r) => {
      indices.set(x.indices, o);
      values.set(x.values, o);
      rows.fill(r, o, o + x.indices.length);
      o += x.indices.length;
    });
    const out = await session.run({
      indices: new ort.Tensor('int32', indices, [nnz]),
      values: new ort.Tensor('float32', values, [nnz]),
      rows: new ort.Tensor('int32', rows, [nnz]),
      batch_size: new ort.Tensor('int64', BigInt64Array.of(BigInt(texts.length)), [1]),
    });
    const probs = out.probabilities!;
    expect(probs.dims).toEqual([4, 3]);
    feats.forEach((x, r) => {
      const ref = predictProbs(model, x);
      for (let c = 0; c < 3; c++) expect((probs.data as Float32Array)[r * 3 + c]).toBeCloseTo(ref[c]!, 5);
    });
    await session.release();
  });
});

describe('mean-pool text graph', () => {
  it('gives masked mean-pooled logits', async () => {
    const w = {
      vocab: 4,
      hidden: 2,
      classes: 2,
      embeddings: Float32Array.from([0, 0, 1, 0, 0, 1, 3, 3]),
      proj: Float32Array.from([1, 0, 0, 1]),
      bias: Float32Array.from([0.5, -0.5]),
    };
    const s = await ort.InferenceSession.create(buildMeanPoolTextModel(w));
    const out = await s.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.of(1n, 2n, 3n), [1, 3]),
      attention_mask: new ort.Tensor('int64', BigInt64Array.of(1n, 1n, 0n), [1, 3]),
    });
    // mean of rows 1 and 2 = [0.5, 0.5]; token 3 is masked out.
    expect(Array.from(out.logits!.data as Float32Array)).toEqual([1, 0]);
    await s.release();
  });
});
