import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GGUF_MAGIC,
  decode,
  encode,
  kv,
  readGguf,
  readTensorBytes,
  writeGguf,
  type GgufMetadata,
  type GgufTensorSource,
} from '../../src/models/gguf';
import { formatParameters, inspectModel } from '../../src/models';
import { tempDir, tinyModelPath } from '../helpers/models';

// One of every value type, arrays of every item type, and edge values for each width.
const metadata: GgufMetadata = {
  'general.architecture': kv.str('llama'),
  'general.alignment': kv.u32(32),
  'test.u8': kv.u8(255),
  'test.i8': kv.i8(-128),
  'test.u16': kv.u16(65535),
  'test.i16': kv.i16(-32768),
  'test.u32': kv.u32(0xffffffff),
  'test.i32': kv.i32(-2147483648),
  'test.f32': kv.f32(Math.fround(3.14159)),
  'test.f64': kv.f64(Math.PI),
  'test.u64': kv.u64(2n ** 64n - 1n),
  'test.i64': kv.i64(-(2n ** 63n)),
  'test.bool': kv.bool(true),
  'test.string': kv.str('héllo ▁wörld 🚀'),
  'test.empty': kv.str(''),
  'test.arr.u8': kv.arr('u8', [0, 1, 255]),
  'test.arr.i8': kv.arr('i8', [-1, 127]),
  'test.arr.u16': kv.arr('u16', [1, 65535]),
  'test.arr.i16': kv.arr('i16', [-2, 300]),
  'test.arr.u32': kv.arr('u32', [7, 0xffffffff]),
  'test.arr.i32': kv.arr('i32', [-7, 6]),
  'test.arr.f32': kv.arr('f32', [0.5, -1.25]),
  'test.arr.f64': kv.arr('f64', [1e300, -0.1]),
  'test.arr.u64': kv.arr('u64', [0n, 2n ** 40n]),
  'test.arr.i64': kv.arr('i64', [-(2n ** 40n)]),
  'test.arr.bool': kv.arr('bool', [true, false, true]),
  'test.arr.string': kv.arr('string', ['<s>', '', '▁the']),
  'test.arr.empty': kv.arr('u32', []),
};

const values = new Float32Array(64 * 3).map((_, i) => Math.cos(i) * 0.1);
const tensors: GgufTensorSource[] = [
  { name: 'a.f32', dims: [5], type: 'f32', data: encode('f32', new Float32Array([1, 2, 3, 4, 5])) },
  { name: 'b.f16', dims: [64, 3], type: 'f16', data: encode('f16', values) },
  // A chunked source: the writer must pull it lazily and in order.
  {
    name: 'c.q8_0',
    dims: [64, 3],
    type: 'q8_0',
    data: () => [encode('q8_0', values.subarray(0, 128)), encode('q8_0', values.subarray(128))],
  },
  { name: 'd.q4_0', dims: [64, 3], type: 'q4_0', data: encode('q4_0', values) },
];

let dir: string;
let remove: () => Promise<void>;
let path: string;

beforeAll(async () => {
  ({ dir, remove } = await tempDir());
  path = join(dir, 'rt.gguf');
  await writeGguf(path, metadata, tensors);
});
afterAll(() => remove());

