/**
 * Model sources, the manifest, download and verification, the GGUF writer/reader and
 * synthetic model generation. The engine and CLI import from here only.
 */
export { downloadModel, type DownloadOptions, type DownloadProgress, type DownloadResult } from './download';
export { formatParameters, inspectModel, type ModelInfo } from './inspect';
export {
  defaultManifest,
  loadManifest,
  manifestSchema,
  parseManifest,
  type Manifest,
  type ManifestEntry,
} from './manifest';
export {
  formatBytes,
  progressReporter,
  renderProgress,
  type ProgressReporter,
  type ProgressState,
} from './progress';
export {
  listModels,
  pullModel,
  sourceOptions,
  type ListOptions,
  type LocalCopy,
  type ModelListing,
  type PullOptions,
} from './pull';
export {
  FALLBACK_SOURCE,
  resolveModel,
  type ResolveOptions,
  type ResolvedModel,
  type ResolvedOrigin,
} from './resolve';
export { HF_BASE_URL, parseSource, type ModelSource } from './source';
export {
  SYNTHETIC_GENERATOR_VERSION,
  generateSyntheticModel,
  syntheticFileSize,
  type SyntheticOptions,
  type SyntheticResult,
} from './synthetic/generate';
export {
  SYNTHETIC_QUANTS,
  SYNTHETIC_SHAPES,
  type SyntheticQuant,
  type SyntheticShapeName,
} from './synthetic/shapes';
export { cachedSha256, sha256File } from './verify';
export { modelSourcesConfigSchema, type ModelSourcesConfig } from './config';
