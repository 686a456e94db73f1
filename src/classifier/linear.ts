/**
 * The multinomial logistic-regression model over hashed features, and its reference
 * forward pass in TypeScript. The ONNX graph (onnx/hashedGraph.ts) computes the same
 * thing; tests hold the two to agree.
 */
import type { SparseVector } from './featurize';

export interface LinearModel {
  dim: number;
  classes: number;
  /** Row-major [dim, classes]: the row of a bucket is contiguous, which suits Gather. */
  weights: Float32Array;
  bias: Float32Array;
}

/** logits = bias + Σ values[j] · W[indices[j], :], accumulated in float64. */
export function logits(
  model: LinearModel,
  x: SparseVector,
  out = new Float64Array(model.classes),
): Float64Array {
  const C = model.classes;
  for (let c = 0; c < C; c++) out[c] = model.bias[c] as number;
  for (let j = 0; j < x.indices.length; j++) {
    const v = x.values[j] as number;
    const row = (x.indices[j] as number) * C;
    for (let c = 0; c < C; c++) out[c] = (out[c] as number) + v * (model.weights[row + c] as number);
  }
  return out;
}

/** In-place numerically stable softmax. */
export function softmax(z: Float64Array): Float64Array {
  let max = -Infinity;
  for (let c = 0; c < z.length; c++) if ((z[c] as number) > max) max = z[c] as number;
  let sum = 0;
  for (let c = 0; c < z.length; c++) {
    const e = Math.exp((z[c] as number) - max);
    z[c] = e;
    sum += e;
  }
  for (let c = 0; c < z.length; c++) z[c] = (z[c] as number) / sum;
  return z;
}

export function predictProbs(model: LinearModel, x: SparseVector): Float64Array {
  return softmax(logits(model, x));
}

export function argmax(p: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < p.length; c++) if ((p[c] as number) > (p[best] as number)) best = c;
  return best;
}
