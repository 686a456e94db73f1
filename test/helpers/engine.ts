/** Starts a real local engine or a whole Colo on the tiny real model, for model tests. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type ColoConfig } from '../../src/config';
import { createLogger } from '../../src/core/log';
import { DEFAULT_SAMPLING, type InferenceRequest } from '../../src/core/types';
import { startColo, type Colo } from '../../src/app/colo';
import { SHARED_MODELS_DIR, tinyModelPath } from './models';

/** The folder beside the repo that holds stories260K.gguf (see ./models.ts). */
export const SHARED_MODELS = SHARED_MODELS_DIR;

export const quietLog = createLogger('error');

export function testConfig(
  over: {
    sequences?: number;
    maxQueue?: number;
    server?: Record<string, unknown>;
    extra?: Record<string, unknown>;
  } = {},
): ColoConfig {
  const dir = mkdtempSync(join(tmpdir(), 'colo-test-'));
  return parseConfig({
    server: { port: 0, shutdownGraceMs: 2000, ...over.server },
    audit: { dir: join(dir, 'audit') },
    auth: { storePath: join(dir, 'auth.json') },
    engine: {
      modelDirs: [SHARED_MODELS],
      models: [
        {
          name: 'stories260K',
          aliases: ['tiny'],
          sequences: over.sequences ?? 4,
          maxQueue: over.maxQueue ?? 16,
          contextSize: 512,
        },
      ],
    },
    ...over.extra,
  });
}

export async function startTestColo(
  over: Parameters<typeof testConfig>[0] = {},
  opts: { faultInjection?: boolean } = {},
): Promise<Colo> {
  tinyModelPath();
  return startColo(testConfig(over), quietLog, opts);
}

export function request(id: string, over: Partial<InferenceRequest> = {}): InferenceRequest {
  return {
    id,
    model: 'stories260K',
    prompt: 'Once upon a time',
    sampling: { ...DEFAULT_SAMPLING, maxTokens: 32, temperature: 0 },
    deadlineMs: 10_000,
    priority: 0,
    stream: true,
    ...over,
  };
}
