/**
 * The on-disk layout of a classifier model directory, and its reading with errors that
 * name the file at fault.
 *
 *   hashed model:  model.onnx, featurizer.json, labels.json, metrics.json (informational)
 *   HF-style:      model.onnx, tokenizer.json, labels.json or config.json (id2label)
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ColoError } from '../core/errors';

export const MODEL_FILE = 'model.onnx';
export const FEATURIZER_FILE = 'featurizer.json';
export const LABELS_FILE = 'labels.json';
export const METRICS_FILE = 'metrics.json';
export const TOKENIZER_FILE = 'tokenizer.json';
export const HF_CONFIG_FILE = 'config.json';

export type ModelKind = 'hashed' | 'hf';

export const loadFailed = (file: string, why: string, cause?: unknown): ColoError =>
  new ColoError('MODEL_LOAD_FAILED', `${file}: ${why}`, { cause });

export async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export async function readBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw loadFailed(path, 'file not found', err);
    throw loadFailed(path, `cannot read (${code ?? 'error'})`, err);
  }
}

export async function readJson(path: string): Promise<unknown> {
  const bytes = await readBytes(path);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw loadFailed(path, 'not valid JSON', err);
  }
}

/** Which kind of model `dir` holds, decided by the files present. */
export async function detectKind(dir: string): Promise<ModelKind> {
  if (await exists(join(dir, FEATURIZER_FILE))) return 'hashed';
  if (await exists(join(dir, TOKENIZER_FILE))) return 'hf';
  throw loadFailed(
    dir,
    `holds neither ${FEATURIZER_FILE} (hashed model) nor ${TOKENIZER_FILE} (HF-style model)`,
  );
}

/** Class names in output order: labels.json (array of strings), else config.json's id2label. */
export async function readLabels(dir: string): Promise<string[]> {
  const labelsPath = join(dir, LABELS_FILE);
  if (await exists(labelsPath)) {
    const raw = await readJson(labelsPath);
    if (!Array.isArray(raw) || raw.length < 2 || !raw.every((l) => typeof l === 'string' && l.length > 0)) {
      throw loadFailed(labelsPath, 'must be a JSON array of at least two non-empty strings');
    }
    return raw as string[];
  }
  const configPath = join(dir, HF_CONFIG_FILE);
  if (await exists(configPath)) {
    const cfg = (await readJson(configPath)) as { id2label?: Record<string, unknown> };
    const map = cfg.id2label;
    if (map && typeof map === 'object') {
      const n = Object.keys(map).length;
      const labels = Array.from({ length: n }, (_, i) => map[String(i)]);
      if (n >= 2 && labels.every((l) => typeof l === 'string')) return labels as string[];
    }
    throw loadFailed(configPath, 'id2label must map 0..n-1 to label strings');
  }
  throw loadFailed(labelsPath, `file not found (and no ${HF_CONFIG_FILE} with id2label)`);
}
