import { describe, expect, it } from 'vitest';
import { ColoError } from '../../src/core/errors';
import {
  SYNTHETIC_SHAPES,
  defaultManifest,
  parseManifest,
  parseSource,
  syntheticFileSize,
  type SyntheticQuant,
  type SyntheticShapeName,
} from '../../src/models';
import { llamaTensorLayout, parameterCount } from '../../src/models/synthetic/shapes';
import { buildVocab } from '../../src/models/synthetic/vocab';
import { inverseNormalCdf, Xoshiro128 } from '../../src/models/synthetic/random';

describe('manifest', () => {
  it('bundled manifest validates and pins stories260K', () => {
    const m = defaultManifest();
    expect(m.default).toBe('stories260K');
    expect(m.models.stories260K).toMatchObject({
      source: 'hf:ggml-org/models/tinyllamas/stories260K.gguf',
      sha256: '270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d',
      quantization: 'F32',
      licence: 'MIT',
    });
    for (const name of [
      'synthetic-tiny',
      'llama-0.5b-q4_0',
      'llama-1b-q4_0',
      'llama-1b-q8_0',
      'llama-3b-q4_0',
      'llama-8b-q4_0',
    ]) {
      expect(m.models[name], name).toBeDefined();
    }
  });

  it('every synthetic entry states the exact size the generator writes', () => {
    for (const [name, e] of Object.entries(defaultManifest().models)) {
      const src = parseSource(e.source);
      if (src.kind !== 'synthetic') continue;
      expect(e.sizeBytes, name).toBe(syntheticFileSize(src.shape, src.quant));
      expect(e.quantization, name).toBe(src.quant.toUpperCase());
    }
  });

  it('rejects unknown keys and names the field', () => {
    const bad = {
      version: 1,
      default: 'a',
      models: { a: { source: 'x.gguf', quantization: 'F32', licence: 'MIT', sha: 'oops' } },
    };
    expect(() => parseManifest(bad)).toThrow(ColoError);
    try {
      parseManifest(bad);
    } catch (e) {
      expect((e as ColoError).code).toBe('INVALID_ARGUMENT');
      expect((e as ColoError).field).toBe('models.a');
    }
  });

  it('rejects a default that names no model, and a malformed sha256', () => {
    expect(() => parseManifest({ version: 1, default: 'b', models: {} })).toThrow(/default/);
    const m = {
      version: 1,
      default: 'a',
      models: { a: { source: 'x.gguf', quantization: 'F32', licence: 'MIT', sha256: 'ABC' } },
    };
    expect(() => parseManifest(m)).toThrow(/sha256/);
  });
});

describe('parseSource', () => {
  it('maps hf: to the resolve/main URL', () => {
    expect(parseSource('hf:ggml-org/models/tinyllamas/stories260K.gguf')).toEqual({
      kind: 'url',
      url: 'https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf',
      fileName: 'stories260K.gguf',
    });
    expect(parseSource('hf:o/r@v1.0/f.gguf', 'http://127.0.0.1:9/')).toMatchObject({
      url: 'http://127.0.0.1:9/o/r/resolve/v1.0/f.gguf',
    });
  });

  it('parses synthetic shapes, quants and seeds into distinct cache names', () => {
    const a = parseSource('synthetic:1b-q4_0');
    const b = parseSource('synthetic:1b-q4_0?seed=7');
    expect(a).toMatchObject({ kind: 'synthetic', shape: '1b', quant: 'q4_0', seed: 1 });
    expect(b).toMatchObject({ kind: 'synthetic', seed: 7 });
    expect(a.fileName).not.toBe(b.fileName);
    expect(parseSource('synthetic:0.5b-f16')).toMatchObject({ shape: '0.5b', quant: 'f16' });
  });

  it.each([
    'synthetic:2b-q4_0',
    'synthetic:1b-q5_k',
    'synthetic:1b-q4_0?seed=-1',
    'synthetic:1b-q4_0?temp=1',
    'hf:owner/file.gguf',
    'hf:o/r/../x.gguf',
  ])('rejects %s with INVALID_ARGUMENT', (s) => {
    expect(() => parseSource(s)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'source' }),
    );
  });

  it('treats anything else as a path', () => {
    expect(parseSource('./m/x.gguf')).toEqual({ kind: 'path', path: './m/x.gguf', fileName: 'x.gguf' });
  });
});

