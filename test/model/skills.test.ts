/**
 * Every built-in skill on the tiny real model through a real engine, grammar on. The
 * model's words are nonsense, so the assertions are about the contract: the output
 * parses against the skill's schema, signals are well-formed, greedy runs repeat, an
 * answer cut off by maxTokens is a SCHEMA_VIOLATION with the raw text. Plus the
 * classifier-only and ensemble modes with a classifier trained here for a few epochs.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Colo } from '../../src/app/colo';
import { ClassifierRegistry } from '../../src/classifier/registry';
import { trainClassifier } from '../../src/classifier/train';
import type { ColoError } from '../../src/core/errors';
import type { InferenceRequest, Signal } from '../../src/core/types';
import { SchemaViolationError, SkillService, type SkillCompleter, type SkillResult } from '../../src/skills';
import { SHARED_MODELS, startTestColo } from '../helpers/engine';

const DATA = join(import.meta.dirname, '../../../shared/data/twitter-financial-news-sentiment');
if (!existsSync(join(DATA, 'train.csv')))
  throw new Error(`skills model tests need the labelled data at ${DATA}`);

const INPUTS = [
  'Apple ($AAPL) beats Q3 estimates and raises full-year guidance; shares up 4% after hours.',
  'Regulators open an antitrust probe into the planned merger of two chipmakers.',
];

let colo: Colo;
let classifiers: ClassifierRegistry;
let service: SkillService;
let tmp: string;
let modelCalls = 0;

const req = (skill: string, prompt: string, over: Partial<InferenceRequest> = {}): InferenceRequest => ({
  id: `${skill}-${Math.random().toString(36).slice(2)}`,
  model: '',
  prompt,
  sampling: { maxTokens: 0, temperature: 0, topP: 1, stop: [] },
  deadlineMs: 60_000,
  priority: 0,
  stream: false,
  skill,
  ...over,
});

const never = new AbortController().signal;

function expectWellFormed(signals: Signal[], threshold: number): void {
  for (const s of signals) {
    expect([-1, 0, 1]).toContain(s.direction);
    expect(s.score).toBeGreaterThanOrEqual(-1);
    expect(s.score).toBeLessThanOrEqual(1);
    expect(s.confidence).toBeGreaterThanOrEqual(0);
    expect(s.confidence).toBeLessThanOrEqual(1);
    for (const k of ['entity', 'ticker', 'label', 'rationale'] as const) expect(typeof s[k]).toBe('string');
    expect(s.ticker).toMatch(/^([A-Z0-9][A-Z0-9.-]{0,9})?$/);
    // Below the threshold always abstains; above it only for a stated reason.
    if (s.confidence < threshold) expect(s.abstain).toBe(true);
    else if (s.abstain) expect(s.rationale).not.toBe('');
  }
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'colo-skills-test-'));
  // The skill prompts (schema shape included) are ~600-900 tokens with this tokenizer: a 2048-token context.
  colo = await startTestColo({
    extra: {
      engine: {
        modelDirs: [SHARED_MODELS],
        models: [{ name: 'stories260K', sequences: 2, maxQueue: 16, contextSize: 2048 }],
      },
    },
  });
  await trainClassifier({
    train: join(DATA, 'train.csv'),
    valid: join(DATA, 'valid.csv'),
    out: join(tmp, 'fin'),
    seed: 1,
    epochs: 2,
  });
  classifiers = await ClassifierRegistry.create({ models: [{ name: 'fin', dir: join(tmp, 'fin') }] });
  // The same signature the lead injects (Router.complete); here straight to the engine.
  const complete: SkillCompleter = (r, sink, signal, ctx) => {
    modelCalls++;
    return colo.engine.complete(r, sink, signal, { jsonSchema: ctx.jsonSchema });
  };
  service = SkillService.create(
    {
      defaultModel: 'stories260K',
      skills: [
        { name: 'sentiment', ensemble: { classifier: 'fin', weight: 0.5 } },
        { name: 'sentiment-short', base: 'sentiment', sampling: { maxTokens: 6 } },
      ],
    },
    { complete, classifiers },
  );
});

afterAll(async () => {
  await colo?.shutdown();
  await classifiers?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe.each(['sentiment', 'events', 'summary'])('built-in %s on the tiny model', (name) => {
  const results: SkillResult[] = [];

  it.each(INPUTS)('answers schema-valid JSON and well-formed signals: %s', async (input) => {
    const mode = name === 'sentiment' ? 'llm' : undefined;
    const r = await service.run(req(name, input), null, never, undefined, { mode });
    results.push(r);
    const skill = service.registry.resolve(name);
    expect(r.finishReason).toBe('stop');
    expect(skill.violations(r.output)).toEqual([]);
    expect(JSON.parse(r.text)).toEqual(r.output);
    expect(r.route).toMatchObject({ kind: 'local', model: 'stories260K' });
    expect(r.usage.completionTokens).toBeGreaterThan(0);
    expect(r.usage.completionTokens).toBeLessThanOrEqual(skill.sampling.maxTokens);
    if (name === 'sentiment') expect(r.signals.length).toBeGreaterThanOrEqual(1);
    if (name === 'summary') expect(r.signals).toHaveLength(1);
    expectWellFormed(r.signals, skill.def.threshold);
  });

  it('repeats itself at temperature 0', async () => {
    const mode = name === 'sentiment' ? 'llm' : undefined;
    const again = await service.run(req(name, INPUTS[0]!), null, never, undefined, { mode });
    expect(again.output).toEqual(results[0]!.output);
    expect(again.signals).toEqual(results[0]!.signals);
  });
});

describe('failure modes on the real engine', () => {
  it('an answer cut off by maxTokens is SCHEMA_VIOLATION with the raw text', async () => {
    let err: ColoError | undefined;
    try {
      await service.run(req('sentiment-short', INPUTS[0]!), null, never);
    } catch (e) {
      err = e as ColoError;
    }
    expect(err).toBeInstanceOf(SchemaViolationError);
    const v = err as SchemaViolationError;
    expect(v.violations[0]).toContain('truncated');
    expect(v.rawOutput.startsWith('{')).toBe(true);
  });
});

describe('classifier modes', () => {
  it('classifier mode answers from the ONNX model without calling the LLM', async () => {
    const before = modelCalls;
    const text = '$TSLA shares plunge after a recall of two million cars';
    const r = await service.run(req('sentiment', text), null, never, undefined, { mode: 'classifier' });
    expect(modelCalls).toBe(before);
    expect(r.route).toEqual({ kind: 'local', provider: 'onnx', model: 'fin', cached: false });
    const [direct] = await classifiers.get('fin').classify([text]);
    expect(r.signals).toHaveLength(1);
    expect(r.signals[0]).toMatchObject({
      ticker: 'TSLA',
      label: direct!.label,
      abstain: direct!.confidence < 0.6,
    });
    expect(r.signals[0]!.confidence).toBeCloseTo(direct!.confidence, 6);
    expectWellFormed(r.signals, 0.6);
  });

  it('ensemble mode reports both voices and their agreement per signal', async () => {
    const r = await service.run(req('sentiment', INPUTS[0]!), null, never);
    expect(r.mode).toBe('ensemble');
    expect(r.ensemble?.classifier).toBe('fin');
    expect(r.ensemble?.classifierVote).toBeDefined();
    expect(r.ensemble?.signals).toHaveLength(r.signals.length);
    for (const [i, s] of r.signals.entries()) {
      expect(['agree', 'disagree', 'classifier-only', 'llm-only', 'neither']).toContain(
        r.ensemble!.signals[i]!.agreement,
      );
      expect(s.rationale).toMatch(/^ensemble /);
    }
    expectWellFormed(r.signals, 0.6);
  });
});
