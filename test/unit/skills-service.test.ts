/**
 * SkillService with a fake completer and a fake classifier: what it sends to the model,
 * input checks, lifecycle, config-defined skills, the ensemble and classifier-only mode,
 * and the HTTP routes as plain data.
 */
import { DEFAULT_CALL_LIMITS, validateCall } from '../../src/api/validate';
import { describe, expect, it } from 'vitest';
import { ColoError } from '../../src/core/errors';
import type { Principal } from '../../src/core/routes';
import type { CompletionResult, InferenceRequest } from '../../src/core/types';
import {
  SchemaViolationError,
  SkillService,
  agreementOf,
  combine,
  skillRoutes,
  type SkillCallContext,
  type SkillClassifiers,
  type SkillsConfigInput,
} from '../../src/skills';
import type { CancelSignal } from '../../src/core/cancel';

interface Call {
  req: InferenceRequest;
  ctx: SkillCallContext;
}

/** A completer that answers with fixed text and records what it was asked. */
function fakeCompleter(
  text: string | ((req: InferenceRequest) => string),
  finishReason: CompletionResult['finishReason'] = 'stop',
) {
  const calls: Call[] = [];
  const complete = async (
    req: InferenceRequest,
    _sink: unknown,
    _signal: CancelSignal,
    ctx: SkillCallContext,
  ): Promise<CompletionResult> => {
    calls.push({ req, ctx });
    return {
      id: req.id,
      text: typeof text === 'string' ? text : text(req),
      finishReason,
      usage: { promptTokens: 10, completionTokens: 20 },
      route: { kind: 'local', provider: 'local', model: req.model || 'default-model', cached: false },
      timings: { queueUs: 5, ttftUs: 50, totalUs: 500 },
    };
  };
  return { complete, calls };
}

/** A classifier with fixed probabilities over bearish/bullish/neutral. */
function fakeClassifiers(probs: number[] | Error): SkillClassifiers & { calls: number } {
  const labels = ['bearish', 'bullish', 'neutral'];
  const reg = {
    calls: 0,
    get(name: string) {
      if (name !== 'fin') throw new ColoError('MODEL_NOT_FOUND', `no classifier named "${name}"`);
      return {
        labels,
        classify: async (texts: readonly string[]) => {
          reg.calls++;
          if (probs instanceof Error) throw probs;
          let best = 0;
          probs.forEach((p, i) => (p > probs[best]! ? (best = i) : 0));
          return texts.map(() => ({
            label: labels[best]!,
            labelIndex: best,
            probs,
            confidence: probs[best]!,
          }));
        },
      };
    },
  };
  return reg;
}

const sentimentJson = (sentiment: string, score: number, confidence: number) =>
  JSON.stringify({
    entities: [
      { entity: 'Apple', ticker: 'AAPL', sentiment, score, confidence, rationale: 'beat and raise' },
    ],
  });

const req = (skill: string, prompt: unknown, over: Partial<InferenceRequest> = {}): InferenceRequest => ({
  id: 'r1',
  model: '',
  prompt: prompt as string,
  sampling: { maxTokens: 999, temperature: 0.8, topP: 0.9, stop: ['x'] },
  deadlineMs: 0,
  priority: 3,
  stream: false,
  skill,
  ...over,
});

const never = new AbortController().signal;

const principal = (tenant: string, keyId = 'k'): Principal => ({
  tenant,
  keyId,
  keyName: keyId,
  allowRemote: false,
  anonymous: false,
});

async function codeOf(p: Promise<unknown>): Promise<ColoError> {
  try {
    await p;
  } catch (err) {
    return err as ColoError;
  }
  throw new Error('expected a rejection');
}

