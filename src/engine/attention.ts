/**
 * Flash attention on or off, chosen by measurement when the config says 'auto'.
 *
 * node-llama-cpp's own 'auto' turns flash attention on wherever llama.cpp supports it.
 * On a GPU that is right. On the CPU it depends on the model's shape: for stories260K
 * (head size 8) flash attention makes the prefill of a short prompt faster but a long
 * prefill and every decode step slower, the more so as the context grows (at ~400
 * tokens of context: 1.2 vs 0.65 ms a step; the built-in skills end to end 2.8-3.4x
 * slower with it; bench/README.md, "Flash attention on the CPU"). So on the CPU Colo
 * times both on a throwaway one-sequence context, a request of a skill's shape (a
 * 256-token prompt, then 8 decode steps; the cheaper of two interleaved tries each),
 * and turns flash attention off only when that is at least 10% faster. Models over
 * 1 GB keep llama.cpp's default unprobed: there the probe would cost seconds of start-up
 * (set `flashAttention` explicitly to choose).
 *
 * A model's replicas share one decision (`SharedChoice`, passed to every worker of the
 * pool): the first to get there probes, the others wait for its answer. Replicas that
 * probed each on their own, at the same time, competing for the same cores, could choose
 * differently, and the pool predicts all of them with one estimator.
 */
import type { LlamaModel, Token } from 'node-llama-cpp';

export interface AttentionChoice {
  /** 'auto': not decided here; node-llama-cpp and llama.cpp choose (GPU, big models, no probe). */
  flashAttention: boolean | 'auto';
  /** Set when measured: the probe's time with flash attention on and off, ms. */
  probe?: { onMs: number; offMs: number } | undefined;
  /** Set when the probe failed: the model loads with llama.cpp's choice instead. */
  probeError?: string | undefined;
}

/**
 * One decision for all of a pool's workers: an Int32 state (0 undecided, 1 probing,
 * 2 on, 3 off, 4 left to llama.cpp: the probe failed) and the probe's two times
 * (Float64, ms). Made by the pool, passed to
 * every worker in its WorkerInit (a SharedArrayBuffer is shared, not copied).
 */
export type SharedChoice = SharedArrayBuffer;
export const newSharedChoice = (): SharedChoice => new SharedArrayBuffer(24);
const UNDECIDED = 0;
const PROBING = 1;
const ON = 2;
const OFF = 3;
/** The probe failed: llama.cpp's own choice. */
const AUTO = 4;

/** Atomics.waitAsync: in Node since 16, in TypeScript's lib only from es2024. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      a: Int32Array,
      i: number,
      v: number,
      timeoutMs: number,
    ): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

/** Not decided here: node-llama-cpp and llama.cpp choose. */
const UNPROBED: Readonly<AttentionChoice> = Object.freeze({ flashAttention: 'auto' });

/** Off must be at least this much cheaper to be chosen: on is llama.cpp's default. */
const MIN_GAIN = 0.1;
const PROMPT_TOKENS = 256;
const DECODE_STEPS = 8;
/** Larger models are not probed (see above). */
const PROBE_MAX_BYTES = 1 << 30;
/**
 * A replica waits this long for another's probe, then probes itself: the prober's thread
 * may have died mid-probe (Piscina replaces it), leaving the state at PROBING for good.
 */
const PROBE_WAIT_MS = 30_000;

export async function chooseFlashAttention(
  model: LlamaModel,
  setting: 'auto' | boolean,
  onGpu: boolean,
  threads: number,
  prompt: readonly Token[],
  shared?: SharedChoice,
  /** How long to wait for another replica's probe (tests shorten it). */
  waitMs = PROBE_WAIT_MS,
): Promise<AttentionChoice> {
  if (typeof setting === 'boolean') return { flashAttention: setting };
  // A prompt too short to prefill anything would time nothing.
  if (onGpu || !model.flashAttentionSupported || model.size > PROBE_MAX_BYTES || prompt.length < 8) {
    return UNPROBED;
  }
  if (!shared) return measure(model, threads, prompt);
  const state = new Int32Array(shared, 0, 1);
  const ms = new Float64Array(shared, 8, 2);
  for (;;) {
    const was = Atomics.compareExchange(state, 0, UNDECIDED, PROBING);
    if (was === AUTO) return UNPROBED;
    if (was === ON || was === OFF)
      return { flashAttention: was === ON, probe: { onMs: ms[0]!, offMs: ms[1]! } };
    if (was === UNDECIDED) break; // this worker probes
    const wait = waitAsync(state, 0, PROBING, waitMs);
    if ((wait.async ? await wait.value : wait.value) === 'timed-out') break; // probe here
  }
  const choice = await measure(model, threads, prompt);
  ms[0] = choice.probe?.onMs ?? NaN;
  ms[1] = choice.probe?.offMs ?? NaN;
  Atomics.store(state, 0, choice.flashAttention === 'auto' ? AUTO : choice.flashAttention ? ON : OFF);
  Atomics.notify(state, 0);
  return choice;
}

async function measure(
  model: LlamaModel,
  threads: number,
  prompt: readonly Token[],
): Promise<AttentionChoice> {
  const times = { on: Infinity, off: Infinity };
  try {
    for (let round = 0; round < 2; round++) {
      for (const on of [true, false]) {
        const ms = await probe(model, on, threads, prompt);
        const key = on ? 'on' : 'off';
        times[key] = Math.min(times[key], ms);
      }
      if (Math.max(times.on, times.off) > 250) break;
    }
  } catch (err) {
    return { ...UNPROBED, probeError: err instanceof Error ? err.message : String(err) };
  }
  return {
    flashAttention: !(times.off < times.on * (1 - MIN_GAIN)),
    probe: { onMs: times.on, offMs: times.off },
  };
}

/** Prefill of the prompt (at most PROMPT_TOKENS of it) plus DECODE_STEPS greedy steps on a fresh context, ms. */
async function probe(model: LlamaModel, flashAttention: boolean, threads: number, prompt: readonly Token[]) {
  const context = await model.createContext({
    contextSize: Math.min(model.trainContextSize, 512),
    sequences: 1,
    threads,
    flashAttention,
  });
  try {
    const seq = context.getSequence();
    const tokens = prompt.slice(0, Math.min(PROMPT_TOKENS, model.trainContextSize / 2));
    const t0 = performance.now();
    let n = 0;
    for await (const _ of seq.evaluate([...tokens], { temperature: 0 })) {
      if (++n >= DECODE_STEPS) break;
    }
    return performance.now() - t0;
  } finally {
    await context.dispose();
  }
}
