/**
 * Every message between the main thread and an engine worker, typed in one place.
 *
 * Requests travel on the worker's **lane** (src/engine/lanes.ts, src/engine/lane.ts):
 * one MessagePort per worker thread, opened once, instead of a Piscina task and a new
 * transferred MessageChannel per request. The main thread posts a LaneRequest (a
 * generate or score task with the pool's request id) or a LaneCancel; the worker
 * answers with LaneBatch messages: `[id, message, id, message, …]`, everything that
 * became ready in one tick (several streams' tokens go as one message).
 *
 * Per request, the worker sends the first text as a WorkerFirst object (it carries the
 * prompt's token count, so usage is known even if the thread dies), every later chunk as
 * a bare string (the hot path: no object per token; a stream's text ready in the same
 * tick is merged) or, for a generation that asked for logprobs, as a WorkerText with the
 * entries recorded since the last message (streamed logprobs, OpenAI's per-chunk shape),
 * and ends with exactly one WorkerDone (which may carry the last text) or WorkerFailed.
 * Ordering on one port is guaranteed, so the final message always follows the last chunk.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ChatMessage, SamplingParams, TokenLogprob } from '../core/types';
import type { SerializedError } from '../core/errors';
import type { CandidateName, KvCacheType } from './attention';
import type { Rates } from './estimator';

/** Passed once as Piscina workerData. */
export interface WorkerInit {
  modelName: string;
  modelPath: string;
  contextSize: number;
  sequences: number;
  threads: number;
  gpu: 'auto' | 'cuda' | 'metal' | 'vulkan' | 'cpu';
  gpuLayers: 'auto' | 'max' | number;
  /** true, false, or 'auto': measured on the CPU (src/engine/attention.ts). */
  flashAttention: 'auto' | boolean;
  /** 'f16', 'f32', or 'auto': measured on the CPU with flash attention (src/engine/attention.ts). */
  kvCacheType: 'auto' | KvCacheType;
  /** The pool's one 'auto' decision, shared by its workers (src/engine/attention.ts). */
  attentionChoice?: SharedArrayBuffer | undefined;
  warmupPrompt: string;
  /** Tokens generated per stream by the warm-up that measures decode rates (0: skip). */
  warmupTokens: number;
  /**
   * A first warm-up run slower than this (ms) makes the rest of the warm-up quick: one
   * run of each, fewer tokens (src/engine/load.ts; default 1000; tests set 0).
   */
  warmupQuickAfterMs?: number | undefined;
  /** Allows the 'crash' task used by fault tests. */
  faultInjection: boolean;
}

export interface GenerateTask {
  kind: 'generate';
  /** The pool's id for the request, unique per lane. */
  id: number;
  prompt?: string | undefined;
  messages?: ChatMessage[] | undefined;
  sampling: SamplingParams;
  /** 0..255, mapped onto node-llama-cpp's evaluation priority. */
  priority: number;
  /** JSON Schema (as JSON text) constraining the output through a grammar. */
  jsonSchema?: string | undefined;
  /** Record each token's log-probability and this many top alternatives; undefined: none. */
  logprobs?: number | undefined;
}

/**
 * Scores `choices` as continuations of the prompt (src/engine/score.ts): nothing is
 * generated; the request gets one WorkerDone carrying `choiceLogprobs` (or WorkerFailed).
 * With `tickers`, the choices are scored after each ticker's prompt (the prompt plus
 * its ticker suffix, src/core/ticker.ts), the shared prefix evaluated once, and
 * `choiceLogprobs` holds tickers × choices values, ticker-major.
 */
export interface ScoreTask {
  kind: 'score';
  /** The pool's id for the request, unique per lane. */
  id: number;
  prompt?: string | undefined;
  messages?: ChatMessage[] | undefined;
  choices: string[];
  tickers?: string[] | undefined;
  priority: number;
}

export interface InfoTask {
  kind: 'info';
}

/** Fault injection: ends the worker thread abruptly (only when WorkerInit.faultInjection). */
export interface CrashTask {
  kind: 'crash';
  afterMs: number;
}

/** Piscina tasks (the `run` export of the worker). Requests go on the lane instead. */
export type WorkerTask = InfoTask | CrashTask;

/** Opens a worker's lane (the `lane` export of the worker): the task runs as long as the thread. */
export interface LaneTask {
  port: MessagePort;
}

/** Main thread → worker, on the lane. */
export type LaneRequest = GenerateTask | ScoreTask;

