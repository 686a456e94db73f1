/**
 * Flash attention chosen by measurement on the CPU (src/engine/attention.ts): an explicit
 * setting is used as given and not probed; 'auto' times both settings on the real model
 * and follows the rule (off only when at least 10% cheaper); the loaded context runs what
 * was chosen.
 */
import { getLlama, type Llama, type LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseFlashAttention, newSharedChoice } from '../../src/engine/attention';
import { loadLocalModel } from '../../src/engine/load';
import { tinyModelPath } from '../helpers/models';

let llama: Llama;
let model: LlamaModel;

beforeAll(async () => {
  llama = await getLlama({ gpu: false, maxThreads: 1, logLevel: 'error' as never });
  model = await llama.loadModel({ modelPath: tinyModelPath(), gpuLayers: 0 });
});
afterAll(async () => {
  await model?.dispose();
  await llama?.dispose();
});

describe('chooseFlashAttention', () => {
  it('uses an explicit setting as given, without a probe', async () => {
    const prompt = model.tokenize('Once upon a time');
    expect(await chooseFlashAttention(model, true, false, 1, prompt)).toEqual({ flashAttention: true });
    expect(await chooseFlashAttention(model, false, false, 1, prompt)).toEqual({ flashAttention: false });
  });

  it("keeps llama.cpp's choice on a GPU, without a probe", async () => {
    const got = await chooseFlashAttention(model, 'auto', true, 1, model.tokenize('Once upon a time'));
    expect(got).toEqual({ flashAttention: 'auto' });
  });

  it('does not probe a prompt too short to time, and keeps the default when the probe fails', async () => {
    expect(await chooseFlashAttention(model, 'auto', false, 1, model.tokenize('Once'))).toEqual({
      flashAttention: 'auto',
    });
    // A token outside the vocabulary makes llama.cpp's decode fail inside the probe.
    const bad = Array.from({ length: 16 }, () => 999_999 as never);
    const got = await chooseFlashAttention(model, 'auto', false, 1, bad);
    expect(got.flashAttention).toBe('auto');
    expect(got.probe).toBeUndefined();
    expect(got.probeError).toMatch(/\S/);
  });

  it("times both settings on the CPU for 'auto' and picks off only when clearly cheaper", async () => {
    const got = await chooseFlashAttention(
      model,
      'auto',
      false,
      1,
      model.tokenize('Once upon a time '.repeat(64)),
    );
    expect(got.probe).toBeDefined();
    const { onMs, offMs } = got.probe!;
    expect(onMs).toBeGreaterThan(0);
    expect(offMs).toBeGreaterThan(0);
    expect(Number.isFinite(onMs) && Number.isFinite(offMs)).toBe(true);
    expect(got.flashAttention).toBe(!(offMs < onMs * 0.9));
  });
});

describe('one decision per pool (SharedChoice)', () => {
  it('probes once for replicas that ask together; they all get the same answer', async () => {
    const shared = newSharedChoice();
    const prompt = model.tokenize('Once upon a time '.repeat(64));
    const [a, b, c] = await Promise.all([
      chooseFlashAttention(model, 'auto', false, 1, prompt, shared),
      chooseFlashAttention(model, 'auto', false, 1, prompt, shared),
      chooseFlashAttention(model, 'auto', false, 1, prompt, shared),
    ]);
    expect(a!.probe).toBeDefined();
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(new Int32Array(shared, 0, 1)[0]).toBe(a!.flashAttention ? 2 : 3);
  });

  it('takes a decision already made without probing', async () => {
    const shared = newSharedChoice();
    new Int32Array(shared, 0, 1)[0] = 3; // off
    new Float64Array(shared, 8, 2).set([9, 4]);
    // A prompt that would make a probe fail: no probe runs.
    const bad = Array.from({ length: 16 }, () => 999_999 as never);
    expect(await chooseFlashAttention(model, 'auto', false, 1, bad, shared)).toEqual({
      flashAttention: false,
      probe: { onMs: 9, offMs: 4 },
    });
  });

  it('probes itself when the replica that was probing never answers (its thread died)', async () => {
    const shared = newSharedChoice();
    new Int32Array(shared, 0, 1)[0] = 1; // probing, by nobody any more
    const prompt = model.tokenize('Once upon a time '.repeat(64));
    const got = await chooseFlashAttention(model, 'auto', false, 1, prompt, shared, 50);
    expect(got.probe).toBeDefined();
    expect(new Int32Array(shared, 0, 1)[0]).toBe(got.flashAttention ? 2 : 3);
  });

  it('passes a failed probe on as the default, not as a probe', async () => {
    const shared = newSharedChoice();
    const bad = Array.from({ length: 16 }, () => 999_999 as never);
    const first = await chooseFlashAttention(model, 'auto', false, 1, bad, shared);
    expect(first.probeError).toMatch(/\S/);
    expect(await chooseFlashAttention(model, 'auto', false, 1, bad, shared)).toEqual({
      flashAttention: 'auto',
    });
  });
});

describe('loadLocalModel', () => {
  it('runs the context with the chosen setting and reports it', async () => {
    const m = await loadLocalModel({
      modelName: 'stories260K',
      modelPath: tinyModelPath(),
      contextSize: 256,
      sequences: 2,
      threads: 1,
      gpu: 'cpu',
      gpuLayers: 0,
      flashAttention: false,
      warmupPrompt: 'Once upon a time',
      warmupTokens: 0,
      faultInjection: false,
    });
    try {
      expect(m.info.flashAttention).toBe(false);
      expect(m.info.flashProbe).toBeUndefined();
      expect(m.context.flashAttention).toBe(false);
    } finally {
      await m.context.dispose();
      await m.model.dispose();
    }
  });
});