describe('SkillService.run (llm mode)', () => {
  it('sends the rendered prompt with the grammar schema and the skill sampling, and maps signals', async () => {
    const f = fakeCompleter(sentimentJson('bullish', 0.7, 0.9));
    const svc = SkillService.create(
      { defaultModel: 'tiny', defaultDeadlineMs: 1234 },
      { complete: f.complete },
    );
    const r = await svc.run(req('sentiment', 'Apple beats'), null, never, principal('t1', 'k1'));
    const { req: sent, ctx } = f.calls[0]!;
    const skill = svc.registry.resolve('sentiment');
    // The caller's remote policy rides in the context (the principal here may not go remote).
    expect(ctx).toEqual({ api: 'skill', jsonSchema: skill.grammarSchemaText, allowRemote: false });
    expect(sent.model).toBe('tiny');
    expect(sent.deadlineMs).toBe(1234);
    expect(sent.sampling).toEqual({ temperature: 0, topP: 1, maxTokens: skill.maxOutputChars + 4, stop: [] });
    expect(skill.maxOutputChars).toBe(710); // the longest compact answer sentiment@1.0.0 allows
    expect(sent.messages?.[1]?.content).toContain('Apple beats');
    expect(sent.prompt).toBeUndefined();
    expect([sent.tenant, sent.keyId, sent.priority, sent.skill]).toEqual(['t1', 'k1', 3, 'sentiment']);
    expect(r).toMatchObject({
      skill: 'sentiment',
      version: '1.0.0',
      mode: 'llm',
      usage: { promptTokens: 10, completionTokens: 20 },
    });
    expect(r.signals).toEqual([
      {
        entity: 'Apple',
        ticker: 'AAPL',
        direction: 1,
        score: 0.7,
        confidence: 0.9,
        label: 'bullish',
        rationale: 'beat and raise',
        abstain: false,
      },
    ]);
    expect(JSON.parse(r.text)).toEqual(r.output);
    expect(r.deprecation).toBeUndefined();
  });

  it('a request model wins over the default', async () => {
    const f = fakeCompleter(sentimentJson('bullish', 0.7, 0.9));
    const svc = SkillService.create({ defaultModel: 'tiny' }, { complete: f.complete });
    await svc.run(req('sentiment', 'x', { model: 'gpt-x', deadlineMs: 50 }), null, never);
    expect(f.calls[0]!.req.model).toBe('gpt-x');
    expect(f.calls[0]!.req.deadlineMs).toBe(50);
  });

  it('low confidence abstains instead of guessing', async () => {
    const f = fakeCompleter(sentimentJson('bullish', 0.3, 0.4));
    const r = await SkillService.create({}, { complete: f.complete }).run(req('sentiment', 'x'), null, never);
    expect(r.signals[0]).toMatchObject({ direction: 1, confidence: 0.4, abstain: true });
  });

  it('remote prose fails with SCHEMA_VIOLATION carrying the raw output', async () => {
    const raw = 'I think Apple is bullish.';
    const f = fakeCompleter(raw);
    const e = (await codeOf(
      SkillService.create({}, { complete: f.complete }).run(req('sentiment', 'x'), null, never),
    )) as SchemaViolationError;
    expect(e.code).toBe('SCHEMA_VIOLATION');
    expect(e.rawOutput).toBe(raw);
    expect(e.skill).toBe('sentiment');
  });

  it.each([
    ['empty', ''],
    ['blank', ' \n\t '],
    ['not a string', 42],
    ['a lone surrogate', 'Apple \ud800 beats'],
    ['over the size limit', 'x'.repeat(4097)],
  ])('input %s → INVALID_ARGUMENT, model never called', async (_what, input) => {
    const f = fakeCompleter('{}');
    const e = await codeOf(
      SkillService.create({}, { complete: f.complete }).run(req('sentiment', input), null, never),
    );
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.field).toBe('input');
    expect(f.calls).toHaveLength(0);
  });

  it('unknown skill → SKILL_NOT_FOUND; unknown version too', async () => {
    const svc = SkillService.create({}, { complete: fakeCompleter('{}').complete });
    expect((await codeOf(svc.run(req('nope', 'x'), null, never))).code).toBe('SKILL_NOT_FOUND');
    expect(
      (await codeOf(svc.run(req('sentiment', 'x'), null, never, undefined, { version: '9.9' }))).code,
    ).toBe('SKILL_NOT_FOUND');
  });

  it('a cancelled signal stops before the model is called', async () => {
    const f = fakeCompleter(sentimentJson('bullish', 0.7, 0.9));
    const ac = new AbortController();
    ac.abort();
    expect(
      (
        await codeOf(
          SkillService.create({}, { complete: f.complete }).run(req('sentiment', 'x'), null, ac.signal),
        )
      ).code,
    ).toBe('CANCELLED');
    expect(f.calls).toHaveLength(0);
  });
});

