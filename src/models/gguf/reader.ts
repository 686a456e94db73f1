/**
 * Reads a GGUF file's header, metadata and tensor infos (not the weights). Small on
 * purpose: for tests and `colo models` inspection. The engine loads weights through
 * llama.cpp, never through this.
 */
import { open } from 'node:fs/promises';
import { ColoError } from '../../core/errors';
import {
  GGML_TYPE_NAMES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VALUE_TYPE_NAME,
  GGML_TYPE,
  alignUp,
  tensorByteSize,
  type GgmlTypeName,
} from './constants';
import { metaNumber, type GgufMetadata, type GgufValue } from './value';

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the row length. */
  dims: number[];
  /** ggml_type id. */
  type: number;
  /** 'F32', 'Q4_0', ... ('type<N>' for ids this reader does not know). */
  typeName: string;
  /** Offset from the start of the data section. */
  offset: number;
}

export interface GgufFile {
  version: number;
  alignment: number;
  metadata: GgufMetadata;
  tensors: GgufTensorInfo[];
  /** Absolute file offset where tensor data begins. */
  dataOffset: number;
}

/** Past this, a header is taken as corrupt rather than read into memory. */
const MAX_HEADER_BYTES = 512 * 1024 * 1024;

class NeedMore extends Error {}

export async function readGguf(path: string): Promise<GgufFile> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    // Most headers fit in 1 MiB; a 150k-token vocabulary needs a few. Grow and re-parse.
    let want = Math.min(size, 1 << 20);
    for (;;) {
      const buf = new Uint8Array(want);
      const { bytesRead } = await fh.read(buf, 0, want, 0);
      try {
        return parseGguf(buf.subarray(0, bytesRead), path);
      } catch (err) {
        if (!(err instanceof NeedMore)) throw err;
        if (want >= size || want >= MAX_HEADER_BYTES)
          throw corrupt(path, 'header runs past the end of the file');
        want = Math.min(size, want * 4, MAX_HEADER_BYTES);
      }
    }
  } finally {
    await fh.close();
  }
}

/** Bytes of one tensor, read from the file (for tests and spot checks). */
export async function readTensorBytes(path: string, file: GgufFile, name: string): Promise<Uint8Array> {
  const t = file.tensors.find((x) => x.name === name);
  if (!t) throw new ColoError('NOT_FOUND', `tensor ${name} not in ${path}`);
  const typeName = t.typeName.toLowerCase() as GgmlTypeName;
  if (!(typeName in GGML_TYPE))
    throw new ColoError('INVALID_ARGUMENT', `cannot size tensor type ${t.typeName}`);
  const size = tensorByteSize(typeName, t.dims);
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(size);
    await fh.read(buf, 0, size, file.dataOffset + t.offset);
    return buf;
  } finally {
    await fh.close();
  }
}

function corrupt(path: string, why: string): ColoError {
  return new ColoError('INVALID_ARGUMENT', `${path} is not a valid GGUF file: ${why}`, { field: 'model' });
}

export function parseGguf(buf: Uint8Array, path = '<buffer>'): GgufFile {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dec = new TextDecoder('utf-8', { fatal: false });
  let pos = 0;
  const need = (n: number): void => {
    if (pos + n > buf.byteLength) throw new NeedMore();
  };
  const u32 = (): number => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const u64 = (): bigint => (need(8), (pos += 8), view.getBigUint64(pos - 8, true));
  const count = (what: string): number => {
    const n = u64();
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(path, `${what} out of range`);
    return Number(n);
  };
  const str = (): string => {
    const n = count('string length');
    need(n);
    const s = dec.decode(buf.subarray(pos, pos + n));
    pos += n;
    return s;
  };
  const scalar = (type: number): GgufValue['value'] => {
    switch (GGUF_VALUE_TYPE_NAME[type]) {
      case 'u8':
        return (need(1), (pos += 1), view.getUint8(pos - 1));
      case 'i8':
        return (need(1), (pos += 1), view.getInt8(pos - 1));
      case 'u16':
        return (need(2), (pos += 2), view.getUint16(pos - 2, true));
      case 'i16':
        return (need(2), (pos += 2), view.getInt16(pos - 2, true));
      case 'u32':
        return u32();
      case 'i32':
        return (need(4), (pos += 4), view.getInt32(pos - 4, true));
      case 'f32':
        return (need(4), (pos += 4), view.getFloat32(pos - 4, true));
      case 'f64':
        return (need(8), (pos += 8), view.getFloat64(pos - 8, true));
      case 'u64':
        return u64();
      case 'i64':
        return (need(8), (pos += 8), view.getBigInt64(pos - 8, true));
      case 'bool':
        return (need(1), (pos += 1), view.getUint8(pos - 1) !== 0);
      case 'string':
        return str();
      default:
        throw corrupt(path, `unknown value type ${type}`);
    }
  };

  // 1. header
  if (u32() !== GGUF_MAGIC) throw corrupt(path, 'bad magic');
  const version = u32();
  if (version !== 2 && version !== 3) throw corrupt(path, `unsupported version ${version}`);
  const tensorCount = count('tensor count');
  const kvCount = count('metadata count');

  // 2. metadata
  const entries: [string, GgufValue][] = [];
  for (let i = 0; i < kvCount; i++) {
    const key = str();
    const type = u32();
    const typeName = GGUF_VALUE_TYPE_NAME[type];
    if (typeName === 'array') {
      const itemType = u32();
      const itemName = GGUF_VALUE_TYPE_NAME[itemType];
      if (itemName === undefined || itemName === 'array')
        throw corrupt(path, `bad array item type ${itemType} in ${key}`);
      const n = count('array length');
      const items: unknown[] = new Array(n);
      for (let j = 0; j < n; j++) items[j] = scalar(itemType);
      entries.push([key, { type: 'array', itemType: itemName, value: items } as GgufValue]);
    } else {
      if (typeName === undefined) throw corrupt(path, `unknown value type ${type} in ${key}`);
      entries.push([key, { type: typeName, value: scalar(type) } as GgufValue]);
    }
  }
  const metadata: GgufMetadata = Object.fromEntries(entries);

  // 3. tensor infos
  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = str();
    const nDims = u32();
    if (nDims > 4) throw corrupt(path, `tensor ${name} has ${nDims} dims`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(count('tensor dim'));
    const type = u32();
    const offset = count('tensor offset');
    tensors.push({ name, dims, type, typeName: GGML_TYPE_NAMES[type] ?? `type${type}`, offset });
  }

  // 4. the data section starts at the next aligned offset
  const alignment = metaNumber(metadata, 'general.alignment') ?? GGUF_DEFAULT_ALIGNMENT;
  return { version, alignment, metadata, tensors, dataOffset: alignUp(pos, alignment) };
}
