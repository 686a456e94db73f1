/**
 * Where tests find model files. The real tiny model is never copied into the repo: it is
 * read from ../shared/models/ (relative to the repo root) or from $COLO_TEST_MODEL.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { WorkerInit } from '../../src/engine/messages';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const SHARED_MODELS_DIR = resolve(REPO_ROOT, '../shared/models');
export const TINY_MODEL_SHA256 = '270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d';

/** Absolute path of stories260K.gguf; throws with the places looked at if it is missing. */
export function tinyModelPath(): string {
  const fromEnv = process.env.COLO_TEST_MODEL;
  const path = fromEnv ? resolve(fromEnv) : join(SHARED_MODELS_DIR, 'stories260K.gguf');
  if (!existsSync(path)) {
    throw new Error(
      `tiny test model not found at ${path}. Put stories260K.gguf (sha256 ${TINY_MODEL_SHA256}) ` +
        `in ${SHARED_MODELS_DIR} or set COLO_TEST_MODEL to its path.`,
    );
  }
  return path;
}

/**
 * A worker's init for the tiny model loaded in-process (`loadLocalModel`): one thread,
 * CPU, 4 sequences of 256, no warm-up timing; each test states what it sets beside.
 */
export function tinyWorkerInit(over: Partial<WorkerInit> = {}): WorkerInit {
  return {
    modelName: 'stories260K',
    modelPath: tinyModelPath(),
    contextSize: 256,
    sequences: 4,
    threads: 1,
    gpu: 'cpu',
    gpuLayers: 0,
    flashAttention: 'auto',
    kvCacheType: 'auto',
    warmupPrompt: 'Once upon a time',
    warmupTokens: 0,
    faultInjection: false,
    ...over,
  };
}

/** A fresh temporary directory and its remover. */
export async function tempDir(
  prefix = 'colo-models-',
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
