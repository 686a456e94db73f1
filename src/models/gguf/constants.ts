/**
 * GGUF v3 and ggml constants. Numbers are fixed by the file format (ggml/include/gguf.h,
 * ggml/include/ggml.h, llama.cpp's llama_ftype); never renumber.
 */

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types (gguf_type). */
export const GGUF_VALUE_TYPE = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;
export type GgufScalarType = Exclude<keyof typeof GGUF_VALUE_TYPE, 'array'>;
export type GgufValueType = keyof typeof GGUF_VALUE_TYPE;

export const GGUF_VALUE_TYPE_NAME: Readonly<Record<number, GgufValueType>> = Object.freeze(
  Object.fromEntries(Object.entries(GGUF_VALUE_TYPE).map(([k, v]) => [v, k as GgufValueType])),
);

/** Tensor element types this project writes (ggml_type), with their block layouts. */
export const GGML_TYPE = { f32: 0, f16: 1, q4_0: 2, q8_0: 8 } as const;
export type GgmlTypeName = keyof typeof GGML_TYPE;

/** Elements per block and bytes per block, as ggml lays them out. */
export const GGML_BLOCK: Readonly<Record<GgmlTypeName, { elements: number; bytes: number }>> = Object.freeze({
  f32: { elements: 1, bytes: 4 },
  f16: { elements: 1, bytes: 2 },
  // block_q4_0 { ggml_half d; uint8_t qs[16]; }
  q4_0: { elements: 32, bytes: 18 },
  // block_q8_0 { ggml_half d; int8_t qs[32]; }
  q8_0: { elements: 32, bytes: 34 },
});

/** Names of every ggml_type id, for inspecting files written by other tools. */
export const GGML_TYPE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0: 'F32',
  1: 'F16',
  2: 'Q4_0',
  3: 'Q4_1',
  6: 'Q5_0',
  7: 'Q5_1',
  8: 'Q8_0',
  9: 'Q8_1',
  10: 'Q2_K',
  11: 'Q3_K',
  12: 'Q4_K',
  13: 'Q5_K',
  14: 'Q6_K',
  15: 'Q8_K',
  16: 'IQ2_XXS',
  17: 'IQ2_XS',
  18: 'IQ3_XXS',
  19: 'IQ1_S',
  20: 'IQ4_NL',
  21: 'IQ3_S',
  22: 'IQ2_S',
  23: 'IQ4_XS',
  24: 'I8',
  25: 'I16',
  26: 'I32',
  27: 'I64',
  28: 'F64',
  29: 'IQ1_M',
  30: 'BF16',
  34: 'TQ1_0',
  35: 'TQ2_0',
  39: 'MXFP4',
});

/** llama.cpp's llama_ftype (general.file_type) for the types this project writes. */
export const LLAMA_FTYPE: Readonly<Record<GgmlTypeName, number>> = Object.freeze({
  f32: 0, // LLAMA_FTYPE_ALL_F32
  f16: 1, // LLAMA_FTYPE_MOSTLY_F16
  q4_0: 2, // LLAMA_FTYPE_MOSTLY_Q4_0
  q8_0: 7, // LLAMA_FTYPE_MOSTLY_Q8_0
});

export const LLAMA_FTYPE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0: 'F32',
  1: 'F16',
  2: 'Q4_0',
  3: 'Q4_1',
  7: 'Q8_0',
  8: 'Q5_0',
  9: 'Q5_1',
  10: 'Q2_K',
  11: 'Q3_K_S',
  12: 'Q3_K_M',
  13: 'Q3_K_L',
  14: 'Q4_K_S',
  15: 'Q4_K_M',
  16: 'Q5_K_S',
  17: 'Q5_K_M',
  18: 'Q6_K',
  32: 'BF16',
  36: 'TQ1_0',
  37: 'TQ2_0',
  38: 'MXFP4_MOE',
});

/** Bytes a tensor of `elements` elements takes; throws if rows are not whole blocks. */
export function tensorByteSize(type: GgmlTypeName, dims: readonly number[]): number {
  const block = GGML_BLOCK[type];
  const row = dims[0] ?? 1;
  if (row % block.elements !== 0) {
    throw new RangeError(`${type} needs rows that are a multiple of ${block.elements} elements, got ${row}`);
  }
  const elements = dims.reduce((a, b) => a * b, 1);
  return (elements / block.elements) * block.bytes;
}

export const alignUp = (n: number, alignment: number): number => Math.ceil(n / alignment) * alignment;
