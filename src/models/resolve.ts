/**
 * Turns a model name or source into a verified file on disk. Search order:
 *   1. an explicit file path is used as is (sha256 checked when the manifest pins one);
 *   2. each configured model directory, by file name (pinned sha256 checked; the hash is
 *      memoised by size+mtime so start-up stays fast);
 *   3. the cache directory;
 *   4. a download (hf:/https:) into the cache, verified against the pin, or for
 *      synthetic: sources, generation into the cache (deterministic, so made once).
 * With fallbackToSynthetic, a model that cannot be had offline becomes the tiny synthetic
 * model plus a warning the caller must show.
 */
import { access, mkdir } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { ColoError, toColoError, type ErrorCode } from '../core/errors';
import { downloadModel, type DownloadProgress } from './download';
import { defaultManifest, type Manifest } from './manifest';
import { HF_BASE_URL, isSourceString, parseSource, type ModelSource } from './source';
import { generateSyntheticModel } from './synthetic/generate';
import { cachedSha256, rememberSha256 } from './verify';

export interface ResolveOptions {
  /** Directories searched for model files by name, in order; relative to cwd. Default []. */
  modelDirs?: readonly string[] | undefined;
  /** Where downloaded and generated models are stored. Default 'models/cache'. */
  cacheDir?: string | undefined;
  /** Named models. Default: the bundled models/manifest.json. */
  manifest?: Manifest | undefined;
  /** Never use the network. Default false. */
  offline?: boolean | undefined;
  /** Return the tiny synthetic model (with a warning) when the model cannot be had. Default false. */
  fallbackToSynthetic?: boolean | undefined;
  /** Base URL for hf: sources. Default 'https://huggingface.co'. */
  hfBaseUrl?: string | undefined;
  /** Expected sha256 by model name or source; wins over the manifest's pin. Default {}. */
  sha256Pins?: Readonly<Record<string, string>> | undefined;
  /** Resumes after a dropped connection (downloadModel `retries`). Default 3. */
  downloadRetries?: number | undefined;
  /** Extra download headers (e.g. Authorization for gated repos). Never logged. Default {}. */
  headers?: Record<string, string> | undefined;
  onProgress?: ((p: DownloadProgress) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export type ResolvedOrigin = 'path' | 'model-dir' | 'cache' | 'download' | 'generated' | 'fallback';

export interface ResolvedModel {
  /** Manifest name, or the spec as given. */
  name: string;
  /** Absolute path of the GGUF file. */
  path: string;
  /** The source string the file came from. */
  source: string;
  /** Verified sha256, when one was pinned or computed on download. */
  sha256?: string | undefined;
  /** Random weights: fine for latency, meaningless text. */
  synthetic: boolean;
  origin: ResolvedOrigin;
  /** Set when a fallback was taken; the caller logs it plainly. */
  warning?: string | undefined;
}

/** The model returned by fallbackToSynthetic. */
export const FALLBACK_SOURCE = 'synthetic:tiny-q8_0';

/** Failures that mean "not obtainable here and now", as opposed to a wrong configuration. */
const UNAVAILABLE: ReadonlySet<ErrorCode> = new Set([
  'MODEL_NOT_FOUND',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_ERROR',
  'UPSTREAM_TIMEOUT',
  'STREAM_TRUNCATED',
  'CHECKSUM_MISMATCH',
]);

export async function resolveModel(spec: string, opts: ResolveOptions = {}): Promise<ResolvedModel> {
  try {
    return await resolveStrict(spec, opts);
  } catch (err) {
    const e = toColoError(err);
    if (!opts.fallbackToSynthetic || !UNAVAILABLE.has(e.code)) throw e;
    const fb = await resolveStrict(FALLBACK_SOURCE, { ...opts, fallbackToSynthetic: false });
    return {
      ...fb,
      origin: 'fallback',
      warning:
        `model "${spec}" is not available (${e.code}: ${e.message}); ` +
        `using the synthetic tiny model ${FALLBACK_SOURCE} instead: random weights, its output is noise`,
    };
  }
}

async function resolveStrict(spec: string, opts: ResolveOptions): Promise<ResolvedModel> {
  const manifest = opts.manifest ?? defaultManifest();
  const entry = Object.hasOwn(manifest.models, spec) ? manifest.models[spec] : undefined;
  const cacheDir = resolvePath(opts.cacheDir ?? 'models/cache');
  const dirs = (opts.modelDirs ?? []).map((d) => resolvePath(d));
  if (!entry && !isSourceString(spec)) {
    // An unknown bare name may still be a file someone dropped into a model directory.
    const found = await findInDirs(`${spec}.gguf`, [...dirs, cacheDir], undefined, cacheDir, opts.signal);
    if (found.path)
      return { name: spec, path: found.path, source: found.path, synthetic: false, origin: 'model-dir' };
    throw new ColoError(
      'MODEL_NOT_FOUND',
      `unknown model "${spec}": not in the manifest (${Object.keys(manifest.models).join(', ')}) and no ${spec}.gguf in ${[...dirs, cacheDir].join(', ')}`,
    );
  }
  const sourceText = entry?.source ?? spec;
  const src = parseSource(sourceText, opts.hfBaseUrl ?? HF_BASE_URL);
  const pin = opts.sha256Pins?.[spec] ?? opts.sha256Pins?.[sourceText] ?? entry?.sha256;
  const base = { name: spec, source: sourceText, synthetic: src.kind === 'synthetic' };

  if (src.kind === 'path') {
    const path = resolvePath(src.path);
    if (!(await exists(path))) throw new ColoError('MODEL_NOT_FOUND', `model file ${path} does not exist`);
    if (pin) await verifyOrThrow(path, pin, cacheDir, opts.signal);
    return { ...base, path, sha256: pin, origin: 'path' };
  }

  const found = await findInDirs(src.fileName, [...dirs, cacheDir], pin, cacheDir, opts.signal);
  if (found.path) {
    const origin = found.dir === cacheDir ? 'cache' : 'model-dir';
    return { ...base, path: found.path, sha256: pin, origin };
  }
  const dest = join(cacheDir, src.fileName);
  try {
    const made = await once(dest, () => obtain(src, dest, pin, cacheDir, opts));
    return {
      ...base,
      path: dest,
      sha256: made.sha256 ?? pin,
      origin: src.kind === 'synthetic' ? 'generated' : 'download',
    };
  } catch (err) {
    const e = toColoError(err);
    if (found.mismatched.length > 0 && e.code !== 'CANCELLED' && e.code !== 'CHECKSUM_MISMATCH') {
      throw new ColoError(
        'CHECKSUM_MISMATCH',
        `${spec}: ${found.mismatched.join(', ')} did not match the pinned sha256, and no good copy could be had (${e.message})`,
        { cause: e },
      );
    }
    throw e;
  }
}

async function obtain(
  src: Exclude<ModelSource, { kind: 'path' }>,
  dest: string,
  pin: string | undefined,
  cacheDir: string,
  opts: ResolveOptions,
): Promise<{ sha256?: string | undefined }> {
  await mkdir(cacheDir, { recursive: true });
  if (src.kind === 'synthetic') {
    await generateSyntheticModel(src.shape, src.quant, {
      outPath: dest,
      seed: src.seed,
      signal: opts.signal,
    });
    // A pin on a synthetic model guards the generator itself: same seed must give same bytes.
    if (pin) await verifyOrThrow(dest, pin, cacheDir, opts.signal);
    return { sha256: pin };
  }
  if (opts.offline)
    throw new ColoError('MODEL_NOT_FOUND', `${src.fileName} is not on disk and downloads are off (offline)`);
  const res = await downloadModel(src.url, dest, {
    sha256: pin,
    onProgress: opts.onProgress,
    signal: opts.signal,
    headers: opts.headers,
    retries: opts.downloadRetries,
  });
  await rememberSha256(dest, res.sha256, cacheDir);
  return { sha256: res.sha256 };
}

async function findInDirs(
  fileName: string,
  dirs: readonly string[],
  pin: string | undefined,
  cacheDir: string,
  signal: AbortSignal | undefined,
): Promise<{ path?: string; dir?: string; mismatched: string[] }> {
  const mismatched: string[] = [];
  for (const dir of new Set(dirs)) {
    const path = join(dir, fileName);
    if (!(await exists(path))) continue;
    if (pin && (await cachedSha256(path, cacheDir, signal)) !== pin) {
      mismatched.push(path);
      continue;
    }
    return { path, dir, mismatched };
  }
  return { mismatched };
}

async function verifyOrThrow(
  path: string,
  pin: string,
  cacheDir: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const actual = await cachedSha256(path, cacheDir, signal);
  if (actual !== pin) {
    throw new ColoError('CHECKSUM_MISMATCH', `${path}: sha256 ${actual} does not match the pinned ${pin}`);
  }
}

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

/** One download or generation per destination at a time within this process. */
const inFlight = new Map<string, Promise<{ sha256?: string | undefined }>>();
function once(
  dest: string,
  run: () => Promise<{ sha256?: string | undefined }>,
): Promise<{ sha256?: string | undefined }> {
  let p = inFlight.get(dest);
  if (!p) {
    p = run().finally(() => inFlight.delete(dest));
    inFlight.set(dest, p);
  }
  return p;
}
