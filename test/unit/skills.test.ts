/**
 * Skills without a model: the JSON Schema subset and its grammar form, output
 * validation (SCHEMA_VIOLATION keeps the raw text), signal mapping per built-in, and
 * the threshold.
 */
import { describe, expect, it } from 'vitest';
import type { ColoError } from '../../src/core/errors';
import {
  applyThreshold,
  normalizeSchema,
  numberSteps,
  SchemaViolationError,
  SkillRegistry,
  toGrammarSchema,
  type JsonSchema,
} from '../../src/skills';
import { mapEvents, mapSentiment, mapSummary } from '../../src/skills/builtin';
import { cleanTicker } from '../../src/skills/builtin/common';
import { fill } from '../../src/skills/template';

const registry = SkillRegistry.create({});
const sentiment = registry.resolve('sentiment');
const events = registry.resolve('events');
const summary = registry.resolve('summary');

const thrown = (fn: () => unknown): ColoError => {
  try {
    fn();
  } catch (err) {
    return err as ColoError;
  }
  throw new Error('expected a throw');
};

/** A seeded PRNG, so the property test below is reproducible. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** A random instance of a grammar-form schema: what a grammar-constrained model could emit. */
function sample(schema: JsonSchema, rnd: () => number, escapes = true): unknown {
  const s = schema as Record<string, unknown>;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  if ('enum' in s) return pick(s.enum as unknown[]);
  if ('const' in s) return s.const;
  if (s.type === 'object')
    return Object.fromEntries(
      Object.entries(s.properties as Record<string, JsonSchema>).map(([k, v]) => [
        k,
        sample(v, rnd, escapes),
      ]),
    );
  if (s.type === 'array') {
    const n =
      (s.minItems as number) + Math.floor(rnd() * ((s.maxItems as number) - (s.minItems as number) + 1));
    return Array.from({ length: n }, () => sample(s.items as JsonSchema, rnd, escapes));
  }
  if (s.type === 'string') {
    const n = Math.floor(rnd() * ((s.maxLength as number) + 1));
    return Array.from({ length: n }, () =>
      pick(escapes ? ['a', 'Z', ' ', '"', '\\', 'é', '😀'] : ['a', 'Z', ' ', 'é']),
    ).join('');
  }
  if (s.type === 'number') return (rnd() - 0.5) * 1e6;
  if (s.type === 'boolean') return rnd() < 0.5;
  return null;
}

describe('output schema subset', () => {
  it('makes every object closed and fully required, like the grammar', () => {
    const n = normalizeSchema({ type: 'object', properties: { a: { type: 'string', maxLength: 3 } } });
    expect(n).toEqual({
      type: 'object',
      properties: { a: { type: 'string', minLength: 0, maxLength: 3 } },
      required: ['a'],
      additionalProperties: false,
    });
  });

  it.each([
    [{ type: 'string' }, 'maxLength'],
    [{ type: 'array', items: { type: 'boolean' } }, 'maxItems'],
    [{ anyOf: [{ type: 'null' }] }, 'anyOf'],
    [{ type: 'string', maxLength: 5, pattern: '^a' }, 'pattern'],
    [
      { type: 'object', properties: { a: { type: 'null' }, b: { type: 'null' } }, required: ['a'] },
      'required',
    ],
    [{ type: 'object', properties: {}, additionalProperties: true }, 'additionalProperties'],
    [{ type: ['string', 'null'] }, 'type'],
    [{ type: 'number', minimum: 2, maximum: 1 }, 'minimum'],
  ])('rejects %j (names %s)', (schema, word) => {
    const e = thrown(() => normalizeSchema(schema));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain(word);
  });

  it('turns bounded numbers into exact steps of 0.05', () => {
    const steps = numberSteps('number', -1, 1)!;
    expect(steps).toHaveLength(41);
    expect(steps[0]).toBe(-1);
    expect(steps[20]).toBe(0);
    expect(Object.is(steps[20], -0)).toBe(false);
    expect(steps).toContain(0.15);
    expect(steps.at(-1)).toBe(1);
    expect(numberSteps('integer', 0, 3)).toEqual([0, 1, 2, 3]);
    expect(numberSteps('number', 0, 1000)).toBeUndefined(); // too many steps: stays a plain number
    expect(toGrammarSchema(normalizeSchema({ type: 'number', minimum: 0, maximum: 1000 }))).toEqual({
      type: 'number',
    });
  });

  it.each([
    ['sentiment', sentiment],
    ['events', events],
    ['summary', summary],
  ])('every output the %s grammar allows validates against its JSON Schema', (_name, skill) => {
    const grammar = JSON.parse(skill.grammarSchemaText) as JsonSchema;
    const rnd = prng(7);
    for (let i = 0; i < 300; i++) {
      const value = sample(grammar, rnd);
      expect(skill.violations(JSON.parse(JSON.stringify(value)))).toEqual([]);
    }
  });
});

