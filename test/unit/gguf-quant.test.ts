import { describe, expect, it } from 'vitest';
import { decode, encode, f16ToF32, f32ToF16 } from '../../src/models/gguf';

describe('fp16 conversion', () => {
  it('matches IEEE binary16 bit patterns', () => {
    expect(f32ToF16(1)).toBe(0x3c00);
    expect(f32ToF16(-2)).toBe(0xc000);
    expect(f32ToF16(0.1)).toBe(0x2e66);
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(1e6)).toBe(0x7c00); // overflow → +Inf
    expect(f32ToF16(5.960464477539063e-8)).toBe(0x0001); // smallest subnormal
    expect(f32ToF16(1e-7)).toBe(0x0002); // 1e-7 / 2^-24 = 1.68 → 2
    expect(f32ToF16(0)).toBe(0);
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(f32ToF16(NaN) & 0x7c00).toBe(0x7c00);
  });

  it('rounds ties to even', () => {
    // 1 + 2^-11 is halfway between 1 and the next half (1 + 2^-10): ties go to the even 1.
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3·2^-11 is halfway between 0x3c01 and 0x3c02: goes to even 0x3c02.
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it('round-trips every finite half', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      expect(f32ToF16(f16ToF32(h))).toBe(h);
    }
  });
});

describe('Q8_0 blocks', () => {
  it('writes fp16 d = amax/127 then 32 int8 round(x/d)', () => {
    const x = new Float32Array(32).map((_, i) => (i - 16) * 0.5); // -8 .. 7.5
    const bytes = encode('q8_0', x);
    expect(bytes.length).toBe(34);
    const d = 8 / 127;
    expect(bytes[0]! | (bytes[1]! << 8)).toBe(f32ToF16(d));
    const q = new Int8Array(bytes.buffer, 2, 32);
    expect(q[0]).toBe(-127); // -8 is the max magnitude
    expect(q[16]).toBe(0);
    expect(q[17]).toBe(8); // 0.5 / (8/127) = 7.94 → 8
    expect(q[31]).toBe(119); // 7.5 * 127 / 8 = 119.06
  });

  it('rounds halves away from zero like roundf', () => {
    const x = new Float32Array(32);
    x[0] = 127; // d = 1 exactly
    x[1] = 2.5;
    x[2] = -2.5;
    const q = new Int8Array(encode('q8_0', x).buffer, 2, 32);
    expect([q[0], q[1], q[2]]).toEqual([127, 3, -3]);
  });

  it('encodes an all-zero block as d = 0 and zeros', () => {
    expect([...encode('q8_0', new Float32Array(32))]).toEqual(new Array(34).fill(0));
  });
});

describe('Q4_0 blocks', () => {
  it('puts elements 0..15 in low nibbles and 16..31 in high nibbles, value = (q-8)*d', () => {
    // max magnitude is -8 (signed): d = -8 / -8 = 1, so q = x + 8 exactly.
    const x = new Float32Array(32);
    for (let i = 0; i < 16; i++) x[i] = i - 8; // -8..7 → q 0..15
    for (let i = 16; i < 32; i++) x[i] = 7 - (i - 16); // 7..-8 → q 15..0
    const bytes = encode('q4_0', x);
    expect(bytes.length).toBe(18);
    expect(bytes[0]! | (bytes[1]! << 8)).toBe(0x3c00); // d = 1.0
    for (let j = 0; j < 16; j++) {
      expect(bytes[2 + j]! & 0x0f).toBe(j);
      expect(bytes[2 + j]! >>> 4).toBe(15 - j);
    }
    expect([...decode('q4_0', bytes, 32)]).toEqual([...x]);
  });

  it('takes d from the signed extreme, so a positive max gives negative d', () => {
    const x = new Float32Array(32);
    x[3] = 4; // largest magnitude, positive → d = -0.5, q = 4 / -0.5 + 8 = 0
    x[5] = -1; // -1 / -0.5 + 8 = 10
    const bytes = encode('q4_0', x);
    expect(f16ToF32(bytes[0]! | (bytes[1]! << 8))).toBe(-0.5);
    expect(bytes[2 + 3]! & 0x0f).toBe(0);
    expect(bytes[2 + 5]! & 0x0f).toBe(10);
    expect(bytes[2 + 0]! & 0x0f).toBe(8); // zero → 8
    const back = decode('q4_0', bytes, 32);
    expect(back[3]).toBe(4);
    expect(back[5]).toBe(-1);
  });

  it('clamps the nibble at 15', () => {
    const x = new Float32Array(32);
    x[0] = -8; // d = 1
    x[1] = 7.9; // 7.9 + 8.5 = 16.4 → 16 → clamped to 15
    expect(encode('q4_0', x)[3]! & 0x0f).toBe(15);
  });
});

describe('encode/decode error bounds', () => {
  const x = new Float32Array(4096).map((_, i) => Math.sin(i * 0.37) * 0.05);
  it.each([
    ['f32', 0],
    ['f16', 1e-4],
    ['q8_0', 0.05 / 127],
    ['q4_0', 0.05 / 8],
  ] as const)('%s stays within its step', (type, tol) => {
    const back = decode(type, encode(type, x), x.length);
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(back[i]! - x[i]!));
    expect(worst).toBeLessThanOrEqual(tol);
  });

  it('rejects rows that are not whole blocks', () => {
    expect(() => encode('q4_0', new Float32Array(33))).toThrow(RangeError);
  });
});
