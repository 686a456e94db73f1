/**
 * Where model weights come from: the top-level `models` section of the config
 * (engine.modelDirs, engine.cacheDir and engine.syntheticFallback live under engine).
 * `colo serve` (start-up resolution) and `colo pull` both read it.
 */
import { z } from 'zod';

export const modelSourcesConfigSchema = z.strictObject({
  /** Path of a manifest replacing the bundled models/manifest.json. Default '' (the bundled one). */
  manifest: z.string().default(''),
  /** Never download; only files already on disk (or synthetic models) are used. Default false. */
  offline: z.boolean().default(false),
  /** Base URL for hf: sources, e.g. a mirror. Default 'https://huggingface.co'. */
  hfBaseUrl: z.url().default('https://huggingface.co'),
  /**
   * Expected sha256 (lower-case hex) by model name or source (`hf:…`, `https://…`): a
   * download, or a copy found on disk, that does not match is refused. Wins over the
   * manifest's pin. Default {}.
   */
  sha256Pins: z
    .record(z.string().min(1), z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex chars'))
    .default({}),
  /** Resumes with a Range request after the connection drops mid-download. Default 3. */
  downloadRetries: z.number().int().min(0).max(20).default(3),
});
export type ModelSourcesConfig = z.infer<typeof modelSourcesConfigSchema>;
