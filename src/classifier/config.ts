/** Configuration of the classifier registry (composed into the one config by the lead). */
import { z } from 'zod';

export const classifierModelSchema = z.strictObject({
  /** Name clients use to select the model. Required. */
  name: z.string().min(1),
  /** Model directory (model.onnx + featurizer.json or tokenizer.json + labels.json). Required. */
  dir: z.string().min(1),
  /** Overrides the registry-wide mode for this model. Default: the registry's mode. */
  mode: z.enum(['inline', 'pool']).optional(),
  /** Overrides the registry-wide `escalateBelow` for this model. Default: the registry's. */
  escalateBelow: z.number().min(0).max(1).optional(),
});
export type ClassifierModelConfig = z.infer<typeof classifierModelSchema>;

export const classifierConfigSchema = z.strictObject({
  /** Classifier model directories to load. Default []. */
  models: z.array(classifierModelSchema).default([]),
  /**
   * Where model runs happen: 'inline' on the calling (event-loop) thread, lowest latency
   * for tiny hashed models; 'pool' on Piscina worker threads, so a slow model (HF
   * transformer) never blocks the socket thread. Default 'inline'.
   */
  mode: z.enum(['inline', 'pool']).default('inline'),
  /**
   * Cascade threshold: a classification whose confidence (the calibrated probability of
   * its label) is below this is marked `escalate: true`, and its signal abstains, so the
   * caller can send the text to the LLM skill or /v1/decide instead. 0 never escalates.
   * Default 0.
   */
  escalateBelow: z.number().min(0).max(1).default(0),
  /** Worker threads per model in pool mode. Default 1. */
  poolThreads: z.number().int().min(1).max(64).default(1),
  /** Extra wait, in µs, to coalesce requests into a batch; 0 batches only what arrives in one tick or while a run is in flight. Default 0. */
  batchWindowUs: z.number().int().min(0).max(100_000).default(0),
  /** Most texts in one model run. Default 32. */
  maxBatch: z.number().int().min(1).max(4096).default(32),
  /** Texts that may wait for a run before OVERLOADED. Default 1024. */
  maxQueue: z.number().int().min(0).max(1_000_000).default(1024),
  /** Largest accepted text in UTF-8 bytes; longer ones get INVALID_ARGUMENT. Default 4096. */
  maxTextBytes: z
    .number()
    .int()
    .min(1)
    .max(1 << 20)
    .default(4096),
  /** HF models: tokens kept per text (longer texts are cut). Default 128. */
  maxTokens: z.number().int().min(2).max(8192).default(128),
  /**
   * Hashed models: 'auto' computes Colo's own linear graph in TypeScript, after checking at
   * load that it agrees with onnxruntime on probe texts (an onnxruntime run costs ~30–60 µs
   * of fixed overhead a call, the TypeScript kernel ~1 µs: bench/README.md "Classifier
   * kernel"); any other graph, or a disagreement, stays on onnxruntime. 'onnx' runs
   * onnxruntime on every request. HF models always run on onnxruntime. Default 'auto'.
   */
  kernel: z.enum(['auto', 'onnx']).default('auto'),
  /** onnxruntime threads inside one run. Default 1. */
  intraOpThreads: z.number().int().min(1).max(64).default(1),
});
export type ClassifierConfig = z.infer<typeof classifierConfigSchema>;