describe('synthetic shapes', () => {
  it('1b is Llama-3.2-1B-shaped with a 32k vocabulary', () => {
    expect(SYNTHETIC_SHAPES['1b']).toMatchObject({
      layers: 16,
      dim: 2048,
      heads: 32,
      kvHeads: 8,
      ffn: 8192,
      vocab: 32000,
    });
    expect(parameterCount(SYNTHETIC_SHAPES['1b'])).toBe(1_104_218_112);
  });

  it('has llama.cpp tensor names and quantizable rows for every shape', () => {
    for (const [name, shape] of Object.entries(SYNTHETIC_SHAPES)) {
      const layout = llamaTensorLayout(shape, 'q4_0');
      expect(layout[0]!.name).toBe('token_embd.weight');
      expect(layout.at(-1)!.name).toBe('output.weight');
      expect(layout.filter((t) => t.name.endsWith('attn_k.weight'))).toHaveLength(shape.layers);
      for (const t of layout) {
        if (t.dims.length === 1) expect(t.type, t.name).toBe('f32');
        else expect(t.dims[0]! % 32, `${name} ${t.name}`).toBe(0);
      }
    }
  });

  it.each([
    ['tiny', 'q8_0'],
    ['tiny', 'q4_0'],
    ['8b', 'q4_0'],
  ] as [SyntheticShapeName, SyntheticQuant][])(
    'file size of %s-%s is positive and grows with precision',
    (shape, quant) => {
      expect(syntheticFileSize(shape, quant)).toBeLessThan(syntheticFileSize(shape, 'f16'));
    },
  );
});

describe('synthetic vocabulary', () => {
  it('has the special tokens, the 256 byte tokens typed 6, and unique pieces', () => {
    const v = buildVocab(32000);
    expect(v.tokens.slice(0, 3)).toEqual(['<unk>', '<s>', '</s>']);
    expect(v.types.slice(0, 3)).toEqual([2, 3, 3]);
    expect(v.tokens[3]).toBe('<0x00>');
    expect(v.tokens[258]).toBe('<0xFF>');
    expect(v.types.slice(3, 259).every((t) => t === 6)).toBe(true);
    expect(v.tokens).toHaveLength(32000);
    expect(new Set(v.tokens).size).toBe(32000);
    expect(v.scores).toHaveLength(32000);
  });
});

describe('weight randomness', () => {
  it('is reproducible per seed and roughly N(0, std)', () => {
    const a = new Float32Array(100_000);
    const b = new Float32Array(100_000);
    new Xoshiro128(42).fillNormal(a, 0.02);
    new Xoshiro128(42).fillNormal(b, 0.02);
    expect(a).toEqual(b);
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    const sd = Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length);
    expect(Math.abs(mean)).toBeLessThan(0.001);
    expect(sd).toBeGreaterThan(0.019);
    expect(sd).toBeLessThan(0.021);
    const c = new Float32Array(16);
    new Xoshiro128(43).fillNormal(c, 0.02);
    expect(c).not.toEqual(a.subarray(0, 16));
  });

  it('inverse normal CDF hits known quantiles', () => {
    expect(inverseNormalCdf(0.5)).toBeCloseTo(0, 9);
    expect(inverseNormalCdf(0.975)).toBeCloseTo(1.959964, 5);
    expect(inverseNormalCdf(0.001)).toBeCloseTo(-3.090232, 5);
  });
});
