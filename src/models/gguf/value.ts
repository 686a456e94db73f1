/**
 * Typed GGUF metadata values. The type travels with the value, so a file read back
 * compares equal to what was written (a u8 5 and an i32 5 are different values in GGUF).
 */
import type { GgufScalarType } from './constants';

export type GgufNumberType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64';
export type GgufBigType = 'u64' | 'i64';

export type GgufScalar =
  | { type: GgufNumberType; value: number }
  | { type: GgufBigType; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string };

export type GgufArray =
  | { type: 'array'; itemType: GgufNumberType; value: number[] }
  | { type: 'array'; itemType: GgufBigType; value: bigint[] }
  | { type: 'array'; itemType: 'bool'; value: boolean[] }
  | { type: 'array'; itemType: 'string'; value: string[] };

export type GgufValue = GgufScalar | GgufArray;

/** Metadata in file order (object key order is insertion order for these keys). */
export type GgufMetadata = Record<string, GgufValue>;

/** Short constructors: `kv.u32(32)`, `kv.str('llama')`, `kv.arr('f32', scores)`. */
export const kv = {
  u8: (value: number): GgufValue => ({ type: 'u8', value }),
  i8: (value: number): GgufValue => ({ type: 'i8', value }),
  u16: (value: number): GgufValue => ({ type: 'u16', value }),
  i16: (value: number): GgufValue => ({ type: 'i16', value }),
  u32: (value: number): GgufValue => ({ type: 'u32', value }),
  i32: (value: number): GgufValue => ({ type: 'i32', value }),
  f32: (value: number): GgufValue => ({ type: 'f32', value }),
  f64: (value: number): GgufValue => ({ type: 'f64', value }),
  u64: (value: bigint): GgufValue => ({ type: 'u64', value }),
  i64: (value: bigint): GgufValue => ({ type: 'i64', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  str: (value: string): GgufValue => ({ type: 'string', value }),
  arr: <T extends GgufScalarType>(itemType: T, value: ArrayItems<T>): GgufValue =>
    ({ type: 'array', itemType, value }) as GgufValue,
};

type ArrayItems<T extends GgufScalarType> = T extends GgufBigType
  ? bigint[]
  : T extends 'bool'
    ? boolean[]
    : T extends 'string'
      ? string[]
      : number[];

/** The plain JS value of a metadata entry, or undefined. */
export function metaValue(meta: GgufMetadata, key: string): GgufValue['value'] | undefined {
  return Object.hasOwn(meta, key) ? meta[key]!.value : undefined;
}

/** A numeric metadata entry as a number (u64 included), or undefined. */
export function metaNumber(meta: GgufMetadata, key: string): number | undefined {
  const v = metaValue(meta, key);
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

export function metaString(meta: GgufMetadata, key: string): string | undefined {
  const v = metaValue(meta, key);
  return typeof v === 'string' ? v : undefined;
}
