/**
 * Temperature scaling: one scalar T > 0 that divides the logits so the softmax's
 * confidence matches how often the model is right on held-out data (Guo et al. 2017).
 * It changes no argmax, so accuracy is untouched; it makes `confidence`, and therefore
 * the cascade's `escalateBelow` threshold, mean something. T is folded into W and b, so
 * the ONNX graph stays the same.
 */
import type { SparseVector } from './featurize';
import { type LinearModel, logits } from './linear';

/** Mean negative log-likelihood of `ys` under softmax(z / t). */
function nll(zs: readonly Float64Array[], ys: ArrayLike<number>, t: number): number {
  let total = 0;
  for (let i = 0; i < zs.length; i++) {
    const z = zs[i] as Float64Array;
    let max = -Infinity;
    for (const v of z) if (v / t > max) max = v / t;
    let sum = 0;
    for (const v of z) sum += Math.exp(v / t - max);
    total -= (z[ys[i] as number] as number) / t - max - Math.log(sum);
  }
  return total / Math.max(1, zs.length);
}

/** The temperature minimising NLL on (xs, ys): golden-section search on log T in [1/8, 8]. */
export function fitTemperature(
  model: LinearModel,
  xs: readonly SparseVector[],
  ys: ArrayLike<number>,
): number {
  const zs = xs.map((x) => logits(model, x));
  let lo = Math.log(1 / 8);
  let hi = Math.log(8);
  const g = (Math.sqrt(5) - 1) / 2;
  for (let k = 0; k < 60; k++) {
    const a = hi - g * (hi - lo);
    const b = lo + g * (hi - lo);
    if (nll(zs, ys, Math.exp(a)) < nll(zs, ys, Math.exp(b))) hi = b;
    else lo = a;
  }
  return Math.exp((lo + hi) / 2);
}

/** Divides weights and bias by t in place. */
export function applyTemperature(model: LinearModel, t: number): void {
  for (let k = 0; k < model.weights.length; k++) model.weights[k] = (model.weights[k] as number) / t;
  for (let c = 0; c < model.bias.length; c++) model.bias[c] = (model.bias[c] as number) / t;
}

/** Expected calibration error over equal-width confidence bins (default 10). */
export function expectedCalibrationError(
  probs: readonly ArrayLike<number>[],
  ys: ArrayLike<number>,
  bins = 10,
): number {
  const count = new Float64Array(bins);
  const conf = new Float64Array(bins);
  const hit = new Float64Array(bins);
  probs.forEach((p, i) => {
    let best = 0;
    for (let c = 1; c < p.length; c++) if ((p[c] as number) > (p[best] as number)) best = c;
    const pc = p[best] as number;
    const b = Math.min(bins - 1, Math.floor(pc * bins));
    count[b] = (count[b] as number) + 1;
    conf[b] = (conf[b] as number) + pc;
    hit[b] = (hit[b] as number) + (best === ys[i] ? 1 : 0);
  });
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const n = count[b] as number;
    if (n > 0) ece += (n / probs.length) * Math.abs((hit[b] as number) / n - (conf[b] as number) / n);
  }
  return ece;
}