describe('GGUF writer and reader', () => {
  it('writes a v3 header', async () => {
    const bytes = await readFile(path);
    expect(bytes.readUInt32LE(0)).toBe(GGUF_MAGIC);
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('GGUF');
    expect(bytes.readUInt32LE(4)).toBe(3);
    expect(bytes.readBigUInt64LE(8)).toBe(4n);
    expect(bytes.readBigUInt64LE(16)).toBe(BigInt(Object.keys(metadata).length));
  });

  it('round-trips every metadata value type with its type', async () => {
    const f = await readGguf(path);
    expect(f.version).toBe(3);
    expect(f.metadata).toEqual(metadata);
    expect(Object.keys(f.metadata)).toEqual(Object.keys(metadata)); // order preserved
  });

  it('aligns the data section and every tensor to 32 bytes', async () => {
    const f = await readGguf(path);
    expect(f.dataOffset % 32).toBe(0);
    expect(f.tensors.map((t) => t.offset % 32)).toEqual([0, 0, 0, 0]);
    expect(f.tensors.map((t) => [t.name, t.typeName, t.dims])).toEqual([
      ['a.f32', 'F32', [5]],
      ['b.f16', 'F16', [64, 3]],
      ['c.q8_0', 'Q8_0', [64, 3]],
      ['d.q4_0', 'Q4_0', [64, 3]],
    ]);
    // f32[5] = 20 bytes, padded to 32; f16 64x3 = 384; q8_0 6 blocks = 204 → 224.
    expect(f.tensors.map((t) => t.offset)).toEqual([0, 32, 416, 640]);
    const size = (await readFile(path)).byteLength;
    expect(size).toBe(f.dataOffset + 640 + 128); // q4_0 6 blocks = 108 → padded 128
  });

  it('places tensor bytes where the infos say', async () => {
    const f = await readGguf(path);
    expect([...decode('f32', await readTensorBytes(path, f, 'a.f32'), 5)]).toEqual([1, 2, 3, 4, 5]);
    expect(await readTensorBytes(path, f, 'c.q8_0')).toEqual(encode('q8_0', values));
    expect(await readTensorBytes(path, f, 'd.q4_0')).toEqual(encode('q4_0', values));
  });

  it('is parsed identically by node-llama-cpp’s independent GGUF parser', async () => {
    const info = await readGgufFileInfo(path, { logWarnings: false });
    const meta = info.metadata as unknown as Record<string, Record<string, unknown>>;
    expect(meta.general?.architecture).toBe('llama');
    expect(meta.test?.string).toBe('héllo ▁wörld 🚀');
    expect(
      info.tensorInfo?.map((t) => [t.name, t.ggmlType, t.dimensions.map(Number), Number(t.offset)]),
    ).toEqual([
      ['a.f32', 0, [5], 0],
      ['b.f16', 1, [64, 3], 32],
      ['c.q8_0', 8, [64, 3], 416],
      ['d.q4_0', 2, [64, 3], 640],
    ]);
  });

  it('rejects a source that yields the wrong byte count and leaves no file behind', async () => {
    const bad = join(dir, 'bad.gguf');
    await expect(
      writeGguf(bad, metadata, [{ name: 'x', dims: [32], type: 'q8_0', data: new Uint8Array(33) }]),
    ).rejects.toThrow(/33 bytes, layout needs 34/);
    expect((await readdir(dir)).filter((n) => n.startsWith('bad'))).toEqual([]);
  });

  it('reads a GGUF written by llama.cpp’s tools (stories260K)', async () => {
    const f = await readGguf(tinyModelPath());
    expect(f.metadata['general.architecture']).toEqual({ type: 'string', value: 'llama' });
    expect(f.metadata['llama.embedding_length']).toEqual({ type: 'u32', value: 64 });
    const tokens = f.metadata['tokenizer.ggml.tokens'];
    expect(tokens?.type === 'array' && tokens.value.length).toBe(512);
    expect(f.tensors).toHaveLength(48);
    expect(f.tensors[0]).toMatchObject({ name: 'token_embd.weight', dims: [64, 512], typeName: 'F32' });
  });

  it('rejects a file that is not GGUF with INVALID_ARGUMENT', async () => {
    const notGguf = join(dir, 'x.gguf');
    await writeFile(notGguf, 'not a model at all, just text');
    await expect(readGguf(notGguf)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('inspectModel summarises a real model from its header', async () => {
    const info = await inspectModel(tinyModelPath());
    expect(info).toMatchObject({
      architecture: 'llama',
      quantization: 'F32', // no general.file_type: falls back to the commonest tensor type
      tensorTypes: { F32: 48 },
      contextLength: 2048,
      embeddingLength: 64,
      blockCount: 5,
      headCount: 8,
      headCountKv: 4,
      vocabSize: 512, // no llama.vocab_size: counted from the token list
      tokenizer: 'llama',
      sizeBytes: 1185376,
    });
    // 2 x 64x512 embeddings + 5 blocks of (q 64x64, k,v 64x32, o 64x64, 3 x 64x172 ffn, 2 norms) + norm
    expect(info.parameters).toBe(292_800);
    expect(formatParameters(info.parameters)).toBe('293K');
  });
});
