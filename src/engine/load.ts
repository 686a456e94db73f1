/** Loads one model into this worker and warms it up. Runs inside a worker thread only. */
import {
  getLlama,
  LlamaCompletion,
  LlamaLogLevel,
  type Llama,
  type LlamaContext,
  type LlamaModel,
} from 'node-llama-cpp';
import type { WorkerInit, WorkerInfo } from './messages';
import { SequencePool } from './sequences';

export interface LoadedModel {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  sequences: SequencePool;
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
  const model = await llama.loadModel({ modelPath: init.modelPath, gpuLayers: init.gpuLayers });
  const context = await model.createContext({
    contextSize: Math.min(init.contextSize * init.sequences, model.trainContextSize * init.sequences),
    sequences: init.sequences,
    threads: init.threads,
    batchSize: Math.max(512, init.sequences * 16),
  });
  const loadMs = performance.now() - t0;

  const sequences = new SequencePool(context);
  const t1 = performance.now();
  const seq = sequences.acquire([])!;
  try {
    const completion = new LlamaCompletion({ contextSequence: seq });
    await completion.generateCompletion(init.warmupPrompt, { maxTokens: 8, temperature: 0 });
    completion.dispose();
  } finally {
    sequences.release(seq);
  }
  const warmupMs = performance.now() - t1;

  return {
    llama,
    model,
    context,
    grammars: new Map(),
    sequences,
    info: {
      modelName: init.modelName,
      gpu: llama.gpu,
      threads: init.threads,
      sequences: init.sequences,
      contextSize: context.contextSize / init.sequences,
      trainContextSize: model.trainContextSize,
      loadMs,
      warmupMs,
      recoveries: 0,
      sequencesFree: sequences.available,
    },
  };
}
