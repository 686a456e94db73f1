/**
 * Our encoders against ggml itself. The pinned hashes are of the bytes produced by the
 * llama.cpp build that node-llama-cpp 3.22 ships (libggml-base.so: quantize_row_q8_0_ref,
 * quantize_row_q4_0_ref, ggml_fp32_to_fp16_row), called through Python ctypes on the
 * same input (see models/README.md, "Checking the encoders against ggml").
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encode } from '../../src/models/gguf';
import { goldenInput } from './gguf-golden-input';

const GGML = {
  q8_0: '7a2df1e9760449d0b4ad60bd193de6ab11f4f2426a436a0d587ec4b2b64429f4',
  q4_0: '5a5bd36202376a557319a5d3c25f2b14ddf7531e4508a91a54c43459cd113769',
  f16: '9319652037d987d34213b0f353a94b257769828fe55ca2977278e7d77f8b6d6b',
} as const;

describe('encoders match ggml byte for byte', () => {
  const x = goldenInput();
  it.each(Object.entries(GGML) as [keyof typeof GGML, string][])('%s', (type, sha) => {
    expect(createHash('sha256').update(encode(type, x)).digest('hex')).toBe(sha);
  });
});