/** Main thread → worker, on the lane: end request `id` early. */
export interface LaneCancel {
  kind: 'cancel';
  id: number;
  reason: CancelReason;
}

/** Worker → main thread, on the lane: the lane's first message. */
export interface LaneHello {
  kind: 'hello';
  threadId: number;
}

/** Worker → main thread, on the lane: `[id, message, id, message, …]`, one tick's worth. */
export type LaneBatch = (number | WorkerPortMessage)[];

/** Why the main thread ends a generation early; each maps to one error code. */
export type CancelReason = 'cancel' | 'deadline' | 'preempt' | 'shutdown';

export type WorkerFinish = 'stop' | 'length' | 'cancelled' | 'deadline' | 'preempted' | 'shutdown';

/** The first text of a generation. */
export interface WorkerFirst {
  type: 'first';
  text: string;
  promptTokens: number;
  /** The sequence the generation took (its id in the worker's context): it holds the prompt from now on. */
  seq: number;
  /** When the task asked for logprobs: the entries recorded so far (they may run ahead of the text). */
  logprobs?: TokenLogprob[] | undefined;
}

/** Later text of a generation that asked for logprobs, with the entries recorded since the last message. */
export interface WorkerText {
  type: 'text';
  text: string;
  logprobs: TokenLogprob[];
}

/** What one generation measured, for the main thread's rate estimator (src/engine/estimator.ts). */
export interface DecodeStats {
  /** Prompt tokens actually evaluated (the rest came from the sequence's KV cache). */
  prefillTokens: number;
  /** From the start of evaluation to the first sampled token. */
  prefillMs: number;
  /** From the first to the last sampled token. */
  decodeMs: number;
  /**
   * The decode steps after the first token, by the number of generations running in
   * this worker when each came back: for each size b seen, four numbers: b, the steps,
   * their ms, and the sum of their contexts (prompt plus tokens so far, per step).
   */
  steps: number[];
  /** The sequence the request ran on (its id in the worker's context), which keeps its prompt. */
  seq?: number | undefined;
  /** Time it waited for another request to evaluate the prompt start it then copied (SequencePool.donorFor). */
  waitMs?: number | undefined;
}

export interface WorkerDone {
  type: 'done';
  finishReason: WorkerFinish;
  promptTokens: number;
  completionTokens: number;
  /** Text not yet sent (merged into the final message). */
  text: string;
  stats: DecodeStats;
  /** Prompt tokens not evaluated: its sequence's KV cache held them, or they were copied from another's. */
  cachedTokens: number;
  /** When the task asked for logprobs: the entries not sent with earlier text (one entry per generated token in all). */
  logprobs?: TokenLogprob[] | undefined;
  /** Score tasks: each choice's total log-probability, in request order (per ticker, ticker-major). */
  choiceLogprobs?: number[] | undefined;
}

export interface WorkerFailed {
  type: 'error';
  error: SerializedError;
  /** Tokens evaluated and generated before the failure. */
  promptTokens: number;
  completionTokens: number;
}

export type WorkerPortMessage = string | WorkerFirst | WorkerText | WorkerDone | WorkerFailed;

export interface WorkerInfo {
  modelName: string;
  gpu: string | false;
  threads: number;
  sequences: number;
  contextSize: number;
  trainContextSize: number;
  loadMs: number;
  warmupMs: number;
  /** The warm-up went quick (its first run was slow): rougher rates, learnt further from traffic. */
  warmupQuick: boolean;
  /** Times this worker recovered from a fatal error by reloading its model. */
  recoveries: number;
  /** Flash attention and the KV cache type as the context runs them, and the load-time probe that chose them (CPU, 'auto'). */
  flashAttention: boolean | 'auto';
  kvCacheType: KvCacheType;
  attentionProbe?: Partial<Record<CandidateName, number>> | undefined;
  attentionProbeError?: string | undefined;
  /** Concurrent streams share decode batches (src/engine/batching.ts); false if node-llama-cpp's internals it reads moved. */
  batching: boolean;
  /** Each batch lists its sequences in id order, one micro-batch a step (src/engine/batching.ts); false if the internal moved. */
  batchOrdered: boolean;
  /** Free sequences at the moment of asking. */
  sequencesFree: number;
  /** Measured at warm-up: ms per prompt token, ms per decode step (at context 0) with 1, 2 and all sequences busy, and the step's growth per token of context. */
  rates?: Rates | undefined;
}
