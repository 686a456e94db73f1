/**
 * How the context runs attention: flash attention on or off, and the KV cache in f16 or
 * f32, chosen by measurement where the config says 'auto'.
 *
 * node-llama-cpp's defaults are flash attention wherever llama.cpp supports it and an
 * f16 KV cache. On a GPU that is right. On the CPU it depends on the model's shape: for
 * stories260K (head size 8) each attention dot product is 8 elements long, so the cost
 * per step is the number of calls, not the arithmetic; flash attention makes every
 * decode step slower, the more so as the context grows (at ~400 tokens of context: 1.2
 * vs 0.65 ms a step; the built-in skills end to end 2.8-3.4x slower with it), and an f32
 * cache skips converting each query to f16 (a lone 200-token stream: 72-78 vs 87-109 ms,
 * median of 8; bench/README.md, "Flash attention on the CPU" and "The KV cache in f32").
 *
 * So on the CPU Colo times each candidate on a throwaway one-sequence context, a
 * request of a skill's shape: a 256-token prompt of which the first 224 tokens are
 * already in the KV cache (a skill's template is reused from one request to the next),
 * the last 32 (a headline) evaluated, then 64 decode steps (the built-in skills answer
 * in 5–80 tokens). One untimed run first, then the cheaper of two tries each, the second round
 * in reverse order and only for those within 1.5x of the fastest; a candidate that fails
 * is dropped, not the probe. A prefill of the whole prompt and 8 steps, the probe before,
 * is decided by the prefill alone, and where flash attention prefills faster but decodes
 * slower it chose the setting that ran the skills 2.1–2.5x slower (bench/README.md,
 * "The attention probe weighs decode steps"),
 * in order: flash on/f16 (llama.cpp's default), off/f16, on/f32, off/f32. The first
 * candidate (llama.cpp's own choice for whatever the config leaves free) is left only
 * for one at least 10% faster; among the others the fastest wins. (Before, every later
 * candidate needed the 10% over the choice so far, and off/f32, which decodes 1.1–1.45x
 * faster than off/f16 on the 2026-12-03 box and timed 3–15% faster in this probe, mostly
 * lost to it.) f32 is a candidate only while its extra memory (the
 * whole cache, at the configured context and sequences) is under `F32_MAX_EXTRA_BYTES`.
 * Models over 128 MiB keep the defaults unprobed: there the probe costs seconds to tens
 * of seconds of start-up (a synthetic 0.5B Q4_0, 234 MB, threads 2: 33 s, every candidate
 * within 15% of the others), and a head as wide as theirs (64) does not have the tiny
 * heads' problem (set `flashAttention` and `kvCacheType` explicitly to choose).
 *
 * A model's replicas share one decision (`SharedChoice`, passed to every worker of the
 * pool): the first to get there probes, the others wait for its answer (one that stops
 * waiting probes itself, and whichever finishes second takes the first one's answer). Replicas that
 * probed each on their own, at the same time, competing for the same cores, could choose
 * differently, and the pool predicts all of them with one estimator.
 */
import { GgmlType, type LlamaModel, type Token } from 'node-llama-cpp';

export type KvCacheType = 'f16' | 'f32';

export interface AttentionSettings {
  flashAttention: boolean | 'auto';
  kvCacheType: KvCacheType | 'auto';
}

export interface AttentionChoice {
  /** 'auto': not decided here; node-llama-cpp and llama.cpp choose (GPU, big models, no probe). */
  flashAttention: boolean | 'auto';
  /** The KV cache's element type (f16 is llama.cpp's default). */
  kvCacheType: KvCacheType;
  /** Set when measured: the probe's time per candidate, ms (keys as `CANDIDATES` name them). */
  probe?: Partial<Record<CandidateName, number>> | undefined;
  /** Set when the probe failed: the model loads with llama.cpp's defaults instead. */
  probeError?: string | undefined;
}

/** Where the cache lives: contextSize cells for each of `sequences`. */
export interface CacheShape {
  contextSize: number;
  sequences: number;
}

interface Candidate {
  flash: boolean;
  kv: KvCacheType;
}
const CANDIDATES = {
  'on-f16': { flash: true, kv: 'f16' },
  'off-f16': { flash: false, kv: 'f16' },
  'on-f32': { flash: true, kv: 'f32' },
  'off-f32': { flash: false, kv: 'f32' },
} as const satisfies Record<string, Candidate>;
export type CandidateName = keyof typeof CANDIDATES;
const ORDER = Object.keys(CANDIDATES) as CandidateName[];

/**
 * One decision for all of a pool's workers: Int32 state (0 undecided, 1 probing,
 * 2 decided, 3 left to llama.cpp: the probe failed, 4 the answer being written), Int32 the chosen candidate's index
 * in ORDER, then the probe's time per candidate (Float64, ms; NaN: not probed). Made by
 * the pool, passed to every worker in its WorkerInit (a SharedArrayBuffer is shared,
 * not copied).
 */
