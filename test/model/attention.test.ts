/**
 * Flash attention and the KV cache type chosen by measurement on the CPU
 * (src/engine/attention.ts): explicit settings are used as given and not probed; 'auto'
 * times the candidates on the real model and follows the rule (it leaves llama.cpp's
 * choice only for one at least 10% cheaper, then takes the fastest); f32 is not tried
 * when its memory is over the bound; the loaded context runs what was chosen.
 */
import { getLlama, GgmlType, type Llama, type LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AttentionSettings,
  type CandidateName,
  chooseAttention,
  f32ExtraBytes,
  F32_MAX_EXTRA_BYTES,
  newSharedChoice,
} from '../../src/engine/attention';
import { loadLocalModel } from '../../src/engine/load';
import { tinyModelPath, tinyWorkerInit } from '../helpers/models';

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

const AUTO: AttentionSettings = { flashAttention: 'auto', kvCacheType: 'auto' };
const CACHE = { contextSize: 256, sequences: 2 };
const ORDER: CandidateName[] = ['on-f16', 'off-f16', 'on-f32', 'off-f32'];
const long = () => model.tokenize('Once upon a time '.repeat(64));
const bad = () => Array.from({ length: 16 }, () => 999_999 as never);
const choose = (
  settings: AttentionSettings,
  prompt = long(),
  opts: { gpu?: boolean; shared?: SharedArrayBuffer; waitMs?: number; cache?: typeof CACHE } = {},
) =>
  chooseAttention(
    model,
    settings,
    opts.gpu ?? false,
    1,
    prompt,
    opts.cache ?? CACHE,
    opts.shared,
    opts.waitMs,
  );

/**
 * The rule, applied to the probe's own times: the first candidate (llama.cpp's choice)
 * unless another is at least 10% faster; then the fastest.
 */
function expected(probe: Partial<Record<CandidateName, number>>): CandidateName {
  const tried = ORDER.filter((n) => probe[n] !== undefined);
  const fastest = tried.reduce((a, b) => (probe[b]! < probe[a]! ? b : a));
  return probe[fastest]! < probe[tried[0]!]! * 0.9 ? fastest : tried[0]!;
}
const nameOf = (c: { flashAttention: boolean | 'auto'; kvCacheType: string }) =>
  `${c.flashAttention ? 'on' : 'off'}-${c.kvCacheType}`;

describe('chooseAttention', () => {
  it('uses explicit settings as given, without a probe', async () => {
    expect(await choose({ flashAttention: true, kvCacheType: 'f16' })).toEqual({
      flashAttention: true,
      kvCacheType: 'f16',
    });
    expect(await choose({ flashAttention: false, kvCacheType: 'f32' })).toEqual({
      flashAttention: false,
      kvCacheType: 'f32',
    });
  });

  it("keeps llama.cpp's defaults on a GPU, without a probe", async () => {
    expect(await choose(AUTO, long(), { gpu: true })).toEqual({ flashAttention: 'auto', kvCacheType: 'f16' });
  });

  it('does not probe a prompt too short to time, and keeps the defaults when the probe fails', async () => {
    expect(await choose(AUTO, model.tokenize('Once'))).toEqual({
      flashAttention: 'auto',
      kvCacheType: 'f16',
    });
    // A token outside the vocabulary makes llama.cpp's decode fail inside the probe.
    const got = await choose(AUTO, bad());
    expect(got.flashAttention).toBe('auto');
    expect(got.kvCacheType).toBe('f16');
    expect(got.probe).toBeUndefined();
    expect(got.probeError).toMatch(/\S/);
  });

  it("times all four candidates on the CPU for 'auto' and follows the rule", async () => {
    const got = await choose(AUTO);
    expect(Object.keys(got.probe!).sort()).toEqual([...ORDER].sort());
    for (const n of ORDER) expect(Number.isFinite(got.probe![n]) && got.probe![n]! > 0).toBe(true);
    expect(nameOf(got)).toBe(expected(got.probe!));
  });

  it('probes only the free setting when the other is fixed', async () => {
    const kv = await choose({ flashAttention: false, kvCacheType: 'auto' });
    expect(Object.keys(kv.probe!).sort()).toEqual(['off-f16', 'off-f32']);
    expect(kv.flashAttention).toBe(false);
    expect(nameOf(kv)).toBe(expected(kv.probe!));
    const flash = await choose({ flashAttention: 'auto', kvCacheType: 'f16' });
    expect(Object.keys(flash.probe!).sort()).toEqual(['off-f16', 'on-f16']);
    expect(flash.kvCacheType).toBe('f16');
    expect(nameOf(flash)).toBe(expected(flash.probe!));
  });

  it('does not try f32 where it would cost more memory than the bound', async () => {
    // Enough cells that f32 adds more than the bound (this model: ~640 B per cell).
    const perCell = f32ExtraBytes(model, { contextSize: 256, sequences: 1 }) / 256;
    const sequences = Math.ceil(F32_MAX_EXTRA_BYTES / perCell / 256) + 1;
    const big = { contextSize: 256, sequences };
    expect(f32ExtraBytes(model, big)).toBeGreaterThan(F32_MAX_EXTRA_BYTES);
    const got = await choose(AUTO, long(), { cache: big });
    expect(Object.keys(got.probe!).sort()).toEqual(['off-f16', 'on-f16']);
    expect(got.kvCacheType).toBe('f16');
  });
});

