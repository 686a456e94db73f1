/**
 * The JSON Schema subset a skill's output may use, and the two forms derived from it:
 * - the grammar form the local engine compiles with node-llama-cpp's
 *   createGrammarForJsonSchema (GbnfJsonSchema): bounded numbers become enums of steps,
 *   because that grammar has no minimum/maximum, and keys it ignores are dropped;
 * - a compact shape text for prompts, so remote models (not grammar-constrained) see the
 *   exact contract they are validated against.
 *
 * The subset is what both ajv and the grammar agree on. Every string needs maxLength
 * and every array maxItems: an unbounded field lets a model ramble until maxTokens, and a
 * truncated answer is not JSON.
 */
import { ColoError } from '../core/errors';
import type { JsonSchema } from './types';

/** Resolution of bounded numbers in the grammar form (0.05 → 41 values on [-1, 1]). */
export const NUMBER_STEP = 0.05;
/** A bounded range with more steps than this stays a plain number in the grammar. */
const MAX_ENUM_STEPS = 401;

const COMMON = ['description', 'title'];
const BY_TYPE: Record<string, string[]> = {
  object: ['type', 'properties', 'required', 'additionalProperties'],
  array: ['type', 'items', 'minItems', 'maxItems'],
  string: ['type', 'minLength', 'maxLength', 'format'],
  number: ['type', 'minimum', 'maximum'],
  integer: ['type', 'minimum', 'maximum'],
  boolean: ['type'],
  null: ['type'],
};
const FORMATS = new Set(['date', 'time', 'date-time']);

type Node = Record<string, unknown>;

const bad = (path: string, msg: string): ColoError =>
  new ColoError('INVALID_ARGUMENT', `outputSchema${path}: ${msg}`, { field: 'outputSchema' });

const isPrimitive = (v: unknown): boolean => v === null || ['string', 'number', 'boolean'].includes(typeof v);

/**
 * Checks a schema against the subset and returns a normalized deep copy in which every
 * object says `additionalProperties: false` and requires all its properties (the grammar
 * always emits every property and never an extra one, so ajv must expect the same).
 * Throws INVALID_ARGUMENT naming the path and keyword at fault.
 */