describe('lifecycle', () => {
  const cfg: SkillsConfigInput = {
    draftTenants: ['quant'],
    skills: [
      { name: 'sentiment', version: '2.0.0', base: 'sentiment', state: 'draft', threshold: 0.9 },
      { name: 'events', state: 'deprecated', deprecation: 'use events@2' },
    ],
  };

  it('drafts are never the default and need permission', async () => {
    const f = fakeCompleter(sentimentJson('bullish', 0.7, 0.8));
    const svc = SkillService.create(cfg, { complete: f.complete });
    const r = await svc.run(req('sentiment', 'x'), null, never);
    expect(r.version).toBe('1.0.0');
    const denied = await codeOf(
      svc.run(req('sentiment', 'x'), null, never, principal('other'), { version: '2.0.0', draft: true }),
    );
    expect(denied.code).toBe('PERMISSION_DENIED');
    expect(
      (await codeOf(svc.run(req('sentiment', 'x'), null, never, undefined, { version: '2.0.0' }))).code,
    ).toBe('PERMISSION_DENIED');
    const ok = await svc.run(req('sentiment', 'x'), null, never, principal('quant'), {
      version: '2.0.0',
      draft: true,
    });
    expect(ok.version).toBe('2.0.0');
    expect(ok.signals[0]!.abstain).toBe(true); // the draft's threshold 0.9 applies
    expect(
      (await svc.run(req('sentiment', 'x'), null, never, undefined, { version: '2.0.0', allowDraft: true }))
        .version,
    ).toBe('2.0.0');
  });

  it('deprecated skills answer with their notice', async () => {
    const f = fakeCompleter(JSON.stringify({ events: [] }));
    const r = await SkillService.create(cfg, { complete: f.complete }).run(req('events', 'x'), null, never);
    expect(r.deprecation).toBe('use events@2');
    expect(r.signals).toEqual([]);
  });

  it('newest published version is the default', async () => {
    const f = fakeCompleter(sentimentJson('bullish', 0.7, 0.8));
    const svc = SkillService.create(
      {
        skills: [
          { name: 'sentiment', version: '1.10.0', base: 'sentiment' },
          { name: 'sentiment', version: '1.9.0', base: 'sentiment' },
        ],
      },
      { complete: f.complete },
    );
    expect((await svc.run(req('sentiment', 'x'), null, never)).version).toBe('1.10.0');
  });
});

describe('config-defined skills', () => {
  const custom: SkillsConfigInput = {
    builtins: false,
    skills: [
      {
        name: 'fx',
        template: { system: 'Rate the currency view. Shape: {{shape}}', user: '{{input}}' },
        promptFormat: 'completion',
        outputSchema: {
          type: 'object',
          properties: {
            pairs: {
              type: 'array',
              maxItems: 2,
              items: {
                type: 'object',
                properties: {
                  pair: { type: 'string', maxLength: 7 },
                  view: { enum: ['long', 'short', 'flat'] },
                  conviction: { type: 'number', minimum: 0, maximum: 1 },
                },
              },
            },
          },
        },
        mapping: { items: 'pairs', entity: 'pair', direction: 'view', confidence: 'conviction' },
        threshold: 0.5,
      },
    ],
  };

  it('runs with a declarative mapping and a completion prompt', async () => {
    const f = fakeCompleter(
      JSON.stringify({
        pairs: [
          { pair: 'EURUSD', view: 'short', conviction: 0.8 },
          { pair: 'USDJPY', view: 'flat', conviction: 0.3 },
        ],
      }),
    );
    const svc = SkillService.create(custom, { complete: f.complete });
    const r = await svc.run(req('fx', 'ECB cuts'), null, never);
    expect(f.calls[0]!.req.prompt).toContain('ECB cuts');
    expect(f.calls[0]!.req.prompt).toContain('"pair": string (at most 7 chars)');
    expect(r.signals.map((s) => [s.entity, s.direction, s.score, s.label, s.abstain])).toEqual([
      ['EURUSD', -1, -0.8, 'short', false],
      ['USDJPY', 0, 0, 'flat', true],
    ]);
    expect(svc.registry.list().map((s) => s.id)).toEqual(['fx@1.0.0']);
  });

  it.each([
    [
      { mapping: { items: 'nope', direction: 'view', confidence: 'conviction' } },
      'skills.skills[0].mapping.items',
    ],
    [
      { mapping: { items: 'pairs', direction: 'view', confidence: 'pair' } },
      'skills.skills[0].mapping.confidence',
    ],
    [{ template: { user: 'no input here' } }, 'skills.skills[0].template.user'],
    [{ template: { user: '{{input}} {{shap}}' } }, 'skills.skills[0].template'],
    [
      { outputSchema: { type: 'object', properties: { a: { type: 'string' } } } },
      'skills.skills[0].outputSchema',
    ],
  ])('a broken entry fails at start-up naming its field (%j)', (patch, field) => {
    const entry = { ...custom.skills![0]!, ...patch };
    const e = (() => {
      try {
        SkillService.create({ builtins: false, skills: [entry] }, { complete: fakeCompleter('{}').complete });
      } catch (err) {
        return err as ColoError;
      }
      throw new Error('expected a throw');
    })();
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.field).toContain(field);
  });

  it('rejects unknown config keys (strict)', () => {
    expect(() =>
      SkillService.create({ skils: [] } as never, { complete: fakeCompleter('{}').complete }),
    ).toThrow(/skils/);
    expect(() =>
      SkillService.create({ skills: [{ name: 'sentiment', treshold: 0.5 }] } as never, {
        complete: fakeCompleter('{}').complete,
      }),
    ).toThrow(/treshold/);
  });

  it('an ensemble without classifiers is a start-up error', () => {
    const e = (() => {
      try {
        SkillService.create(
          { skills: [{ name: 'sentiment', ensemble: { classifier: 'fin' } }] },
          { complete: fakeCompleter('{}').complete },
        );
      } catch (err) {
        return err as ColoError;
      }
      throw new Error('expected a throw');
    })();
    expect(e.code).toBe('INVALID_ARGUMENT');
  });
});

