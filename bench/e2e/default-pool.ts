/**
 * A ModelPool in the bench's own process with the engine settings Colo serves with by
 * default (8 sequences, context 2048, queue 64, one llama.cpp thread, CPU, the attention
 * setting chosen at load, predict-then-admit), for benches that time the engine without
 * a server. Run them with tsx: the pool finds its worker in dist/ only from the
 * TypeScript sources.
 */
import { ModelPool } from '../../src/engine';
import type { ModelPoolOptions } from '../../src/engine/pool';

export function defaultPool(
  name: string,
  modelPath: string,
  over: Partial<ModelPoolOptions> = {},
): Promise<ModelPool> {
  return ModelPool.create({
    name,
    aliases: [],
    modelPath,
    replicas: 1,
    sequences: 8,
    threads: 1,
    contextSize: 2048,
    maxQueue: 64,
    gpu: 'cpu',
    gpuLayers: 0,
    flashAttention: 'auto',
    kvCacheType: 'auto',
    warmupPrompt: 'Once upon a time',
    admission: 'predict',
    ...over,
  });
}