describe('maxOutputChars (the default maxTokens)', () => {
  it.each([
    ['sentiment', sentiment],
    ['events', events],
    ['summary', summary],
  ])('bounds every compact %s answer without escapes', (_name, skill) => {
    const grammar = JSON.parse(skill.grammarSchemaText) as JsonSchema;
    const rnd = prng(11);
    let longest = 0;
    for (let i = 0; i < 300; i++) {
      const text = JSON.stringify(sample(grammar, rnd, false));
      longest = Math.max(longest, text.length);
    }
    expect(longest).toBeLessThanOrEqual(skill.maxOutputChars);
    expect(longest).toBeGreaterThan(skill.maxOutputChars / 3); // a bound, but not a wild one
    expect(skill.sampling.maxTokens).toBe(skill.maxOutputChars + 4);
  });

  it('an explicit maxTokens wins', () => {
    const reg = SkillRegistry.create({ skills: [{ name: 'sentiment', sampling: { maxTokens: 64 } }] });
    expect(reg.resolve('sentiment').sampling.maxTokens).toBe(64);
  });
});

describe('output validation', () => {
  const good = {
    entities: [
      {
        entity: 'Apple',
        ticker: 'AAPL',
        sentiment: 'bullish',
        score: 0.7,
        confidence: 0.9,
        rationale: 'beat',
      },
    ],
  };

  it('parses schema-valid JSON, also inside a ```json fence', () => {
    expect(sentiment.parse(JSON.stringify(good))).toEqual(good);
    expect(sentiment.parse('```json\n' + JSON.stringify(good) + '\n```')).toEqual(good);
  });

  it('rejects prose with SCHEMA_VIOLATION and keeps the raw text', () => {
    const raw = 'Sure! Apple looks bullish to me.';
    const e = thrown(() => sentiment.parse(raw)) as SchemaViolationError;
    expect(e).toBeInstanceOf(SchemaViolationError);
    expect(e.code).toBe('SCHEMA_VIOLATION');
    expect(e.rawOutput).toBe(raw);
    expect(e.violations[0]).toMatch(/^not JSON/);
    expect(e.message).not.toContain(raw);
  });

  it('reports an answer cut off at maxTokens as truncated', () => {
    const e = thrown(() => sentiment.parse('{"entities":[{"entity":"Ap', 'length')) as SchemaViolationError;
    expect(e.code).toBe('SCHEMA_VIOLATION');
    expect(e.violations[0]).toContain('truncated');
  });

  it.each([
    ['a score out of range', { entities: [{ ...good.entities[0], score: 1.5 }] }, '/entities/0/score'],
    [
      'an unknown sentiment',
      { entities: [{ ...good.entities[0], sentiment: 'moon' }] },
      '/entities/0/sentiment',
    ],
    ['an extra property', { entities: [{ ...good.entities[0], extra: 1 }] }, '/entities/0'],
    ['a missing property', { entities: [{ entity: 'Apple' }] }, '/entities/0'],
    ['too many entities', { entities: Array(5).fill(good.entities[0]) }, '/entities'],
    [
      'an over-long rationale',
      { entities: [{ ...good.entities[0], rationale: 'x'.repeat(101) }] },
      '/entities/0/rationale',
    ],
  ])('rejects %s, naming the path', (_what, value, path) => {
    const e = thrown(() => sentiment.parse(JSON.stringify(value))) as SchemaViolationError;
    expect(e.code).toBe('SCHEMA_VIOLATION');
    expect(e.violations.join('\n')).toContain(path);
    expect(e.rawOutput).toBe(JSON.stringify(value));
  });
});

