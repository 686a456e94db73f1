/** What a GGUF file holds, read from its header only: for `colo models` and logs. */
import { stat } from 'node:fs/promises';
import { LLAMA_FTYPE_NAMES } from './gguf/constants';
import { readGguf } from './gguf/reader';
import { metaNumber, metaString, metaValue } from './gguf/value';

export interface ModelInfo {
  path: string;
  sizeBytes: number;
  ggufVersion: number;
  architecture: string;
  /** general.name, when set. */
  name: string | undefined;
  /** Sum of all tensor elements. */
  parameters: number;
  /** general.file_type as llama.cpp names it (Q4_0, Q8_0...), else the most common tensor type. */
  quantization: string;
  /** Tensor count per type, e.g. { Q4_0: 112, F32: 33 }. */
  tensorTypes: Record<string, number>;
  contextLength: number | undefined;
  embeddingLength: number | undefined;
  blockCount: number | undefined;
  headCount: number | undefined;
  headCountKv: number | undefined;
  feedForwardLength: number | undefined;
  vocabSize: number | undefined;
  /** tokenizer.ggml.model: 'llama' (SentencePiece), 'gpt2' (BPE)... */
  tokenizer: string | undefined;
}

export async function inspectModel(path: string): Promise<ModelInfo> {
  const [file, st] = await Promise.all([readGguf(path), stat(path)]);
  const m = file.metadata;
  const arch = metaString(m, 'general.architecture') ?? 'unknown';
  const a = (key: string): number | undefined => metaNumber(m, `${arch}.${key}`);
  const tensorTypes: Record<string, number> = {};
  let parameters = 0;
  for (const t of file.tensors) {
    tensorTypes[t.typeName] = (tensorTypes[t.typeName] ?? 0) + 1;
    parameters += t.dims.reduce((x, y) => x * y, 1);
  }
  const ftype = metaNumber(m, 'general.file_type');
  const commonest = Object.entries(tensorTypes).sort((x, y) => y[1] - x[1])[0]?.[0] ?? 'unknown';
  const tokens = metaValue(m, 'tokenizer.ggml.tokens');
  return {
    path,
    sizeBytes: st.size,
    ggufVersion: file.version,
    architecture: arch,
    name: metaString(m, 'general.name'),
    parameters,
    quantization: (ftype !== undefined ? LLAMA_FTYPE_NAMES[ftype] : undefined) ?? commonest,
    tensorTypes,
    contextLength: a('context_length'),
    embeddingLength: a('embedding_length'),
    blockCount: a('block_count'),
    headCount: a('attention.head_count'),
    headCountKv: a('attention.head_count_kv'),
    feedForwardLength: a('feed_forward_length'),
    vocabSize: a('vocab_size') ?? (Array.isArray(tokens) ? tokens.length : undefined),
    tokenizer: metaString(m, 'tokenizer.ggml.model'),
  };
}

/** 1185376 → "1.2M", 1104218112 → "1.1B". */
export function formatParameters(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)}K`;
  return String(n);
}
