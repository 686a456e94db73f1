/**
 * Writes a deterministic random-weight llama GGUF. Weights are generated and quantized
 * one chunk at a time straight into the file writer, so memory stays at a few MiB even
 * for an 8B model. Same (shape, quant, seed) ⇒ byte-identical file, which is what lets
 * the resolver cache synthetic models by name.
 */
import { ColoError } from '../../core/errors';
import { GGUF_DEFAULT_ALIGNMENT, LLAMA_FTYPE } from '../gguf/constants';
import { encodeHeader, writeGguf, type GgufTensorSource } from '../gguf/writer';
import { encodeInto, encodedSize } from '../gguf/quantize';
import { kv, type GgufMetadata } from '../gguf/value';
import { tensorRng } from './random';
import {
  SYNTHETIC_SHAPES,
  llamaTensorLayout,
  parameterCount,
  type LlamaShape,
  type SyntheticQuant,
  type SyntheticShapeName,
  type SyntheticTensor,
} from './shapes';
import { CONTROL_TOKENS, tokenizerMetadata } from './vocab';

/** Bumped whenever the bytes for a given (shape, quant, seed) change; part of cache names. */
export const SYNTHETIC_GENERATOR_VERSION = 1;

const WEIGHT_STD = 0.02;
/** Elements generated per chunk: big enough to amortise a write, small enough for cache. */
const CHUNK_ELEMENTS = 1 << 20;

export interface SyntheticOptions {
  /** Where the .gguf goes (written as .part, renamed when complete). Required. */
  outPath: string;
  /** PRNG seed. Default 1. */
  seed?: number;
  /** Called after each chunk with bytes of tensor data written so far and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Aborts generation; the partial file is removed. */
  signal?: AbortSignal;
}

export interface SyntheticResult {
  path: string;
  bytes: number;
  parameters: number;
  ms: number;
}

export function syntheticMetadata(
  shapeName: SyntheticShapeName,
  quant: SyntheticQuant,
  seed: number,
): GgufMetadata {
  const s: LlamaShape = SYNTHETIC_SHAPES[shapeName];
  return {
    'general.architecture': kv.str('llama'),
    'general.name': kv.str(`colo-synthetic-${shapeName}-${quant}`),
    'general.description': kv.str(
      `Random weights (seed ${seed}) in the shape of ${s.imitates}; for benchmarks, not text.`,
    ),
    'general.file_type': kv.u32(LLAMA_FTYPE[quant]),
    'general.quantization_version': kv.u32(2),
    'general.alignment': kv.u32(GGUF_DEFAULT_ALIGNMENT),
    'llama.vocab_size': kv.u32(s.vocab),
    'llama.context_length': kv.u32(s.contextLength),
    'llama.embedding_length': kv.u32(s.dim),
    'llama.block_count': kv.u32(s.layers),
    'llama.feed_forward_length': kv.u32(s.ffn),
    'llama.attention.head_count': kv.u32(s.heads),
    'llama.attention.head_count_kv': kv.u32(s.kvHeads),
    'llama.rope.dimension_count': kv.u32(s.dim / s.heads),
    'llama.rope.freq_base': kv.f32(s.ropeFreqBase),
    'llama.attention.layer_norm_rms_epsilon': kv.f32(s.rmsEps),
    ...tokenizerMetadata(s.vocab),
  };
}

/** Exact size in bytes of the file generateSyntheticModel writes. */
export function syntheticFileSize(shapeName: SyntheticShapeName, quant: SyntheticQuant): number {
  const meta = syntheticMetadata(shapeName, quant, 1);
  const layout = llamaTensorLayout(SYNTHETIC_SHAPES[shapeName], quant);
  const { header, dataBytes } = encodeHeader(meta, layout, GGUF_DEFAULT_ALIGNMENT);
  // The seed appears in general.description; seeds of other lengths shift the size a few bytes.
  return header.byteLength + dataBytes;
}

export async function generateSyntheticModel(
  shapeName: SyntheticShapeName,
  quant: SyntheticQuant,
  opts: SyntheticOptions,
): Promise<SyntheticResult> {
  const t0 = performance.now();
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new ColoError('INVALID_ARGUMENT', `seed must be an integer in [0, 2^32), got ${seed}`, {
      field: 'seed',
    });
  }
  const shape = SYNTHETIC_SHAPES[shapeName];
  const layout = llamaTensorLayout(shape, quant);
  const total = layout.reduce((n, t) => n + encodedSize(t.type, elementsOf(t)), 0);
  let done = 0;
  const progress = (n: number): void => {
    done += n;
    opts.onProgress?.(done, total);
  };
  const sources: GgufTensorSource[] = layout.map((t) => ({
    name: t.name,
    dims: t.dims,
    type: t.type,
    data: () => tensorChunks(t, seed, shape, progress, opts.signal),
  }));
  const res = await writeGguf(opts.outPath, syntheticMetadata(shapeName, quant, seed), sources);
  return { path: res.path, bytes: res.bytes, parameters: parameterCount(shape), ms: performance.now() - t0 };
}

const elementsOf = (t: SyntheticTensor): number => t.dims.reduce((a, b) => a * b, 1);

function* tensorChunks(
  t: SyntheticTensor,
  seed: number,
  shape: LlamaShape,
  progress: (bytes: number) => void,
  signal: AbortSignal | undefined,
): Generator<Uint8Array> {
  const total = elementsOf(t);
  const row = t.dims[0]!;
  // Whole rows per chunk, so quantization blocks never straddle chunks.
  const chunkElems = Math.max(row, Math.floor(CHUNK_ELEMENTS / row) * row);
  const floats = new Float32Array(Math.min(chunkElems, total));
  const bytes = new Uint8Array(encodedSize(t.type, floats.length));
  const rng = tensorRng(seed, t.name);
  // Zero output rows for <unk>, <s>, </s>: random logits would otherwise end generation at
  // random, and benchmarks want the full token count.
  const zeroUntil = t.name === 'output.weight' ? CONTROL_TOKENS * shape.dim : 0;
  for (let start = 0; start < total; start += chunkElems) {
    if (signal?.aborted) throw new ColoError('CANCELLED', 'synthetic model generation cancelled');
    const n = Math.min(chunkElems, total - start);
    const f = n === floats.length ? floats : floats.subarray(0, n);
    if (t.init === 'ones') f.fill(1);
    else rng.fillNormal(f, WEIGHT_STD);
    if (start < zeroUntil) f.fill(0, 0, Math.min(n, zeroUntil - start));
    const len = encodeInto(t.type, f, bytes, 0);
    progress(len);
    yield len === bytes.byteLength ? bytes : bytes.subarray(0, len);
  }
}
