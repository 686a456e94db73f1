/**
 * Every message between the main thread and an engine worker, typed in one place.
 *
 * A generate task carries a MessagePort. Over it the worker streams token text as
 * bare strings (the hot path: no object allocation per token) and ends with exactly
 * one WorkerDone or WorkerFailed object. The main thread sends a CancelReason string
 * to stop early. Ordering on one port is guaranteed, so the final message always
 * follows the last token.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ChatMessage, SamplingParams } from '../core/types';
import type { SerializedError } from '../core/errors';

/** Passed once as Piscina workerData. */
export interface WorkerInit {
  modelName: string;
  modelPath: string;
  contextSize: number;
  sequences: number;
  threads: number;
  gpu: 'auto' | 'cuda' | 'metal' | 'vulkan' | 'cpu';
  gpuLayers: 'auto' | 'max' | number;
  warmupPrompt: string;
  /** Allows the 'crash' task used by fault tests. */
  faultInjection: boolean;
}

export interface GenerateTask {
  kind: 'generate';
  port: MessagePort;
  prompt?: string | undefined;
  messages?: ChatMessage[] | undefined;
  sampling: SamplingParams;
  /** 0..255, mapped onto node-llama-cpp's evaluation priority. */
  priority: number;
  /** JSON Schema (as JSON text) constraining the output through a grammar. */
  jsonSchema?: string | undefined;
}

export interface InfoTask {
  kind: 'info';
}

/** Fault injection: ends the worker thread abruptly (only when WorkerInit.faultInjection). */
export interface CrashTask {
  kind: 'crash';
  afterMs: number;
}

export type WorkerTask = GenerateTask | InfoTask | CrashTask;

export type CancelReason = 'cancel' | 'deadline';

export type WorkerFinish = 'stop' | 'length' | 'cancelled' | 'deadline';

export interface WorkerDone {
  type: 'done';
  finishReason: WorkerFinish;
  promptTokens: number;
  completionTokens: number;
}

export interface WorkerFailed {
  type: 'error';
  error: SerializedError;
}

export type WorkerPortMessage = string | WorkerDone | WorkerFailed;

export interface WorkerInfo {
  modelName: string;
  gpu: string | false;
  threads: number;
  sequences: number;
  contextSize: number;
  trainContextSize: number;
  loadMs: number;
  warmupMs: number;
  /** Times this worker recovered from a fatal error by reloading its model. */
  recoveries: number;
  /** Free sequences at the moment of asking. */
  sequencesFree: number;
}
