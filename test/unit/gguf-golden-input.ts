/**
 * The input of the ggml golden test: 65,536 floats mixing small normal weights, wide
 * values, exact ties (k + 0.5), an all-zero block, near-subnormal values and values near
 * the fp16 limit. Deterministic, so its quantized bytes can be pinned by sha256.
 */
import { Xoshiro128 } from '../../src/models/synthetic/random';

export function goldenInput(): Float32Array {
  const x = new Float32Array(65536);
  const rng = new Xoshiro128(123);
  rng.fillNormal(x.subarray(0, 32768), 0.02);
  rng.fillNormal(x.subarray(32768, 49152), 5);
  for (let i = 49152; i < 57344; i++) x[i] = (i % 255) - 127 + (i % 2) * 0.5;
  // 57344..57375 stays zero: an all-zero block.
  rng.fillNormal(x.subarray(57376, 61440), 1e-6);
  rng.fillNormal(x.subarray(61440, 65536), 20000);
  return x;
}