export type SharedChoice = SharedArrayBuffer;
export const newSharedChoice = (): SharedChoice => new SharedArrayBuffer(8 + 8 * ORDER.length);
const UNDECIDED = 0;
const PROBING = 1;
const DECIDED = 2;
/** The probe failed: llama.cpp's own choice. */
const DEFAULTS = 3;
/** The prober is writing its answer. */
const WRITING = 4;

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

/** A candidate must be at least this much cheaper than llama.cpp's own choice to replace it. */
const MIN_GAIN = 0.1;
const PROMPT_TOKENS = 256;
/** The share of the probe's prompt that is in the KV cache before the timed part. */
const CACHED_SHARE = 0.875;
const DECODE_STEPS = 64;
/** Larger models are not probed (see above). */
const PROBE_MAX_BYTES = 128 << 20;
/** An f32 cache is tried only while it costs at most this much more memory than f16. */
export const F32_MAX_EXTRA_BYTES = 256 << 20;
/**
 * A replica waits this long for another's probe, then probes itself: the prober's thread
 * may have died mid-probe (Piscina replaces it), leaving the state at PROBING for good.
 */
const PROBE_WAIT_MS = 30_000;

export async function chooseAttention(
  model: LlamaModel,
  settings: AttentionSettings,
  onGpu: boolean,
  threads: number,
  prompt: readonly Token[],
  cache: CacheShape,
  shared?: SharedChoice,
  /** How long to wait for another replica's probe (tests shorten it). */
  waitMs = PROBE_WAIT_MS,
): Promise<AttentionChoice> {
  const fixedKv = settings.kvCacheType === 'auto' ? undefined : settings.kvCacheType;
  const fixed: AttentionChoice = {
    flashAttention: settings.flashAttention,
    kvCacheType: fixedKv ?? 'f16',
  };
  if (typeof settings.flashAttention === 'boolean' && fixedKv) return fixed;
  // A prompt too short to prefill anything would time nothing.
  if (onGpu || model.size > PROBE_MAX_BYTES || prompt.length < 8) return fixed;
  // NaN (unknown) is not within the bound either.
  const f32Allowed = fixedKv !== undefined || f32ExtraBytes(model, cache) <= F32_MAX_EXTRA_BYTES;
  const candidates = ORDER.filter((name) => {
    const c = CANDIDATES[name];
    if (typeof settings.flashAttention === 'boolean' && c.flash !== settings.flashAttention) return false;
    if (c.flash && !model.flashAttentionSupported) return false;
    if (fixedKv && c.kv !== fixedKv) return false;
    if (c.kv === 'f32' && !f32Allowed) return false;
    return true;
  });
  if (candidates.length < 2) return fixed;
  if (!shared) return measure(model, threads, prompt, candidates, fixed);
  const state = new Int32Array(shared, 0, 2);
  const ms = new Float64Array(shared, 8, ORDER.length);
  const decided = async (): Promise<AttentionChoice | undefined> => {
    for (;;) {
      const was = Atomics.compareExchange(state, 0, UNDECIDED, PROBING);
      if (was === DEFAULTS) return fixed;
      if (was === DECIDED) return fromShared(ORDER[state[1]!]!, ms);
      if (was === UNDECIDED) return undefined; // this worker probes
      // PROBING (another replica) or WRITING (its answer, in a moment).
      const wait = waitAsync(state, 0, was, was === WRITING ? 1000 : waitMs);
      if ((wait.async ? await wait.value : wait.value) === 'timed-out' && was === PROBING) return undefined;
    }
  };
  const earlier = await decided();
  if (earlier) return earlier;
  const choice = await measure(model, threads, prompt, candidates, fixed);
  // A replica that stopped waiting may have probed too: the first to finish decides, and
  // the other takes its answer, so every replica runs the same setting.
  if (Atomics.compareExchange(state, 0, PROBING, WRITING) !== PROBING) return (await decided()) ?? choice;
  ORDER.forEach((name, i) => (ms[i] = choice.probe?.[name] ?? NaN));
  if (choice.probe) state[1] = ORDER.findIndex((n) => matches(CANDIDATES[n], choice));
  Atomics.store(state, 0, choice.probe ? DECIDED : DEFAULTS);
  Atomics.notify(state, 0);
  return choice;
}

/** Bytes an f32 KV cache adds over f16 at this shape (llama.cpp's own estimate); NaN if it cannot say. */
export function f32ExtraBytes(model: LlamaModel, cache: CacheShape): number {
  try {
    return estimate(model, cache, GgmlType.F32) - estimate(model, cache, GgmlType.F16);
  } catch {
    return NaN; // missing or odd metadata: f32 is not tried
  }
}

