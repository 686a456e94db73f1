/**
 * What a local model can enforce of a client's JSON Schema (`response_format`). The
 * local grammar (node-llama-cpp's createGrammarForJsonSchema) knows a subset of JSON
 * Schema and silently ignores every other keyword: `{"type": "integer", "minimum": 0}`
 * would compile and then not be enforced. So a schema is checked against that subset
 * first, and one it cannot enforce is refused (INVALID_ARGUMENT naming `response_format`
 * and the path), never half-honoured. Depth and node count are bounded too, which
 * bounds the grammar's compile time.
 */
import { ColoError } from '../core/errors';

/** Keywords the grammar enforces, or annotations that constrain nothing. */
const KEYWORDS = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'minProperties',
  'maxProperties',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'format',
  'enum',
  'const',
  'oneOf',
  '$defs',
  '$ref',
  // annotations
  'description',
  'title',
  '$schema',
  '$id',
  '$comment',
  'examples',
]);
const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']);
const FORMATS = new Set(['date', 'time', 'date-time']);
/** Nesting and size bounds: a grammar's compile time grows with both. */
export const MAX_SCHEMA_DEPTH = 16;
export const MAX_SCHEMA_NODES = 512;

const refuse = (path: string, msg: string): ColoError =>
  new ColoError('INVALID_ARGUMENT', `response_format: schema${path}: ${msg}`, { field: 'response_format' });

/** Throws INVALID_ARGUMENT (field `response_format`) unless the local grammar can enforce all of `schema`. */
export function checkGrammarSchema(schema: unknown): void {
  let nodes = 0;
  const walk = (s: unknown, path: string, depth: number): void => {
    if (typeof s === 'boolean') return;
    if (s === null || typeof s !== 'object' || Array.isArray(s))
      throw refuse(path, 'must be a schema object');
    if (depth > MAX_SCHEMA_DEPTH) throw refuse(path, `nests deeper than ${MAX_SCHEMA_DEPTH}`);
    if (++nodes > MAX_SCHEMA_NODES) throw refuse('', `has more than ${MAX_SCHEMA_NODES} sub-schemas`);
    const o = s as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!KEYWORDS.has(k))
        throw refuse(
          path,
          `keyword "${k}" cannot be enforced by a local model's grammar` +
            (k === 'anyOf' ? ' (oneOf can stand in for it)' : ''),
        );
    const types = Array.isArray(o.type) ? o.type : o.type === undefined ? [] : [o.type];
    for (const t of types)
      if (typeof t !== 'string' || !TYPES.has(t))
        throw refuse(path, `type ${JSON.stringify(t)} is not a JSON type`);
    if (o.format !== undefined && !FORMATS.has(o.format as string))
      throw refuse(path, `format "${String(o.format)}" cannot be enforced (date, time, date-time can)`);
    const children = (key: string) => {
      const v = o[key];
      if (v === undefined) return;
      if (v === null || typeof v !== 'object' || Array.isArray(v))
        throw refuse(path, `${key} must be an object`);
      for (const [name, sub] of Object.entries(v)) walk(sub, `${path}.${key}.${name}`, depth + 1);
    };
    children('properties');
    children('$defs');
    if (o.additionalProperties !== undefined && typeof o.additionalProperties !== 'boolean')
      walk(o.additionalProperties, `${path}.additionalProperties`, depth + 1);
    if (o.items !== undefined) walk(o.items, `${path}.items`, depth + 1);
    for (const key of ['prefixItems', 'oneOf'])
      if (o[key] !== undefined) {
        if (!Array.isArray(o[key])) throw refuse(path, `${key} must be an array`);
        (o[key] as unknown[]).forEach((sub, i) => walk(sub, `${path}.${key}[${i}]`, depth + 1));
      }
  };
  walk(schema, '', 0);
}
