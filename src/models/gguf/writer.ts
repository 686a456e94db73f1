/**
 * Streams a GGUF v3 file to disk. Layout (ggml/docs/gguf.md):
 *   1. header: magic "GGUF", version u32, tensor count u64, metadata count u64
 *   2. metadata: key (u64 length + UTF-8), value type u32, value
 *   3. tensor infos: name, n_dims u32, dims u64[n_dims] (ne[0] first: the row length),
 *      ggml type u32, data offset u64 (relative to the data section, aligned)
 *   4. padding to `general.alignment`, then each tensor's bytes, each padded to alignment.
 * Tensor data comes from sources pulled one chunk at a time, so an 8B model never sits
 * in memory. The file is written under a temporary name unique to this writer and renamed
 * when complete, so concurrent writers of the same path never interleave.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import {
  GGML_TYPE,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VALUE_TYPE,
  GGUF_VERSION,
  alignUp,
  tensorByteSize,
  type GgmlTypeName,
} from './constants';
import { metaNumber, type GgufMetadata, type GgufValue } from './value';

export interface GgufTensorSource {
  name: string;
  /** ggml order: dims[0] is the row length (ne[0]). */
  dims: readonly number[];
  type: GgmlTypeName;
  /**
   * The tensor's bytes in ggml layout. A function returning chunks is pulled lazily; the
   * writer finishes writing each chunk before asking for the next, so a source may reuse
   * one buffer.
   */
  data: Uint8Array | (() => Iterable<Uint8Array> | AsyncIterable<Uint8Array>);
}

export interface GgufWriteResult {
  path: string;
  bytes: number;
  dataOffset: number;
}

export async function writeGguf(
  path: string,
  metadata: GgufMetadata,
  tensors: readonly GgufTensorSource[],
): Promise<GgufWriteResult> {
  const alignment = metaNumber(metadata, 'general.alignment') ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new RangeError(`general.alignment must be a power of two, got ${alignment}`);
  }
  const { header, offsets, dataBytes } = encodeHeader(metadata, tensors, alignment);
  const part = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.part`;
  const fh = await open(part, 'w');
  try {
    let pos = 0;
    const write = async (buf: Uint8Array): Promise<void> => {
      let done = 0;
      while (done < buf.byteLength) {
        const { bytesWritten } = await fh.write(buf, done, buf.byteLength - done, pos + done);
        done += bytesWritten;
      }
      pos += buf.byteLength;
    };
    await write(header);
    const zeros = new Uint8Array(alignment);
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i]!;
      const expected = tensorByteSize(t.type, t.dims);
      const start = pos;
      if (start !== header.byteLength + offsets[i]!) throw new Error(`internal: ${t.name} misplaced`);
      const chunks = t.data instanceof Uint8Array ? [t.data] : t.data();
      for await (const chunk of chunks) await write(chunk);
      if (pos - start !== expected) {
        throw new RangeError(`tensor ${t.name}: source gave ${pos - start} bytes, layout needs ${expected}`);
      }
      const pad = alignUp(pos, alignment) - pos;
      if (pad > 0) await write(zeros.subarray(0, pad));
    }
    await fh.sync();
    await fh.close();
    await rename(part, path);
    return { path, bytes: header.byteLength + dataBytes, dataOffset: header.byteLength };
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(part, { force: true });
    throw err;
  }
}

/** Header, metadata and tensor infos, padded to the alignment; plus each tensor's offset. */
export function encodeHeader(
  metadata: GgufMetadata,
  tensors: readonly Pick<GgufTensorSource, 'name' | 'dims' | 'type'>[],
  alignment: number,
): { header: Uint8Array; offsets: number[]; dataBytes: number } {
  const out = new ByteSink();
  out.u32(GGUF_MAGIC);
  out.u32(GGUF_VERSION);
  out.u64(BigInt(tensors.length));
  const entries = Object.entries(metadata);
  out.u64(BigInt(entries.length));
  for (const [key, value] of entries) {
    out.string(key);
    writeValue(out, value);
  }
  const offsets: number[] = [];
  let offset = 0;
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new RangeError(`duplicate tensor name ${t.name}`);
    names.add(t.name);
    out.string(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(BigInt(d));
    out.u32(GGML_TYPE[t.type]);
    out.u64(BigInt(offset));
    offsets.push(offset);
    const size = tensorByteSize(t.type, t.dims);
    offset = alignUp(offset + size, alignment);
  }
  out.pad(alignment);
  // Every tensor, the last included, is padded to the alignment, as ggml's gguf writer does.
  return { header: out.bytes(), offsets, dataBytes: offset };
}

function writeValue(out: ByteSink, v: GgufValue): void {
  out.u32(GGUF_VALUE_TYPE[v.type]);
  if (v.type === 'array') {
    out.u32(GGUF_VALUE_TYPE[v.itemType]);
    out.u64(BigInt(v.value.length));
    for (const item of v.value) writeScalar(out, v.itemType, item);
  } else {
    writeScalar(out, v.type, v.value);
  }
}

function writeScalar(out: ByteSink, type: Exclude<GgufValue['type'], 'array'>, value: unknown): void {
  switch (type) {
    case 'u8':
      return out.num(1, (v, o) => v.setUint8(o, value as number));
    case 'i8':
      return out.num(1, (v, o) => v.setInt8(o, value as number));
    case 'u16':
      return out.num(2, (v, o) => v.setUint16(o, value as number, true));
    case 'i16':
      return out.num(2, (v, o) => v.setInt16(o, value as number, true));
    case 'u32':
      return out.u32(value as number);
    case 'i32':
      return out.num(4, (v, o) => v.setInt32(o, value as number, true));
    case 'f32':
      return out.num(4, (v, o) => v.setFloat32(o, value as number, true));
    case 'f64':
      return out.num(8, (v, o) => v.setFloat64(o, value as number, true));
    case 'u64':
      return out.u64(value as bigint);
    case 'i64':
      return out.num(8, (v, o) => v.setBigInt64(o, value as bigint, true));
    case 'bool':
      return out.num(1, (v, o) => v.setUint8(o, value ? 1 : 0));
    case 'string':
      return out.string(value as string);
  }
}

/** Growable little-endian byte buffer for the header. */
class ByteSink {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  private len = 0;
  private static readonly enc = new TextEncoder();

  num(size: number, set: (v: DataView, offset: number) => void): void {
    this.reserve(size);
    set(this.view, this.len);
    this.len += size;
  }
  u32(n: number): void {
    this.num(4, (v, o) => v.setUint32(o, n, true));
  }
  u64(n: bigint): void {
    this.num(8, (v, o) => v.setBigUint64(o, n, true));
  }
  string(s: string): void {
    const bytes = ByteSink.enc.encode(s);
    this.u64(BigInt(bytes.byteLength));
    this.reserve(bytes.byteLength);
    this.buf.set(bytes, this.len);
    this.len += bytes.byteLength;
  }
  pad(alignment: number): void {
    const n = alignUp(this.len, alignment) - this.len;
    this.reserve(n);
    this.len += n; // the buffer is zero-filled
  }
  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
  private reserve(n: number): void {
    if (this.len + n <= this.buf.byteLength) return;
    let size = this.buf.byteLength * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}
