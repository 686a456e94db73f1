/**
 * Settings for where model weights come from, for the lead to compose into the one config
 * (engine.modelDirs, engine.cacheDir and engine.syntheticFallback already live there).
 */
import { z } from 'zod';

export const modelSourcesConfigSchema = z.strictObject({
  /** Path of a manifest replacing the bundled models/manifest.json. Default '' (the bundled one). */
  manifest: z.string().default(''),
  /** Never download; only files already on disk (or synthetic models) are used. Default false. */
  offline: z.boolean().default(false),
  /** Base URL for hf: sources, e.g. a mirror. Default 'https://huggingface.co'. */
  hfBaseUrl: z.url().default('https://huggingface.co'),
});
export type ModelSourcesConfig = z.infer<typeof modelSourcesConfigSchema>;
