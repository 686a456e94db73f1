/**
 * Synthetic llama models written by our own GGUF writer must load in llama.cpp (through
 * node-llama-cpp) and generate, and the same seed must give a byte-identical file.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getLlama, type Llama } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticModel, inspectModel, resolveModel, sha256File } from '../../src/models';
import { tempDir } from '../helpers/models';

let dir: string;
let remove: () => Promise<void>;
let llama: Llama;

beforeAll(async () => {
  ({ dir, remove } = await tempDir());
  llama = await getLlama({ gpu: false, maxThreads: 1, logLevel: 'error' as never });
});
afterAll(async () => {
  await llama?.dispose();
  await remove();
});

describe.each(['q8_0', 'q4_0'] as const)('synthetic:tiny-%s', (quant) => {
  it('loads in llama.cpp and generates 16 tokens', async () => {
    const r = await resolveModel(`synthetic:tiny-${quant}`, { cacheDir: dir, offline: true });
    expect(r.origin).toBe('generated');
    const info = await inspectModel(r.path);
    expect(info).toMatchObject({
      architecture: 'llama',
      quantization: quant.toUpperCase(),
      blockCount: 2,
      vocabSize: 512,
      tokenizer: 'llama',
    });

    const model = await llama.loadModel({ modelPath: r.path, gpuLayers: 0 });
    try {
      expect(model.fileInfo.metadata.general.architecture).toBe('llama');
      const context = await model.createContext({ threads: 1, contextSize: 256 });
      try {
        const prompt = model.tokenize('Once upon a time');
        // The synthetic vocabulary holds these words, so the prompt is a few pieces, not bytes.
        expect(prompt.length).toBeLessThanOrEqual(8);
        expect(model.detokenize(prompt)).toBe('Once upon a time');
        const seq = context.getSequence();
        const out: number[] = [];
        for await (const token of seq.evaluate(prompt, { temperature: 0 })) {
          out.push(token);
          if (out.length === 16) break;
        }
        expect(out).toHaveLength(16);
        expect(out.every((t) => Number.isInteger(t) && t >= 0 && t < 512)).toBe(true);
        // Control tokens have zero output rows, so greedy decoding never picks them.
        expect(out.some((t) => t <= 2)).toBe(false);
      } finally {
        await context.dispose();
      }
    } finally {
      await model.dispose();
    }
  });

  it('same seed gives a byte-identical file; another seed does not', async () => {
    const a = join(dir, `a-${quant}.gguf`);
    const b = join(dir, `b-${quant}.gguf`);
    const c = join(dir, `c-${quant}.gguf`);
    await generateSyntheticModel('tiny', quant, { outPath: a, seed: 5 });
    await generateSyntheticModel('tiny', quant, { outPath: b, seed: 5 });
    await generateSyntheticModel('tiny', quant, { outPath: c, seed: 6 });
    expect((await readFile(a)).equals(await readFile(b))).toBe(true);
    expect(await sha256File(a)).not.toBe(await sha256File(c));
  });
});