function estimate(model: LlamaModel, cache: CacheShape, t: GgmlType): number {
  return model.fileInsights.estimateContextResourceRequirements({
    contextSize: cache.contextSize,
    sequences: cache.sequences,
    modelGpuLayers: 0,
    includeGraphOverhead: false,
    kvCacheKeyType: t,
    kvCacheValueType: t,
  }).cpuRam;
}

/** The node-llama-cpp context option for a KV cache type (undefined: its default, f16). */
export function kvCacheOption(kv: KvCacheType): 'F32' | undefined {
  return kv === 'f32' ? 'F32' : undefined;
}

const matches = (c: Candidate, choice: AttentionChoice) =>
  c.flash === choice.flashAttention && c.kv === choice.kvCacheType;

function fromShared(name: CandidateName, ms: Float64Array): AttentionChoice {
  const probe: Partial<Record<CandidateName, number>> = {};
  ORDER.forEach((n, i) => {
    if (!Number.isNaN(ms[i]!)) probe[n] = ms[i]!;
  });
  return { flashAttention: CANDIDATES[name].flash, kvCacheType: CANDIDATES[name].kv, probe };
}

async function measure(
  model: LlamaModel,
  threads: number,
  prompt: readonly Token[],
  candidates: CandidateName[],
  fallback: AttentionChoice,
): Promise<AttentionChoice> {
  const times: Partial<Record<CandidateName, number>> = {};
  let firstError: unknown;
  /** One timed try; a candidate that fails (unsupported here) is dropped, not the probe. */
  const timeOne = async (name: CandidateName) => {
    try {
      const ms = await probe(model, CANDIDATES[name], threads, prompt);
      times[name] = Math.min(times[name] ?? Infinity, ms);
    } catch (err) {
      firstError ??= err;
      alive = alive.filter((n) => n !== name);
      delete times[name]; // one that failed once is not chosen on an earlier time
    }
  };
  let alive = candidates;
  // One untimed run first: the first context of a load pays page-ins and cold caches,
  // which would count against whichever candidate went first (llama.cpp's default).
  await timeOne(alive[0]!);
  delete times[alive[0]!];
  for (let round = 0; round < 2 && alive.length > 0; round++) {
    // The second round in reverse order, so no candidate always runs right after another.
    for (const name of round === 0 ? [...alive] : [...alive].reverse()) await timeOne(name);
    if (alive.length === 0) break;
    // The second try only for those that could still win: a candidate 1.5x the
    // fastest's time would need a 3x swing to matter.
    const fastest = Math.min(...alive.map((n) => times[n]!));
    const contenders = alive.filter((n) => times[n]! < fastest * 1.5);
    if (Math.max(...contenders.map((n) => times[n]!)) > 250) break; // a slow model: one round
    alive = contenders;
  }
  const timed = candidates.filter((n) => times[n] !== undefined);
  if (timed.length === 0) {
    const e = firstError;
    return { ...fallback, probeError: e instanceof Error ? e.message : String(e) };
  }
  // llama.cpp's choice (the first candidate, if it ran) holds unless beaten by MIN_GAIN.
  const fastest = timed.reduce((a, b) => (times[b]! < times[a]! ? b : a));
  const dflt = candidates[0]!;
  const best =
    times[dflt] !== undefined && !(times[fastest]! < times[dflt]! * (1 - MIN_GAIN)) ? dflt : fastest;
  return { flashAttention: CANDIDATES[best].flash, kvCacheType: CANDIDATES[best].kv, probe: times };
}

/**
 * On a fresh context, the prompt (at most PROMPT_TOKENS of it) with its first
 * CACHED_SHARE already evaluated (untimed): the rest's prefill plus DECODE_STEPS greedy
 * steps, ms.
 */
async function probe(model: LlamaModel, c: Candidate, threads: number, prompt: readonly Token[]) {
  const context = await model.createContext({
    contextSize: Math.min(model.trainContextSize, 512),
    sequences: 1,
    threads,
    flashAttention: c.flash,
    experimentalKvCacheKeyType: kvCacheOption(c.kv),
    experimentalKvCacheValueType: kvCacheOption(c.kv),
  });
  try {
    const seq = context.getSequence();
    const tokens = prompt.slice(0, Math.min(PROMPT_TOKENS, model.trainContextSize / 2));
    const cached = Math.floor(tokens.length * CACHED_SHARE);
    // A model trained on a short context: as many steps as its context leaves room for.
    const steps = Math.max(1, Math.min(DECODE_STEPS, context.contextSize - tokens.length - 1));
    await seq.evaluateWithoutGeneratingNewTokens(tokens.slice(0, cached));
    const t0 = performance.now();
    let n = 0;
    for await (const _ of seq.evaluate(tokens.slice(cached), { temperature: 0 })) {
      if (++n >= steps) break;
    }
    return performance.now() - t0;
  } finally {
    await context.dispose();
  }
}
