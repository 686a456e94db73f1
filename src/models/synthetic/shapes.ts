/**
 * Real llama-architecture shapes for random-weight models. Benchmarks on these measure
 * the compute and memory traffic of the real model size; the text they produce is noise.
 * Every non-tiny shape uses a 32,000-token vocabulary (llama-2's size) to keep files
 * smaller than llama-3's 128,256; the transformer blocks match the named model.
 */
import type { GgmlTypeName } from '../gguf/constants';

export interface LlamaShape {
  /** What the shape imitates, for general.name and docs. */
  imitates: string;
  vocab: number;
  dim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  contextLength: number;
  ropeFreqBase: number;
  rmsEps: number;
}

export const SYNTHETIC_SHAPES = {
  /** Loads and generates in milliseconds: for tests. */
  tiny: {
    imitates: 'tiny test llama',
    vocab: 512,
    dim: 64,
    layers: 2,
    heads: 4,
    kvHeads: 2,
    ffn: 128,
    contextLength: 2048,
    ropeFreqBase: 10000,
    rmsEps: 1e-5,
  },
  /** Qwen2.5-0.5B's block shape on the llama architecture. */
  '0.5b': {
    imitates: 'Qwen2.5-0.5B-like',
    vocab: 32000,
    dim: 896,
    layers: 24,
    heads: 14,
    kvHeads: 2,
    ffn: 4864,
    contextLength: 4096,
    ropeFreqBase: 10000,
    rmsEps: 1e-6,
  },
  /** Llama-3.2-1B: 16 layers, dim 2048, 32 heads, 8 kv heads, ffn 8192. */
  '1b': {
    imitates: 'Llama-3.2-1B-like',
    vocab: 32000,
    dim: 2048,
    layers: 16,
    heads: 32,
    kvHeads: 8,
    ffn: 8192,
    contextLength: 4096,
    ropeFreqBase: 500000,
    rmsEps: 1e-5,
  },
  /** Llama-3.2-3B: 28 layers, dim 3072, 24 heads, 8 kv heads, ffn 8192. */
  '3b': {
    imitates: 'Llama-3.2-3B-like',
    vocab: 32000,
    dim: 3072,
    layers: 28,
    heads: 24,
    kvHeads: 8,
    ffn: 8192,
    contextLength: 4096,
    ropeFreqBase: 500000,
    rmsEps: 1e-5,
  },
  /** Llama-3.1-8B: 32 layers, dim 4096, 32 heads, 8 kv heads, ffn 14336. */
  '8b': {
    imitates: 'Llama-3.1-8B-like',
    vocab: 32000,
    dim: 4096,
    layers: 32,
    heads: 32,
    kvHeads: 8,
    ffn: 14336,
    contextLength: 4096,
    ropeFreqBase: 500000,
    rmsEps: 1e-5,
  },
} as const satisfies Record<string, LlamaShape>;

export type SyntheticShapeName = keyof typeof SYNTHETIC_SHAPES;
export const SYNTHETIC_QUANTS = ['f32', 'f16', 'q8_0', 'q4_0'] as const;
export type SyntheticQuant = (typeof SYNTHETIC_QUANTS)[number];

export const isShapeName = (s: string): s is SyntheticShapeName => Object.hasOwn(SYNTHETIC_SHAPES, s);
export const isSyntheticQuant = (s: string): s is SyntheticQuant =>
  (SYNTHETIC_QUANTS as readonly string[]).includes(s);

export interface SyntheticTensor {
  name: string;
  dims: number[];
  type: GgmlTypeName;
  /** Norm weights start at one (as trained models roughly do); matrices are N(0, 0.02). */
  init: 'ones' | 'normal';
}

/**
 * Tensors in the order and with the names and dims llama.cpp's llama loader expects
 * (src/llama-model.cpp, LLM_ARCH_LLAMA). dims are ggml order: [row length, rows].
 * Norms stay F32, as llama.cpp's quantizer keeps 1-D tensors.
 */
export function llamaTensorLayout(shape: LlamaShape, quant: SyntheticQuant): SyntheticTensor[] {
  const headDim = shape.dim / shape.heads;
  const kvDim = headDim * shape.kvHeads;
  const w = (name: string, dims: number[]): SyntheticTensor => ({ name, dims, type: quant, init: 'normal' });
  const norm = (name: string): SyntheticTensor => ({ name, dims: [shape.dim], type: 'f32', init: 'ones' });
  const out: SyntheticTensor[] = [w('token_embd.weight', [shape.dim, shape.vocab])];
  for (let i = 0; i < shape.layers; i++) {
    const b = `blk.${i}`;
    out.push(
      norm(`${b}.attn_norm.weight`),
      w(`${b}.attn_q.weight`, [shape.dim, shape.dim]),
      w(`${b}.attn_k.weight`, [shape.dim, kvDim]),
      w(`${b}.attn_v.weight`, [shape.dim, kvDim]),
      w(`${b}.attn_output.weight`, [shape.dim, shape.dim]),
      norm(`${b}.ffn_norm.weight`),
      w(`${b}.ffn_gate.weight`, [shape.dim, shape.ffn]),
      w(`${b}.ffn_down.weight`, [shape.ffn, shape.dim]),
      w(`${b}.ffn_up.weight`, [shape.dim, shape.ffn]),
    );
  }
  out.push(norm('output_norm.weight'), w('output.weight', [shape.dim, shape.vocab]));
  return out;
}

export function parameterCount(shape: LlamaShape): number {
  return llamaTensorLayout(shape, 'f32').reduce((n, t) => n + t.dims.reduce((a, b) => a * b, 1), 0);
}
