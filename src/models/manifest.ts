/**
 * The model manifest: named models with a pinned source, sha256, quantization, size and
 * licence. The copy in models/manifest.json is bundled into the build; an operator may
 * point at another file (same schema) without rebuilding.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ColoError } from '../core/errors';
import bundled from '../../models/manifest.json';

const modelName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only');

export const manifestEntrySchema = z.strictObject({
  /** Where the weights come from (see source.ts). Required. */
  source: z.string().min(1),
  /** Lower-case hex sha256 of the file; verified on download and when found on disk. Default: not pinned. */
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'lower-case hex sha256')
    .optional(),
  /** Main tensor type, as llama.cpp names it (F32, F16, Q8_0, Q4_0, Q4_K_M...). Required. */
  quantization: z.string().min(1),
  /** File size in bytes. Default: unknown. */
  sizeBytes: z.number().int().positive().optional(),
  /** Licence of the weights. Required: nothing without one is pulled. */
  licence: z.string().min(1),
  /** Model architecture. Default 'llama'. */
  architecture: z.string().default('llama'),
  /** Parameter count in words ("260K", "1.1B"). Default ''. */
  parameters: z.string().default(''),
  /** One line for `colo models`. Default ''. */
  description: z.string().default(''),
});

export const manifestSchema = z
  .strictObject({
    /** Manifest format version. Must be 1. */
    version: z.literal(1),
    /** Model used when none is named. Required; must be a key of models. */
    default: modelName,
    models: z.record(modelName, manifestEntrySchema),
  })
  .refine((m) => Object.hasOwn(m.models, m.default), {
    message: 'default must name a model in models',
    path: ['default'],
  });

export type ManifestEntry = z.infer<typeof manifestEntrySchema>;
export type Manifest = z.infer<typeof manifestSchema>;

/** Validates manifest data; a bad manifest is a configuration error naming the field. */
export function parseManifest(data: unknown, origin = 'manifest'): Manifest {
  const r = manifestSchema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const at = issue.path.join('.');
    throw new ColoError('INVALID_ARGUMENT', `${origin}: ${at ? `${at}: ` : ''}${issue.message}`, {
      field: at || 'manifest',
    });
  }
  return Object.freeze(r.data);
}

let bundledManifest: Manifest | undefined;

/** The manifest bundled with this build (models/manifest.json). */
export function defaultManifest(): Manifest {
  bundledManifest ??= parseManifest(bundled, 'models/manifest.json');
  return bundledManifest;
}

export async function loadManifest(path: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ColoError('NOT_FOUND', `manifest ${path} cannot be read`, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ColoError('INVALID_ARGUMENT', `manifest ${path} is not JSON`, {
      field: 'manifest',
      cause: err,
    });
  }
  return parseManifest(data, path);
}