describe('ensemble', () => {
  const ens = (weight = 0.5): SkillsConfigInput => ({
    skills: [{ name: 'sentiment', ensemble: { classifier: 'fin', weight } }],
  });

  it('agree: weighted confidence, both voices reported', async () => {
    const f = fakeCompleter(sentimentJson('bullish', 0.8, 0.8));
    const clf = fakeClassifiers([0.05, 0.9, 0.05]);
    const r = await SkillService.create(ens(), { complete: f.complete, classifiers: clf }).run(
      req('sentiment', '$AAPL beats'),
      null,
      never,
    );
    expect(r.mode).toBe('ensemble');
    expect(r.signals[0]).toMatchObject({
      entity: 'Apple',
      direction: 1,
      confidence: 0.85,
      score: 0.825,
      abstain: false,
    });
    expect(r.signals[0]!.rationale).toMatch(
      /^ensemble agree: classifier bullish 0\.90, llm bullish 0\.80; beat and raise/,
    );
    expect(r.ensemble).toMatchObject({
      classifier: 'fin',
      weight: 0.5,
      classifierVote: { direction: 1, confidence: 0.9, score: 0.85 },
    });
    expect(r.ensemble!.signals[0]!.agreement).toBe('agree');
    expect(r.ensemble!.signals[0]!.llm).toMatchObject({ direction: 1, confidence: 0.8 });
  });

  it('disagree: the voices cancel and the signal abstains', async () => {
    const f = fakeCompleter(sentimentJson('bearish', -0.7, 0.8));
    const r = await SkillService.create(ens(), {
      complete: f.complete,
      classifiers: fakeClassifiers([0.05, 0.9, 0.05]),
    }).run(req('sentiment', 'x'), null, never);
    expect(r.ensemble!.signals[0]!.agreement).toBe('disagree');
    expect(r.signals[0]!.confidence).toBeCloseTo(0.05, 6);
    expect(r.signals[0]!.abstain).toBe(true);
  });

  it('classifier the only confident voice: the rationale says so', async () => {
    const f = fakeCompleter(sentimentJson('neutral', 0, 0.3));
    const r = await SkillService.create(ens(0.8), {
      complete: f.complete,
      classifiers: fakeClassifiers([0.02, 0.95, 0.03]),
    }).run(req('sentiment', 'x'), null, never);
    expect(r.ensemble!.signals[0]!.agreement).toBe('classifier-only');
    expect(r.signals[0]!.rationale).toContain('only the classifier is confident (bullish 0.95)');
    expect(r.signals[0]).toMatchObject({ direction: 1, label: 'bullish' });
    expect(r.signals[0]!.confidence).toBeCloseTo(0.8 * 0.95 - 0.2 * 0.3, 6);
  });

  it('a failing classifier leaves the model alone, and the report says why', async () => {
    const f = fakeCompleter(sentimentJson('bullish', 0.7, 0.9));
    const r = await SkillService.create(ens(), {
      complete: f.complete,
      classifiers: fakeClassifiers(new ColoError('NOT_READY', 'load failed')),
    }).run(req('sentiment', 'x'), null, never);
    expect(r.ensemble!.classifierError).toEqual({ code: 'NOT_READY', message: 'load failed' });
    expect(r.ensemble!.signals[0]!.agreement).toBe('llm-only');
    expect(r.signals[0]).toMatchObject({ direction: 1, confidence: 0.9, abstain: false });
    // The threshold still applies to the model alone.
    const low = await SkillService.create(ens(), {
      complete: fakeCompleter(sentimentJson('bullish', 0.3, 0.4)).complete,
      classifiers: fakeClassifiers(new ColoError('NOT_READY', 'x')),
    }).run(req('sentiment', 'x'), null, never);
    expect(low.signals[0]).toMatchObject({ confidence: 0.4, abstain: true });
  });

  it('mode llm skips the classifier', async () => {
    const clf = fakeClassifiers([0.1, 0.8, 0.1]);
    const r = await SkillService.create(ens(), {
      complete: fakeCompleter(sentimentJson('bullish', 0.7, 0.9)).complete,
      classifiers: clf,
    }).run(req('sentiment', 'x'), null, never, undefined, { mode: 'llm' });
    expect(r.ensemble).toBeUndefined();
    expect(clf.calls).toBe(0);
  });

  it('classifier mode answers without the model', async () => {
    const f = fakeCompleter('never used');
    const r = await SkillService.create(ens(), {
      complete: f.complete,
      classifiers: fakeClassifiers([0.7, 0.2, 0.1]),
    }).run(req('sentiment', '$tsla recalls cars'), null, never, undefined, { mode: 'classifier' });
    expect(f.calls).toHaveLength(0);
    expect(r.mode).toBe('classifier');
    expect(r.route).toEqual({ kind: 'local', provider: 'onnx', model: 'fin', cached: false });
    expect(r.signals).toEqual([
      {
        entity: 'TSLA',
        ticker: 'TSLA',
        direction: -1,
        score: -0.5,
        confidence: 0.7,
        label: 'bearish',
        rationale: 'classifier fin: bearish 0.70',
        abstain: false,
      },
    ]);
    expect(r.usage).toEqual({ promptTokens: 0, completionTokens: 0 });
  });

  it('classifier mode on a skill without an ensemble → INVALID_ARGUMENT', async () => {
    const e = await codeOf(
      SkillService.create({}, { complete: fakeCompleter('{}').complete }).run(
        req('sentiment', 'x'),
        null,
        never,
        undefined,
        { mode: 'classifier' },
      ),
    );
    expect([e.code, e.field]).toEqual(['INVALID_ARGUMENT', 'mode']);
  });

  it('agreementOf covers every case', () => {
    const v = (direction: -1 | 0 | 1, confidence: number) => ({
      direction,
      confidence,
      score: direction * confidence,
      label: '',
    });
    expect(agreementOf(v(1, 0.9), v(1, 0.9), true, 0.6)).toBe('agree');
    expect(agreementOf(v(1, 0.9), v(-1, 0.9), true, 0.6)).toBe('disagree');
    expect(agreementOf(v(1, 0.9), v(-1, 0.5), true, 0.6)).toBe('classifier-only');
    expect(agreementOf(v(1, 0.9), v(1, 0.9), false, 0.6)).toBe('classifier-only');
    expect(agreementOf(v(1, 0.5), v(1, 0.9), true, 0.6)).toBe('llm-only');
    expect(agreementOf(undefined, v(1, 0.3), true, 0.6)).toBe('neither');
  });

  it('weight 1 is the classifier alone; weight 0 the model alone', () => {
    const llm = {
      entity: 'A',
      ticker: '',
      direction: -1 as const,
      score: -0.6,
      confidence: 0.7,
      label: 'bearish',
      rationale: '',
      abstain: false,
    };
    const clf = { direction: 1 as const, score: 0.8, confidence: 0.9, label: 'bullish' };
    expect(combine(llm, clf, 1, 0.6).signal).toMatchObject({ direction: 1, score: 0.8, confidence: 0.9 });
    expect(combine(llm, clf, 0, 0.6).signal).toMatchObject({ direction: -1, score: -0.6, confidence: 0.7 });
  });
});

