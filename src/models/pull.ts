/** The model operations behind `colo pull` and `colo models`. */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import type { ModelSourcesConfig } from './config';
import { defaultManifest, loadManifest, type Manifest } from './manifest';
import { progressReporter } from './progress';
import { resolveModel, type ResolveOptions, type ResolvedModel } from './resolve';
import { parseSource } from './source';

/** The resolve options the `models` config section gives (loads its manifest, if one is named). */
export async function sourceOptions(cfg: ModelSourcesConfig): Promise<ResolveOptions> {
  return {
    manifest: cfg.manifest ? await loadManifest(cfg.manifest) : undefined,
    offline: cfg.offline,
    hfBaseUrl: cfg.hfBaseUrl,
    sha256Pins: cfg.sha256Pins,
    downloadRetries: cfg.downloadRetries,
  };
}

export interface PullOptions extends ResolveOptions {
  /** Where the progress bar goes (e.g. process.stderr). Default: no progress output. */
  progressOut?: { write(s: string): unknown; isTTY?: boolean } | undefined;
}

/** Resolves `spec`, downloading or generating it if needed, with a progress bar. */
export async function pullModel(spec: string, opts: PullOptions = {}): Promise<ResolvedModel> {
  const reporter = opts.progressOut ? progressReporter(opts.progressOut, spec) : undefined;
  try {
    return await resolveModel(spec, {
      ...opts,
      onProgress: (p) => {
        reporter?.onProgress(p);
        opts.onProgress?.(p);
      },
    });
  } finally {
    reporter?.finish();
  }
}

export interface LocalCopy {
  path: string;
  sizeBytes: number;
  /** Which configured place holds it. */
  where: 'path' | 'model-dir' | 'cache';
}

export interface ModelListing {
  name: string;
  source: string;
  inManifest: boolean;
  synthetic: boolean;
  quantization: string | undefined;
  licence: string | undefined;
  parameters: string | undefined;
  description: string | undefined;
  /** Size the manifest promises. */
  sizeBytes: number | undefined;
  sha256: string | undefined;
  /** First copy found on disk, in resolution order; undefined if it must be pulled. Not hash-checked here. */
  local: LocalCopy | undefined;
}

export interface ListOptions {
  /** Default []. */
  modelDirs?: readonly string[] | undefined;
  /** Default 'models/cache'. */
  cacheDir?: string | undefined;
  /** Default: the bundled manifest. */
  manifest?: Manifest | undefined;
}

/** Manifest models with where each is on disk, then any other .gguf files in the directories. */
export async function listModels(opts: ListOptions = {}): Promise<ModelListing[]> {
  const manifest = opts.manifest ?? defaultManifest();
  const cacheDir = resolvePath(opts.cacheDir ?? 'models/cache');
  const dirs = [...new Set([...(opts.modelDirs ?? []).map((d) => resolvePath(d)), cacheDir])];
  const onDisk = new Map<string, LocalCopy>(); // file name → first copy
  for (const dir of dirs) {
    for (const f of await ggufFiles(dir)) {
      if (!onDisk.has(f.name))
        onDisk.set(f.name, {
          path: f.path,
          sizeBytes: f.size,
          where: dir === cacheDir ? 'cache' : 'model-dir',
        });
    }
  }
  const claimed = new Set<string>();
  const out: ModelListing[] = [];
  for (const [name, e] of Object.entries(manifest.models)) {
    const src = parseSource(e.source);
    let local: LocalCopy | undefined;
    if (src.kind === 'path') {
      const st = await stat(src.path).catch(() => undefined);
      if (st) local = { path: resolvePath(src.path), sizeBytes: st.size, where: 'path' };
    } else {
      local = onDisk.get(src.fileName);
      claimed.add(src.fileName);
    }
    out.push({
      name,
      source: e.source,
      inManifest: true,
      synthetic: src.kind === 'synthetic',
      quantization: e.quantization,
      licence: e.licence,
      parameters: e.parameters,
      description: e.description,
      sizeBytes: e.sizeBytes,
      sha256: e.sha256,
      local,
    });
  }
  for (const [fileName, copy] of onDisk) {
    if (claimed.has(fileName)) continue;
    out.push({
      name: fileName.replace(/\.gguf$/, ''),
      source: copy.path,
      inManifest: false,
      synthetic: fileName.startsWith('synthetic-'),
      quantization: undefined,
      licence: undefined,
      parameters: undefined,
      description: undefined,
      sizeBytes: copy.sizeBytes,
      sha256: undefined,
      local: copy,
    });
  }
  return out;
}

async function ggufFiles(dir: string): Promise<{ name: string; path: string; size: number }[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: { name: string; path: string; size: number }[] = [];
  for (const name of names.sort()) {
    if (!name.endsWith('.gguf')) continue;
    const path = join(dir, name);
    const st = await stat(path).catch(() => undefined);
    if (st?.isFile()) out.push({ name, path, size: st.size });
  }
  return out;
}
