/**
 * Declarative output → Signal mapping for skills defined in config (built-ins map in
 * code). Paths are dotted property names into the schema-valid output; they are checked
 * against the output schema when the skill is registered, so a typo fails at start-up,
 * not on the first request.
 */
import { ColoError } from '../core/errors';
import type { Signal, SignalDirection } from '../core/types';
import { clamp, cleanTicker, directionOf, round } from './builtin/common';
import type { SkillMappingConfig } from './config';
import type { JsonSchema, SignalMapper } from './types';

function directionOfValue(v: unknown): SignalDirection {
  if (typeof v === 'number') return (Math.sign(v) || 0) as SignalDirection;
  return typeof v === 'string' ? directionOf(v) : 0;
}

function get(obj: unknown, path: string): unknown {
  if (path === '') return obj;
  let cur = obj;
  for (const k of path.split('.'))
    cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined;
  return cur;
}

/** The sub-schema at a dotted path of object properties, or undefined. */
function schemaAt(schema: JsonSchema, path: string): JsonSchema | undefined {
  if (path === '') return schema;
  let cur: JsonSchema | undefined = schema;
  for (const k of path.split('.')) cur = (cur?.properties as Record<string, JsonSchema> | undefined)?.[k];
  return cur;
}

const kindOf = (s: JsonSchema): string =>
  'enum' in s
    ? (s.enum as unknown[]).every((v) => typeof v === 'number')
      ? 'number'
      : 'string'
    : 'const' in s
      ? typeof s.const
      : String(s.type);

export function declarativeMapper(
  m: SkillMappingConfig,
  schema: JsonSchema,
  field = 'mapping',
): SignalMapper {
  const fail = (k: string, msg: string) =>
    new ColoError('INVALID_ARGUMENT', `${field}.${k}: ${msg}`, { field: `${field}.${k}` });
  let item: JsonSchema | undefined = schema;
  if (m.items !== '') {
    const arr = schemaAt(schema, m.items);
    if (!arr || arr.type !== 'array')
      throw fail('items', `"${m.items}" is not an array in the output schema`);
    item = arr.items as JsonSchema;
  }
  const expect = (k: keyof SkillMappingConfig, kinds: string[]) => {
    const p = m[k];
    if (p === '') return;
    const s = schemaAt(item!, p);
    if (!s) throw fail(k, `"${p}" is not a property of the mapped item`);
    if (!kinds.includes(kindOf(s))) throw fail(k, `"${p}" must be ${kinds.join(' or ')}, not ${kindOf(s)}`);
  };
  expect('entity', ['string']);
  expect('ticker', ['string']);
  expect('direction', ['string', 'number', 'integer']);
  expect('score', ['number', 'integer']);
  expect('confidence', ['number', 'integer']);
  expect('label', ['string']);
  expect('rationale', ['string']);

  return (output) => {
    const list = m.items === '' ? [output] : ((get(output, m.items) as unknown[]) ?? []);
    return list.map((it): Signal => {
      const direction = directionOfValue(get(it, m.direction));
      const confidence = clamp(Number(get(it, m.confidence)) || 0, 0, 1);
      const score = m.score === '' ? direction * confidence : clamp(Number(get(it, m.score)) || 0, -1, 1);
      const str = (p: string) => (p === '' ? '' : String(get(it, p) ?? '').trim());
      return {
        entity: str(m.entity),
        ticker: cleanTicker(str(m.ticker)),
        direction,
        score: round(score),
        confidence: round(confidence),
        label: m.label === '' ? String(get(it, m.direction)) : str(m.label),
        rationale: str(m.rationale),
        abstain: false,
      };
    });
  };
}