describe('one decision per pool (SharedChoice)', () => {
  it('probes once for replicas that ask together; they all get the same answer', async () => {
    const shared = newSharedChoice();
    const [a, b, c] = await Promise.all([
      choose(AUTO, long(), { shared }),
      choose(AUTO, long(), { shared }),
      choose(AUTO, long(), { shared }),
    ]);
    expect(a!.probe).toBeDefined();
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    const state = new Int32Array(shared, 0, 2);
    expect(state[0]).toBe(2); // decided
    expect(ORDER[state[1]!]).toBe(nameOf(a!));
  });

  it('takes a decision already made without probing', async () => {
    const shared = newSharedChoice();
    const state = new Int32Array(shared, 0, 2);
    state[0] = 2; // decided
    state[1] = 3; // off-f32
    new Float64Array(shared, 8, 4).set([9, 6, NaN, 4]);
    // A prompt that would make a probe fail: no probe runs.
    expect(await choose(AUTO, bad(), { shared })).toEqual({
      flashAttention: false,
      kvCacheType: 'f32',
      probe: { 'on-f16': 9, 'off-f16': 6, 'off-f32': 4 },
    });
  });

  it('probes itself when the replica that was probing never answers (its thread died)', async () => {
    const shared = newSharedChoice();
    new Int32Array(shared, 0, 1)[0] = 1; // probing, by nobody any more
    const got = await choose(AUTO, long(), { shared, waitMs: 50 });
    expect(got.probe).toBeDefined();
    const state = new Int32Array(shared, 0, 2);
    expect(state[0]).toBe(2);
    expect(ORDER[state[1]!]).toBe(nameOf(got));
  });

  it('a replica that probed after giving up waiting takes the answer written meanwhile', async () => {
    const shared = newSharedChoice();
    const state = new Int32Array(shared, 0, 2);
    state[0] = 1; // probing, by a replica that is slow, not dead
    const mine = choose(AUTO, long(), { shared, waitMs: 20 });
    // That replica answers while this one is still timing its candidates (seven probes of a
    // 256-token prompt: far longer than 60 ms on any CPU).
    await new Promise((r) => setTimeout(r, 60));
    expect(Atomics.compareExchange(state, 0, 1, 4)).toBe(1); // it writes, as chooseAttention does
    state[1] = 1; // off-f16
    new Float64Array(shared, 8, 4).set([5, 4, NaN, NaN]);
    Atomics.store(state, 0, 2);
    Atomics.notify(state, 0);
    expect(await mine).toEqual({
      flashAttention: false,
      kvCacheType: 'f16',
      probe: { 'on-f16': 5, 'off-f16': 4 },
    });
  });

  it('passes a failed probe on as the defaults, not as a probe', async () => {
    const shared = newSharedChoice();
    const first = await choose(AUTO, bad(), { shared });
    expect(first.probeError).toMatch(/\S/);
    expect(await choose(AUTO, bad(), { shared })).toEqual({ flashAttention: 'auto', kvCacheType: 'f16' });
  });
});

describe('loadLocalModel', () => {
  it('runs the context with the chosen settings and reports them', async () => {
    const m = await loadLocalModel(
      tinyWorkerInit({ sequences: 2, flashAttention: false, kvCacheType: 'f32' }),
    );
    try {
      expect(m.info.flashAttention).toBe(false);
      expect(m.info.kvCacheType).toBe('f32');
      expect(m.info.attentionProbe).toBeUndefined();
      expect(m.context.flashAttention).toBe(false);
      // What llama.cpp was given (node-llama-cpp keeps the context's options).
      expect((m.context as unknown as { _kvCacheKeyType?: unknown })._kvCacheKeyType).toBe(GgmlType.F32);
    } finally {
      await m.context.dispose();
      await m.model.dispose();
    }
  });
});
