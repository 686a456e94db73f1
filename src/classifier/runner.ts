/**
 * A loaded classifier model that turns a batch of validated texts into probabilities.
 * Two kinds: hashed features (hashedRunner.ts) and HF tokenizer models (hfRunner.ts).
 * A runner is single-threaded: it lives on the main thread (inline mode) or inside one
 * pool worker, never both.
 */
import { type ModelKind, detectKind } from './modelDir';

export interface RunnerOptions {
  /** Threads inside one ONNX run. Default 1. */
  intraOpThreads?: number;
  /** HF models: most tokens per text, longer texts are cut. Default 128. */
  maxTokens?: number;
  /** Hashed models: 'auto' computes Colo's own graph in TypeScript (checked against onnxruntime at load); 'onnx' always runs onnxruntime. Default 'auto'. */
  kernel?: 'auto' | 'onnx';
}

export interface ClassifierRunner {
  readonly kind: ModelKind;
  readonly labels: readonly string[];
  /** Row-major probabilities [texts.length, labels.length]. */
  run(texts: readonly string[]): Promise<Float32Array>;
  close(): Promise<void>;
}

export async function loadRunner(dir: string, opts: RunnerOptions = {}): Promise<ClassifierRunner> {
  const kind = await detectKind(dir);
  if (kind === 'hashed') return (await import('./hashedRunner')).HashedRunner.load(dir, opts);
  return (await import('./hfRunner')).HfRunner.load(dir, opts);
}