describe('skillRoutes', () => {
  const svc = SkillService.create(
    { skills: [{ name: 'events', version: '0.9.0', base: 'events', state: 'deprecated' }] },
    { complete: fakeCompleter(sentimentJson('bullish', 0.7, 0.9)).complete },
  );
  const routes = skillRoutes(svc.registry);
  const route = (method: string, pattern: string) =>
    routes.find((r) => r.method === method && r.pattern === pattern)!;
  /** A plain route's handler, or a call route as the server runs it: toCall, the validator, the skill, render. */
  const call = async (
    method: string,
    pattern: string,
    path: string,
    body: unknown = undefined,
    query = '',
  ) => {
    const r = route(method, pattern);
    const signal = new AbortController().signal;
    const req = { method, path, query, headers: {}, body, principal: undefined, signal };
    if (r.kind !== 'call') return r.handle(req);
    const input = r.toCall(req, performance.now());
    const c = validateCall(input, r.api, undefined, DEFAULT_CALL_LIMITS, {
      defaultModel: 'm',
      kindOf: () => 'model',
      skillModel: (n) => (svc.registry.list().some((x) => x.name === n) ? '' : undefined),
    });
    const opts = c.skillOptions as Parameters<typeof svc.run>[4];
    return { status: 200, body: r.render(await svc.run(c, null, signal, undefined, opts), input) };
  };

  it('publishes the three routes', () => {
    expect(routes.map((r) => `${r.method} ${r.pattern}`)).toEqual([
      'get /v1/skills',
      'get /v1/skills/:name',
      'post /v1/skills/:name',
    ]);
  });

  it('GET /v1/skills lists every version with its schemas', async () => {
    const res = await call('get', '/v1/skills', '/v1/skills');
    const data = (
      res.body as {
        data: {
          name: string;
          version: string;
          state: string;
          output_schema: unknown;
          input_schema: unknown;
        }[];
      }
    ).data;
    expect(data.map((d) => `${d.name}@${d.version}:${d.state}`)).toEqual([
      'events@1.0.0:published',
      'events@0.9.0:deprecated',
      'sentiment@1.0.0:published',
      'summary@1.0.0:published',
    ]);
    expect(data[2]!.output_schema).toEqual(svc.registry.resolve('sentiment').outputSchema);
    expect(data[2]!.input_schema).toMatchObject({ required: ['input'] });
  });

  it('GET /v1/skills/:name gives the default version and the list', async () => {
    const res = await call('get', '/v1/skills/:name', '/v1/skills/events');
    expect(res.body).toMatchObject({
      name: 'events',
      version: '1.0.0',
      versions: [
        { version: '1.0.0', state: 'published' },
        { version: '0.9.0', state: 'deprecated' },
      ],
    });
    const old = await call('get', '/v1/skills/:name', '/v1/skills/events', undefined, 'version=0.9.0');
    expect(old.body).toMatchObject({ version: '0.9.0', state: 'deprecated' });
    await expect(call('get', '/v1/skills/:name', '/v1/skills/nope')).rejects.toMatchObject({
      code: 'SKILL_NOT_FOUND',
    });
  });

  it('POST /v1/skills/:name runs the skill', async () => {
    const res = await call('post', '/v1/skills/:name', '/v1/skills/sentiment', {
      input: 'Apple beats',
      id: 'abc',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: 'abc',
      skill: 'sentiment',
      version: '1.0.0',
      mode: 'llm',
      signals: [{ ticker: 'AAPL', direction: 1 }],
      output: { entities: [{ entity: 'Apple' }] },
      finish_reason: 'stop',
      usage: { prompt_tokens: 10, completion_tokens: 20 },
      route: { kind: 'local' },
    });
    expect((res.body as { timings: Record<string, number> }).timings).toHaveProperty('total_us');
  });

  it('POST rejects a bad body with the field named', async () => {
    await expect(
      call('post', '/v1/skills/:name', '/v1/skills/sentiment', { inputs: 'x' }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(
      call('post', '/v1/skills/:name', '/v1/skills/sentiment', { input: 'x', mode: 'fast' }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'mode' });
    await expect(
      call('post', '/v1/skills/:name', '/v1/skills/sentiment', { input: '' }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'input' });
    await expect(call('post', '/v1/skills/:name', '/v1/skills/nope', { input: 'x' })).rejects.toMatchObject({
      code: 'SKILL_NOT_FOUND',
    });
  });
});
