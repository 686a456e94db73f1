/** Loads one model into this worker and warms it up. Runs inside a worker thread only. */
import { getLlama, LlamaLogLevel, type Llama, type LlamaContext, type LlamaModel } from 'node-llama-cpp';
import type { WorkerInit, WorkerInfo } from './messages';
import { SequencePool } from './sequences';
import { BatchGate } from './batching';
import { decode } from './decode';
import { chooseAttention, kvCacheOption } from './attention';

export interface LoadedModel {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  sequences: SequencePool;
  /** Counts running and waiting generations; decides when the context dispatches a batch. */
  gate: BatchGate;
  info: WorkerInfo;
  /** Grammars compiled from JSON Schemas, keyed by the schema text. */
  grammars: Map<string, Promise<unknown>>;
}

export async function loadLocalModel(init: WorkerInit): Promise<LoadedModel> {
  const t0 = performance.now();
  const llama = await getLlama({
    gpu: init.gpu === 'cpu' ? false : init.gpu,
    logLevel: LlamaLogLevel.error,
    // Without this, llama.cpp sizes its thread pool from all cores and oversubscribes.
    maxThreads: init.threads,
  });
  const gate = new BatchGate();
  const model = await llama.loadModel({ modelPath: init.modelPath, gpuLayers: init.gpuLayers });
  const contextSize = Math.min(init.contextSize, model.trainContextSize);
  const attention = await chooseAttention(
    model,
    { flashAttention: init.flashAttention, kvCacheType: init.kvCacheType },
    llama.gpu !== false && model.gpuLayers > 0,
    init.threads,
    model.tokenize(`${init.warmupPrompt} `.repeat(64)),
    { contextSize, sequences: init.sequences },
    init.attentionChoice,
  );
  const context = await model.createContext({
    // Per sequence: node-llama-cpp gives each of the `sequences` its own contextSize cells
    // (the KV cache holds contextSize × sequences). Passing contextSize × sequences here
    // sized the cache sequences² × contextSize (8× the memory at 8 sequences).
    contextSize,
    sequences: init.sequences,
    threads: init.threads,
    batchSize: Math.max(512, init.sequences * 16),
    flashAttention: attention.flashAttention,
    experimentalKvCacheKeyType: kvCacheOption(attention.kvCacheType),
    experimentalKvCacheValueType: kvCacheOption(attention.kvCacheType),
    batching: { dispatchSchedule: gate.schedule },
  });
  const batched = gate.attach(context);
  const loadMs = performance.now() - t0;

  const sequences = new SequencePool(context, gate);
  const t1 = performance.now();
  const { rates, quick } = await measureRates(model, sequences, gate, init);
  const warmupMs = performance.now() - t1;

  return {
    llama,
    model,
    context,
    grammars: new Map(),
    sequences,
    gate,
    info: {
      modelName: init.modelName,
      gpu: llama.gpu,
      threads: init.threads,
      sequences: init.sequences,
      contextSize: context.contextSize,
      trainContextSize: model.trainContextSize,
      flashAttention: attention.flashAttention,
      kvCacheType: attention.kvCacheType,
      attentionProbe: attention.probe,
      attentionProbeError: attention.probeError,
      batching: batched,
      batchOrdered: batched && gate.ordered,
      loadMs,
      warmupMs,
      warmupQuick: quick,
      recoveries: 0,
      sequencesFree: sequences.available,
      rates,
    },
  };
}

/** A first warm-up run slower than this makes the rest of the warm-up quick (see below). */
const QUICK_AFTER_MS = 1000;

/**
 * Warm-up that also measures what admission needs before any request has finished:
 * prefill ms per token and the decode step time with one, two and all sequences busy
 * (src/engine/estimator.ts interpolates between them, then learns); and whether it went
 * quick (a slow model).
 */