export function normalizeSchema(schema: unknown, path = ''): JsonSchema {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) throw bad(path, 'must be an object');
  const s = schema as Node;
  const allowed = (keys: string[]) => {
    for (const k of Object.keys(s))
      if (!keys.includes(k) && !COMMON.includes(k))
        throw bad(path, `keyword "${k}" is not supported here (supported: ${keys.join(', ')})`);
  };
  const meta = Object.fromEntries(COMMON.filter((k) => typeof s[k] === 'string').map((k) => [k, s[k]]));
  if ('enum' in s) {
    allowed(['enum']);
    if (!Array.isArray(s.enum) || s.enum.length === 0 || !s.enum.every(isPrimitive))
      throw bad(path, 'enum must be a non-empty array of strings, numbers, booleans or null');
    return { ...meta, enum: [...s.enum] };
  }
  if ('const' in s) {
    allowed(['const']);
    if (!isPrimitive(s.const)) throw bad(path, 'const must be a string, number, boolean or null');
    return { ...meta, const: s.const };
  }
  if ('oneOf' in s) {
    allowed(['oneOf']);
    if (!Array.isArray(s.oneOf) || s.oneOf.length === 0) throw bad(path, 'oneOf must be a non-empty array');
    return { ...meta, oneOf: s.oneOf.map((x, i) => normalizeSchema(x, `${path}.oneOf[${i}]`)) };
  }
  for (const k of ['anyOf', 'allOf', 'not', '$ref', 'if'])
    if (k in s)
      throw bad(
        path,
        `keyword "${k}" is not supported (the local grammar cannot express it; oneOf can stand in for anyOf)`,
      );
  const type = s.type;
  if (typeof type !== 'string' || !(type in BY_TYPE))
    throw bad(path, `type must be one of ${Object.keys(BY_TYPE).join(', ')} (or use enum, const, oneOf)`);
  allowed(BY_TYPE[type]!);
  switch (type) {
    case 'object': {
      const props = (s.properties ?? {}) as Node;
      if (typeof props !== 'object' || Array.isArray(props)) throw bad(path, 'properties must be an object');
      const keys = Object.keys(props);
      if (s.additionalProperties !== undefined && s.additionalProperties !== false)
        throw bad(path, 'additionalProperties may only be false');
      if (s.required !== undefined) {
        const req = s.required as unknown[];
        if (
          !Array.isArray(req) ||
          keys.some((k) => !req.includes(k)) ||
          req.some((k) => !keys.includes(k as string))
        )
          throw bad(
            path,
            'required must list every property (grammar-constrained output always has all of them)',
          );
      }
      const properties = Object.fromEntries(
        keys.map((k) => [k, normalizeSchema(props[k], `${path}.properties.${k}`)]),
      );
      return { ...meta, type, properties, required: keys, additionalProperties: false };
    }
    case 'array': {
      const min = s.minItems ?? 0;
      if (!isCount(s.maxItems)) throw bad(path, 'arrays need maxItems (a non-negative integer)');
      if (!isCount(min) || (min as number) > (s.maxItems as number))
        throw bad(path, 'minItems must be an integer in [0, maxItems]');
      if (s.items === undefined) throw bad(path, 'arrays need items');
      return {
        ...meta,
        type,
        items: normalizeSchema(s.items, `${path}.items`),
        minItems: min,
        maxItems: s.maxItems,
      };
    }
    case 'string': {
      if (s.format !== undefined) {
        if (!FORMATS.has(s.format as string))
          throw bad(path, `format must be one of ${[...FORMATS].join(', ')}`);
        if (s.minLength !== undefined || s.maxLength !== undefined)
          throw bad(path, 'format and min/maxLength cannot be combined');
        return { ...meta, type, format: s.format };
      }
      const min = s.minLength ?? 0;
      if (!isCount(s.maxLength)) throw bad(path, 'strings need maxLength (a non-negative integer)');
      if (!isCount(min) || (min as number) > (s.maxLength as number))
        throw bad(path, 'minLength must be an integer in [0, maxLength]');
      return { ...meta, type, minLength: min, maxLength: s.maxLength };
    }
    case 'number':
    case 'integer': {
      const out: Node = { ...meta, type };
      for (const k of ['minimum', 'maximum'] as const) {
        if (s[k] === undefined) continue;
        if (typeof s[k] !== 'number' || !Number.isFinite(s[k]))
          throw bad(path, `${k} must be a finite number`);
        out[k] = s[k];
      }
      if (typeof out.minimum === 'number' && typeof out.maximum === 'number' && out.minimum > out.maximum)
        throw bad(path, 'minimum is above maximum');
      return out;
    }
    default:
      return { ...meta, type };
  }
}

const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** The values a bounded number may take in the grammar form, or undefined to leave it a plain number. */
export function numberSteps(type: 'number' | 'integer', min: number, max: number): number[] | undefined {
  const step = type === 'integer' ? 1 : NUMBER_STEP;
  const lo = Math.ceil(min / step - 1e-9);
  const hi = Math.floor(max / step + 1e-9);
  if (hi < lo || hi - lo + 1 > MAX_ENUM_STEPS) return undefined;
  const out: number[] = [];
  // toFixed keeps 0.15 from becoming 0.15000000000000002 in the grammar and the output.
  for (let k = lo; k <= hi; k++) out.push(Number((k * step).toFixed(10)) + 0);
  return out;
}

/** The grammar form of a normalized schema (see file comment). Any output of it validates against the source. */
export function toGrammarSchema(schema: JsonSchema): JsonSchema {
  const s = schema as Node;
  if ('enum' in s) return { enum: s.enum };
  if ('const' in s) return { const: s.const };
  if ('oneOf' in s) return { oneOf: (s.oneOf as JsonSchema[]).map(toGrammarSchema) };
  switch (s.type) {
    case 'object': {
      const props = s.properties as Record<string, JsonSchema>;
      return {
        type: 'object',
        properties: Object.fromEntries(Object.entries(props).map(([k, v]) => [k, toGrammarSchema(v)])),
      };
    }
    case 'array':
      return {
        type: 'array',
        items: toGrammarSchema(s.items as JsonSchema),
        minItems: s.minItems,
        maxItems: s.maxItems,
      };
    case 'string':
      return s.format !== undefined
        ? { type: 'string', format: s.format }
        : { type: 'string', minLength: s.minLength, maxLength: s.maxLength };
    case 'number':
    case 'integer': {
      if (typeof s.minimum === 'number' && typeof s.maximum === 'number') {
        const steps = numberSteps(s.type, s.minimum, s.maximum);
        if (steps) return { enum: steps };
      }
      return { type: s.type };
    }
    default:
      return { type: s.type };
  }
}

