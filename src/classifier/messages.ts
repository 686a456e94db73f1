/** Messages between the main thread and classifier pool workers (one file, as in piscina's own style). */
import type { RunnerOptions } from './runner';

export interface ClassifyTask {
  /** Model directory; each worker loads it once and caches the runner. */
  dir: string;
  options: RunnerOptions;
  texts: string[];
}

/** Row-major probabilities [texts.length, classes]. Errors cross as SerializedError. */
export type ClassifyTaskResult = Float32Array;
