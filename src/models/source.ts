/**
 * Model source strings, parsed once. A source says where weights come from:
 *   - a file path:                     ./models/x.gguf, /abs/x.gguf
 *   - Hugging Face:                    hf:owner/repo[@revision]/path/file.gguf
 *   - a plain URL:                     https://host/x.gguf
 *   - a generated random-weight model: synthetic:<shape>-<quant>[?seed=N]
 */
import { ColoError } from '../core/errors';
import { SYNTHETIC_GENERATOR_VERSION } from './synthetic/generate';
import {
  SYNTHETIC_QUANTS,
  SYNTHETIC_SHAPES,
  isShapeName,
  isSyntheticQuant,
  type SyntheticQuant,
  type SyntheticShapeName,
} from './synthetic/shapes';

export type ModelSource =
  | { kind: 'path'; path: string; fileName: string }
  | { kind: 'url'; url: string; fileName: string }
  | { kind: 'synthetic'; shape: SyntheticShapeName; quant: SyntheticQuant; seed: number; fileName: string };

/** Default Hugging Face host; tests point it at a local server. */
export const HF_BASE_URL = 'https://huggingface.co';

export function isSourceString(s: string): boolean {
  return /^(hf:|synthetic:|https?:\/\/)/.test(s) || looksLikePath(s);
}

const looksLikePath = (s: string): boolean =>
  s.includes('/') || s.includes('\\') || s.endsWith('.gguf') || s.startsWith('.');

export function parseSource(source: string, hfBaseUrl = HF_BASE_URL): ModelSource {
  if (source.startsWith('hf:')) return parseHf(source, hfBaseUrl);
  if (source.startsWith('synthetic:')) return parseSynthetic(source);
  if (/^https?:\/\//.test(source)) {
    const url = new URL(source);
    return { kind: 'url', url: url.href, fileName: baseName(url.pathname, source) };
  }
  if (source.length === 0) throw bad(source, 'empty source');
  return { kind: 'path', path: source, fileName: baseName(source, source) };
}

/** `hf:owner/repo/path/file.gguf` → https://huggingface.co/owner/repo/resolve/main/path/file.gguf */
function parseHf(source: string, base: string): ModelSource {
  const parts = source.slice(3).split('/');
  if (parts.length < 3 || parts.some((p) => p.length === 0 || p === '..' || p === '.')) {
    throw bad(source, 'expected hf:owner/repo/path/file.gguf');
  }
  const [owner, repoRev, ...file] = parts as [string, string, ...string[]];
  const [repo, revision = 'main'] = repoRev.split('@') as [string, string?];
  const path = file.map(encodeURIComponent).join('/');
  const url = `${base.replace(/\/+$/, '')}/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/resolve/${encodeURIComponent(revision)}/${path}`;
  return { kind: 'url', url, fileName: file.at(-1)! };
}

function parseSynthetic(source: string): ModelSource {
  const [body = '', query = ''] = source.slice('synthetic:'.length).split('?');
  const dash = body.indexOf('-');
  const shape = body.slice(0, dash);
  const quant = body.slice(dash + 1);
  if (dash < 0 || !isShapeName(shape) || !isSyntheticQuant(quant)) {
    throw bad(
      source,
      `expected synthetic:<shape>-<quant>, shape one of ${Object.keys(SYNTHETIC_SHAPES).join(', ')}, quant one of ${SYNTHETIC_QUANTS.join(', ')}`,
    );
  }
  let seed = 1;
  const params = new URLSearchParams(query);
  for (const [k, v] of params) {
    if (k !== 'seed') throw bad(source, `unknown parameter ${k} (only seed is accepted)`);
    seed = Number(v);
    if (!/^\d+$/.test(v) || seed > 0xffffffff) throw bad(source, 'seed must be an integer in [0, 2^32)');
  }
  const fileName = `synthetic-${shape}-${quant}-s${seed}-g${SYNTHETIC_GENERATOR_VERSION}.gguf`;
  return { kind: 'synthetic', shape, quant, seed, fileName };
}

function baseName(p: string, source: string): string {
  const name = p.split(/[\\/]/).filter(Boolean).at(-1);
  if (!name) throw bad(source, 'no file name');
  return decodeURIComponent(name);
}

const bad = (source: string, why: string): ColoError =>
  new ColoError('INVALID_ARGUMENT', `model source ${JSON.stringify(source)}: ${why}`, { field: 'source' });