async function measureRates(
  model: LlamaModel,
  sequences: SequencePool,
  gate: BatchGate,
  init: WorkerInit,
): Promise<{ rates: WorkerInfo['rates']; quick: boolean }> {
  // Long enough that the prefill rate is not just one call's fixed cost.
  let tokens = Math.max(2, init.warmupTokens);
  const base = model.tokenize(init.warmupPrompt);
  const promptOf = (want: number) => {
    let p = base;
    while (p.length > 0 && p.length < want) p = [...p, ...base];
    p = p.slice(0, Math.max(1, want));
    if (model.tokens.shouldPrependBosToken && model.tokens.bos !== null) p.unshift(model.tokens.bos);
    return p;
  };
  const room = Math.floor(init.contextSize / 2) - tokens;
  const basePrompt = promptOf(Math.min(96, room));
  const step = (r: { completionTokens: number; stats: { decodeMs: number } }) =>
    r.completionTokens > 1 ? r.stats.decodeMs / (r.completionTokens - 1) : r.stats.decodeMs;
  const run = async (n: number, prompt = basePrompt) => {
    const seqs = Array.from({ length: n }, () => sequences.acquire([])!);
    gate.enter(n);
    try {
      return await Promise.all(
        seqs.map(async (seq) => {
          // Each stream leaves the batch when it ends (an early end of text included): a
          // count left high would hold every later step of the others for the guard.
          try {
            await seq.clearHistory();
            return await decode(
              {
                model,
                seq,
                gate,
                prompt,
                sampling: { maxTokens: tokens, temperature: 0, topP: 1, stop: [] },
                maxTokens: tokens,
                evaluationPriority: 5,
                emit: () => undefined,
                cancelled: () => undefined,
              },
              { completionTokens: 0 },
            );
          } finally {
            gate.leave();
          }
        }),
      );
    } finally {
      // Emptied: what a warm-up leaves in the KV cache would slow every later stream.
      await Promise.all(seqs.map((s) => sequences.release(s, 0)));
    }
  };
  /** Runs of `n` streams, `times` in turn. */
  const repeat = async (n: number, times: number, prompt = basePrompt) => {
    const out: Awaited<ReturnType<typeof run>> = [];
    for (let i = 0; i < times; i++) out.push(...(await run(n, prompt)));
    return out;
  };
  // The fastest of a few runs: a shared machine's stalls only ever add time, and the
  // estimator learns upward from real traffic anyway.
  const fastest = (rs: Awaited<ReturnType<typeof run>>) => Math.min(...rs.map(step));
  /** Runs of `n` streams in turn: per run the slowest stream's step; over runs the fastest. */
  const slowestOfFastest = (rs: Awaited<ReturnType<typeof run>>, n: number) =>
    Math.min(...chunk(rs, n).map((r) => Math.max(...r.map(step))));
  const started = performance.now();
  await run(1); // first touch: allocations, caches
  // A slow model (a 0.5B Q4_0 on one CPU thread: ~5 s a run, 3 minutes for all of this)
  // gets one run of each, with fewer tokens, the batched runs after a short prompt (eight
  // 96-token prefills were most of it) and a shorter long prompt: ~25 s. Its rates are
  // rougher; the estimator learns from traffic anyway.
  const quick = performance.now() - started > (init.warmupQuickAfterMs ?? QUICK_AFTER_MS);
  if (quick) tokens = Math.min(tokens, 16);
  const batchPrompt = quick ? promptOf(Math.min(8, room)) : basePrompt;
  /** Runs of one stream per measurement, and of two or all streams. */
  const [singles, reps] = quick ? [1, 1] : [3, 2];
  const ones = await repeat(1, singles);
  const alls = sequences.size > 1 ? await repeat(sequences.size, reps, batchPrompt) : ones;
  if (init.warmupTokens <= 0) return { rates: undefined, quick };
  // Two streams too: the estimator interpolates between measured sizes, and the step from
  // one stream to two is where a burst's first admissions are decided.
  const twos = sequences.size > 2 ? await repeat(2, reps, batchPrompt) : undefined;
  // How a step grows with context: one stream after a short and after a long prompt
  // (fastest of three each; one when quick), at the mean context of their decode steps.
  const shortPrompt = promptOf(4);
  const longPrompt = promptOf(Math.min(quick ? 192 : 384, room));
  const ctxOf = (p: readonly unknown[]) => p.length + tokens / 2;
  const sShort = fastest(await repeat(1, singles, shortPrompt));
  const longs = await repeat(1, singles, longPrompt);
  const sLong = fastest(longs);
  const span = ctxOf(longPrompt) - ctxOf(shortPrompt);
  // Per token of context, as a fraction of the step at context 0 (a straight line through both).
  const perToken = span > 0 ? Math.max(0, (sLong - sShort) / span) : 0;
  const at0 = Math.max(1e-3, sShort - perToken * ctxOf(shortPrompt));
  const growth = perToken / at0;
  const to0 = (ms: number, ctx: number) => ms / (1 + growth * ctx);
  // The prefill's ms per token after the base and after the long prompt (fastest of each),
  // at their mean positions: a line through both, as the step's growth above.
  const perPrefillToken = (rs: Awaited<ReturnType<typeof run>>) =>
    Math.min(...rs.map((r) => Math.max(0, r.stats.prefillMs - step(r)) / Math.max(1, r.stats.prefillTokens)));
  const [pBase, pLong] = [perPrefillToken(ones), perPrefillToken(longs)];
  const [xBase, xLong] = [basePrompt.length / 2, longPrompt.length / 2];
  const prefillSlope = xLong > xBase ? Math.max(0, (pLong - pBase) / (xLong - xBase)) : 0;
  const prefillAt0 = Math.max(1e-4, pBase - prefillSlope * xBase);
  const rates = {
    prefillMsPerToken: prefillAt0,
    prefillGrowth: prefillSlope / prefillAt0,
    stepMs1: to0(fastest(ones), ctxOf(basePrompt)),
    // Per run, the slowest stream of the batch; over runs, the fastest run.
    stepMsFull: to0(
      slowestOfFastest(alls, sequences.size),
      ctxOf(sequences.size > 1 ? batchPrompt : basePrompt),
    ),
    stepMs2: twos ? to0(slowestOfFastest(twos, 2), ctxOf(batchPrompt)) : undefined,
    stepGrowth: growth,
  };
  return { rates, quick };
}

function chunk<T>(a: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < a.length; i += n) out.push(a.slice(i, i + n));
  return out;
}
