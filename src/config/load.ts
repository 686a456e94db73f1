/**
 * Loads config in two phases: (1) merge defaults ← file ← env ← flags into one raw
 * object; (2) validate it once against the schema and freeze it. Nothing reads
 * process.env or argv after this.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ColoError } from '../core/errors';
import { configSchema, type ColoConfig } from './schema';

export class ConfigError extends ColoError {
  constructor(message: string, field?: string) {
    super('INVALID_ARGUMENT', message, { field });
  }
}

type Raw = Record<string, unknown>;

/** Environment variables and the config path each sets. */
export const ENV_KEYS: Readonly<Record<string, string>> = Object.freeze({
  COLO_HOST: 'server.host',
  COLO_PORT: 'server.port',
  COLO_MAX_FRAME_BYTES: 'server.maxFrameBytes',
  COLO_BUSY_POLL_MS: 'server.busyPollMs',
  COLO_WARM_PATH: 'server.warmPath',
  COLO_GPU: 'engine.gpu',
  COLO_MODEL_DIRS: 'engine.modelDirs',
  COLO_LOG_LEVEL: 'log.level',
  COLO_AUTH_PEPPER: 'auth.pepper',
  COLO_REDIS_URL: 'redis.url',
  COLO_AUDIT_DIR: 'audit.dir',
});

export interface LoadOptions {
  /** Path of a JSON config file. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Dotted paths from CLI flags, e.g. { 'server.port': '9000' }. */
  overrides?: Record<string, string>;
}

export function loadConfig(opts: LoadOptions = {}): Readonly<ColoConfig> {
  const raw: Raw = {};
  const file = opts.file ?? opts.env?.COLO_CONFIG;
  if (file) deepMerge(raw, readJson(file));
  for (const [name, path] of Object.entries(ENV_KEYS)) {
    const value = opts.env?.[name];
    if (value !== undefined && value !== '') setPath(raw, path, coerce(path, value));
  }
  for (const [path, value] of Object.entries(opts.overrides ?? {})) setPath(raw, path, coerce(path, value));
  return parseConfig(raw);
}

export function parseConfig(raw: unknown): Readonly<ColoConfig> {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describe(parsed.error, raw), firstPath(parsed.error));
  const cfg = parsed.data;
  checkCrossField(cfg);
  return deepFreeze(cfg);
}

function checkCrossField(cfg: ColoConfig): void {
  const names = new Set<string>();
  for (const m of cfg.engine.models) {
    for (const n of [m.name, ...m.aliases]) {
      if (names.has(n))
        throw new ConfigError(`engine.models: name or alias "${n}" is used twice`, 'engine.models');
      names.add(n);
    }
  }
  const remote = new Set([
    ...cfg.gateway.targets.map((t) => t.name),
    ...cfg.gateway.aliases.map((a) => a.name),
  ]);
  for (const m of cfg.engine.models) {
    if (m.fallback !== undefined && !remote.has(m.fallback)) {
      throw new ConfigError(
        `engine.models: ${m.name}.fallback "${m.fallback}" is not a gateway target or alias`,
        'engine.models',
      );
    }
  }
  for (const n of remote) names.add(n);
  // A misspelt priced name would make that target silently free.
  const targets = new Set(cfg.gateway.targets.map((t) => t.name));
  for (const n of Object.keys(cfg.pricing.targets))
    if (!targets.has(n))
      throw new ConfigError(`pricing.targets: "${n}" is not a gateway target`, `pricing.targets.${n}`);
  const locals = new Set(cfg.engine.models.map((m) => m.name));
  for (const n of Object.keys(cfg.pricing.models))
    if (!locals.has(n))
      throw new ConfigError(`pricing.models: "${n}" is not a local model name`, `pricing.models.${n}`);
  if (cfg.engine.defaultModel !== undefined && !names.has(cfg.engine.defaultModel)) {
    throw new ConfigError(
      `engine.defaultModel: "${cfg.engine.defaultModel}" is not a configured model name or alias`,
      'engine.defaultModel',
    );
  }
}

function readJson(file: string): Raw {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (!value || typeof value !== 'object' || Array.isArray(value))
      throw new Error('top level must be an object');
    return value as Raw;
  } catch (err) {
    throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
  }
}

/** Env and flag values are strings; turn them into what the schema expects at that path. */
function coerce(path: string, value: string): unknown {
  if (path === 'engine.modelDirs') return value.split(':').filter(Boolean);
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (value === 'true' || value === 'false') return value === 'true';
  return value;
}

function setPath(obj: Raw, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (!next || typeof next !== 'object') cur[p] = {};
    cur = cur[p] as Raw;
  }
  cur[parts[parts.length - 1]!] = value;
}

function deepMerge(target: Raw, src: Raw): void {
  for (const [k, v] of Object.entries(src)) {
    const t = target[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && t && typeof t === 'object' && !Array.isArray(t)) {
      deepMerge(t as Raw, v as Raw);
    } else target[k] = v;
  }
}

function firstPath(err: z.ZodError): string | undefined {
  const issue = err.issues[0];
  return issue ? issue.path.join('.') : undefined;
}

/** One line per problem, naming the key; unknown keys get the closest known key as a hint. */
function describe(err: z.ZodError, raw: unknown): string {
  const lines = err.issues.map((issue) => {
    const at = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(issue.path);
      return issue.keys
        .map((k) => {
          const hint = closest(k, known);
          return `config: unknown key "${at ? `${at}.` : ''}${k}"${hint ? ` (did you mean "${hint}"?)` : ''}`;
        })
        .join('\n');
    }
    return `config: ${at || '(root)'}: ${issue.message}${valueAt(raw, issue.path)}`;
  });
  return lines.join('\n');
}

function valueAt(raw: unknown, path: PropertyKey[]): string {
  let cur: unknown = raw;
  for (const p of path) {
    if (!cur || typeof cur !== 'object') return '';
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur === undefined ? '' : ` (got ${JSON.stringify(cur)})`;
}

function knownKeys(path: PropertyKey[]): string[] {
  // Walk the schema alongside the path to list the keys valid at that level.
  let schema: z.ZodType = configSchema;
  for (const p of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodObject)
      schema = (schema.shape as Record<string, z.ZodType>)[String(p)] ?? schema;
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
  }
  schema = unwrap(schema);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  return s;
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

export function deepFreeze<T>(obj: T): T {
  if (obj && typeof obj === 'object' && !Object.isFrozen(obj)) {
    Object.freeze(obj);
    for (const v of Object.values(obj as object)) deepFreeze(v);
  }
  return obj;
}
