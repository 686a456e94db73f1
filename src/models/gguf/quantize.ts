/**
 * Encoders for the tensor types this project writes, bit-exact with ggml's reference
 * quantizers (quantize_row_q8_0_ref, quantize_row_q4_0_ref in ggml-quants.c). ggml does
 * the arithmetic in float32, so every step goes through Math.fround: a double result
 * rounded once to float32 equals the float32 result for + - * /.
 */
import { GGML_BLOCK, type GgmlTypeName } from './constants';
import { f16ToF32, f32BitsToF16, f32ToF16 } from './fp16';

const fr = Math.fround;
const QK = 32;

/** Bytes `count` elements take in `type`. */
export function encodedSize(type: GgmlTypeName, count: number): number {
  const b = GGML_BLOCK[type];
  if (count % b.elements !== 0) throw new RangeError(`${type}: ${count} is not a whole number of blocks`);
  return (count / b.elements) * b.bytes;
}

/**
 * Encodes `src` as `type` into `out` starting at byte `offset`; returns the bytes written.
 * `out` must have room (see encodedSize). No allocation, so it can run in a hot loop.
 */
export function encodeInto(type: GgmlTypeName, src: Float32Array, out: Uint8Array, offset = 0): number {
  switch (type) {
    case 'f32': {
      const view = new DataView(out.buffer, out.byteOffset + offset, src.length * 4);
      for (let i = 0; i < src.length; i++) view.setFloat32(i * 4, src[i]!, true);
      return src.length * 4;
    }
    case 'f16': {
      let o = offset;
      const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
      for (let i = 0; i < bits.length; i++) {
        const h = f32BitsToF16(bits[i]!);
        out[o++] = h & 0xff;
        out[o++] = h >>> 8;
      }
      return src.length * 2;
    }
    case 'q8_0':
      return encodeQ8_0(src, out, offset);
    case 'q4_0':
      return encodeQ4_0(src, out, offset);
  }
}

export function encode(type: GgmlTypeName, src: Float32Array): Uint8Array {
  const out = new Uint8Array(encodedSize(type, src.length));
  encodeInto(type, src, out, 0);
  return out;
}

function encodeQ8_0(x: Float32Array, out: Uint8Array, offset: number): number {
  const nb = encodedSize('q8_0', x.length) / 34;
  let o = offset;
  for (let i = 0; i < nb; i++) {
    const base = i * QK;
    let amax = 0;
    for (let j = 0; j < QK; j++) {
      const v = Math.abs(x[base + j]!);
      if (v > amax) amax = v;
    }
    const d = fr(amax / 127);
    const id = d !== 0 ? fr(1 / d) : 0;
    const h = f32ToF16(d);
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    o += 2;
    for (let j = 0; j < QK; j++) {
      const v = fr(x[base + j]! * id);
      // roundf: halves away from zero (Math.round alone rounds -2.5 to -2). |v| <= 127,
      // so v ± 0.5 is exact in a double and truncating it (| 0) equals roundf.
      const q = (v < 0 ? v - 0.5 : v + 0.5) | 0;
      out[o++] = q & 0xff;
    }
  }
  return nb * 34;
}

function encodeQ4_0(x: Float32Array, out: Uint8Array, offset: number): number {
  const nb = encodedSize('q4_0', x.length) / 18;
  let o = offset;
  for (let i = 0; i < nb; i++) {
    const base = i * QK;
    // The signed value of largest magnitude maps to -8, so the full 4-bit range is used.
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = x[base + j]!;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fr(max / -8);
    const id = d !== 0 ? fr(1 / d) : 0;
    const h = f32ToF16(d);
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    o += 2;
    // Byte j holds element j in its low nibble and element j+16 in its high nibble.
    for (let j = 0; j < QK / 2; j++) {
      const x0 = fr(x[base + j]! * id);
      const x1 = fr(x[base + QK / 2 + j]! * id);
      // (int8_t) cast: truncation toward zero; x0 + 8.5 is never negative here.
      const q0 = Math.min(15, fr(x0 + 8.5) | 0);
      const q1 = Math.min(15, fr(x1 + 8.5) | 0);
      out[o++] = q0 | (q1 << 4);
    }
  }
  return nb * 18;
}

/** Decodes `count` elements of `type` from `bytes` (for tests and inspection, not hot paths). */
export function decode(type: GgmlTypeName, bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type) {
    case 'f32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    case 'f16':
      for (let i = 0; i < count; i++) out[i] = f16ToF32(view.getUint16(i * 2, true));
      return out;
    case 'q8_0':
      for (let b = 0; b < count / QK; b++) {
        const d = f16ToF32(view.getUint16(b * 34, true));
        for (let j = 0; j < QK; j++) out[b * QK + j] = view.getInt8(b * 34 + 2 + j) * d;
      }
      return out;
    case 'q4_0':
      for (let b = 0; b < count / QK; b++) {
        const d = f16ToF32(view.getUint16(b * 18, true));
        for (let j = 0; j < QK / 2; j++) {
          const byte = bytes[b * 18 + 2 + j]!;
          out[b * QK + j] = ((byte & 0x0f) - 8) * d;
          out[b * QK + j + QK / 2] = ((byte >>> 4) - 8) * d;
        }
      }
      return out;
  }
}