describe('signal mapping', () => {
  it('sentiment: one signal per entity, ticker cleaned', () => {
    const s = mapSentiment({
      entities: [
        {
          entity: ' Apple ',
          ticker: '$aapl',
          sentiment: 'bullish',
          score: 0.7,
          confidence: 0.9,
          rationale: 'beat',
        },
        {
          entity: 'Market',
          ticker: '',
          sentiment: 'bearish',
          score: -0.4,
          confidence: 0.5,
          rationale: 'rates',
        },
      ],
    });
    expect(s).toEqual([
      {
        entity: 'Apple',
        ticker: 'AAPL',
        direction: 1,
        score: 0.7,
        confidence: 0.9,
        label: 'bullish',
        rationale: 'beat',
        abstain: false,
      },
      {
        entity: 'Market',
        ticker: '',
        direction: -1,
        score: -0.4,
        confidence: 0.5,
        label: 'bearish',
        rationale: 'rates',
        abstain: false,
      },
    ]);
  });

  it('sentiment: a score against the stated sentiment abstains and says why', () => {
    const [a, b] = mapSentiment({
      entities: [
        { entity: 'A', ticker: '', sentiment: 'bullish', score: -0.6, confidence: 0.95, rationale: 'r' },
        { entity: 'B', ticker: '', sentiment: 'neutral', score: 0.9, confidence: 0.95, rationale: 'r' },
      ],
    });
    expect(a!.abstain).toBe(true);
    expect(a!.rationale).toContain('inconsistent');
    expect(b!.abstain).toBe(true);
  });

  it('drops a ticker that does not look like one', () => {
    expect(cleanTicker("What's a")).toBe('');
    expect(cleanTicker('brk.b')).toBe('BRK.B');
  });

  it('events: one signal per (event, entity), score = direction × confidence', () => {
    const s = mapEvents({
      events: [
        {
          type: 'm_and_a',
          entities: [
            { name: 'Acme', ticker: 'ACME' },
            { name: 'Beta', ticker: 'BETA' },
          ],
          direction: 'bullish',
          confidence: 0.8,
          summary: 'Acme buys Beta',
        },
        { type: 'macro', entities: [], direction: 'bearish', confidence: 0.7, summary: 'rate hike' },
      ],
    });
    expect(s.map((x) => [x.entity, x.ticker, x.label, x.direction, x.score])).toEqual([
      ['Acme', 'ACME', 'm_and_a', 1, 0.8],
      ['Beta', 'BETA', 'm_and_a', 1, 0.8],
      ['', '', 'macro', -1, -0.7],
    ]);
    expect(mapEvents({ events: [] })).toEqual([]);
  });

  it('summary: guidance that moved decides the direction, else tone', () => {
    const base = {
      entity: 'Acme',
      ticker: 'ACME',
      summary: 'ok',
      key_figures: [],
      forward_looking: [],
      risks: [],
      confidence: 0.8,
    };
    const one = (guidance: string, tone: string) =>
      mapSummary({ ...base, guidance: { direction: guidance, detail: '' }, tone })[0]!;
    expect(one('raised', 'negative')).toMatchObject({ direction: 1, score: 0.8, label: 'guidance_raised' });
    expect(one('lowered', 'positive')).toMatchObject({
      direction: -1,
      score: -0.8,
      label: 'guidance_lowered',
    });
    expect(one('withdrawn', 'positive')).toMatchObject({ direction: -1 });
    expect(one('maintained', 'positive')).toMatchObject({ direction: 1, label: 'tone_positive' });
    expect(one('none', 'mixed')).toMatchObject({ direction: 0, score: 0, label: 'tone_mixed' });
  });
});

describe('threshold', () => {
  const sig = {
    entity: 'A',
    ticker: '',
    direction: 1 as const,
    score: 0.5,
    confidence: 0.59,
    label: 'bullish',
    rationale: '',
    abstain: false,
  };

  it('below the threshold abstains; at it does not', () => {
    expect(applyThreshold(sig, 0.6).abstain).toBe(true);
    expect(applyThreshold({ ...sig, confidence: 0.6 }, 0.6).abstain).toBe(false);
  });

  it('keeps the reading when abstaining (not a silent guess, not a silent drop)', () => {
    expect(applyThreshold(sig, 0.6)).toMatchObject({
      direction: 1,
      score: 0.5,
      confidence: 0.59,
      abstain: true,
    });
  });

  it('a skill applies its own threshold to mapped signals', () => {
    const out = {
      entities: [
        { entity: 'A', ticker: '', sentiment: 'bullish', score: 0.5, confidence: 0.55, rationale: '' },
      ],
    };
    expect(sentiment.toSignals(out, '')[0]!.abstain).toBe(true);
    const strictReg = SkillRegistry.create({ skills: [{ name: 'sentiment', threshold: 0.5 }] });
    expect(strictReg.resolve('sentiment').toSignals(out, '')[0]!.abstain).toBe(false);
  });
});

describe('template', () => {
  it('never expands placeholders that arrive inside the input', () => {
    const out = fill('A {{input}} B {{shape}}', { input: 'x {{shape}} y', shape: 'SHAPE', skill: 's' });
    expect(out).toBe('A x {{shape}} y B SHAPE');
  });
});