/**
 * A compact, stable, TypeScript-like description of the output, for prompts:
 *   {
 *     "sentiment": "bullish" | "bearish" | "neutral",
 *     "score": number in [-1, 1] // -1 very bearish, +1 very bullish
 *   }
 */
export function describeShape(schema: JsonSchema, indent = ''): string {
  const s = schema as Node;
  if ('enum' in s) return (s.enum as unknown[]).map((v) => JSON.stringify(v)).join(' | ');
  if ('const' in s) return JSON.stringify(s.const);
  if ('oneOf' in s) return (s.oneOf as JsonSchema[]).map((x) => describeShape(x, indent)).join(' | ');
  switch (s.type) {
    case 'object': {
      const inner = indent + '  ';
      const entries = Object.entries(s.properties as Record<string, JsonSchema>);
      // No trailing comma after the last property: a model copies the shape's punctuation.
      const lines = entries.map(([k, v], i) => {
        const d = (v as Node).description;
        return `${inner}${JSON.stringify(k)}: ${describeShape(v, inner)}${i < entries.length - 1 ? ',' : ''}${typeof d === 'string' ? ` // ${d}` : ''}`;
      });
      return lines.length === 0 ? '{}' : `{\n${lines.join('\n')}\n${indent}}`;
    }
    case 'array': {
      const n = s.minItems === s.maxItems ? `exactly ${s.maxItems}` : `${s.minItems} to ${s.maxItems}`;
      return `[${describeShape(s.items as JsonSchema, indent)}] (${n} items)`;
    }
    case 'string':
      return s.format !== undefined ? `string (${s.format})` : `string (at most ${s.maxLength} chars)`;
    case 'number':
    case 'integer': {
      const lo = typeof s.minimum === 'number' ? s.minimum : undefined;
      const hi = typeof s.maximum === 'number' ? s.maximum : undefined;
      return lo !== undefined && hi !== undefined ? `${s.type} in [${lo}, ${hi}]` : (s.type as string);
    }
    default:
      return s.type as string;
  }
}

/** Longest text a grammar number may take: sign, 16 digits, point, 16 digits, exponent. */
const NUMBER_CHARS = 52;
const FORMAT_CHARS: Record<string, number> = { date: 12, time: 20, 'date-time': 40 };

/**
 * An upper bound on the characters of any output the grammar form allows. String
 * characters count one each (an escape such as \u00e9 takes 6: models rarely choose
 * them, so they are not counted). Whitespace: `pretty` counts each slot at its widest
 * (newline + 4 spaces per level, which node-llama-cpp's grammar permits); compact counts
 * the one optional space. A token is at least one character, so maxTokens at the compact
 * bound never cuts off a compact answer: skills use it as their default maxTokens.
 */
export function maxOutputChars(grammar: JsonSchema, pretty = false, depth = 0): number {
  const s = grammar as Node;
  const ws = (d: number) => (pretty ? 1 + 4 * d : 1);
  if ('enum' in s) return Math.max(...(s.enum as unknown[]).map((v) => JSON.stringify(v).length));
  if ('const' in s) return JSON.stringify(s.const).length;
  if ('oneOf' in s)
    return Math.max(...(s.oneOf as JsonSchema[]).map((x) => maxOutputChars(x, pretty, depth)));
  switch (s.type) {
    case 'object': {
      const entries = Object.entries((s.properties ?? {}) as Record<string, JsonSchema>);
      let n = 2 + ws(depth) + entries.length * ws(depth + 1);
      for (const [k, v] of entries)
        n += JSON.stringify(k).length + 2 + maxOutputChars(v, pretty, depth + 1) + 1;
      return n;
    }
    case 'array': {
      const items = s.maxItems as number;
      return (
        2 + ws(depth) + items * (ws(depth + 1) + 1 + maxOutputChars(s.items as JsonSchema, pretty, depth + 1))
      );
    }
    case 'string':
      return s.format !== undefined ? (FORMAT_CHARS[s.format as string] ?? 40) : 2 + (s.maxLength as number);
    case 'boolean':
      return 5;
    case 'null':
      return 4;
    default:
      return NUMBER_CHARS;
  }
}
