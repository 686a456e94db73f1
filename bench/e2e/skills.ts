/**
 * Skill latency, in process (no socket):
 * - each built-in skill on the tiny model through a real engine, grammar on: end-to-end
 *   run time (render, engine, parse, validate, map), against a baseline measured in the
 *   same run: the same rendered prompt completed with no grammar and maxTokens set to
 *   the skill's median answer length, so the difference is grammar + skill overhead;
 * - the sentiment skill in classifier mode (no model), against the classifier's own
 *   classify() on the same headline: the difference is the skill layer.
 *
 *   npm run build && node bench/lib/run.mjs bench/e2e/skills.ts [--runs 30] [--clf-runs 5000] [--quick] [--flash auto|on|off] [--kv auto|f16|f32]
 *
 * Checks the answer first: every skill answer validates against its schema, and the
 * classifier-mode signal has the label the classifier itself gives.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startColo } from '../../src/app/colo';
import { ClassifierRegistry } from '../../src/classifier';
import { parseConfig } from '../../src/config';
import { createLogger } from '../../src/core/log';
import type { InferenceRequest } from '../../src/core/types';
import { SkillService, type SkillCompleter } from '../../src/skills';
import { formatSummary, machineLine, summarizeValues, writeResult, type LatencySummary } from '../lib';
import { CHECK_HEADLINES, trainBenchClassifier } from './bench-classifier';
import { DEFAULT_MODEL_PATH, ROOT } from './colo-process';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    'clf-runs': { type: 'string', default: '5000' },
    model: { type: 'string', default: DEFAULT_MODEL_PATH },
    quick: { type: 'boolean', default: false },
    /** The model's flashAttention: auto (the default: measured at load), on or off. */
    flash: { type: 'string', default: 'auto' },
    /** The model's kvCacheType: auto (the default: measured at load with flash), f16 or f32. */
    kv: { type: 'string', default: 'auto' },
  },
});
const QUICK = values.quick || process.env.BENCH_QUICK === '1';
const RUNS = QUICK ? 5 : Number(values.runs);
const CLF_RUNS = QUICK ? 500 : Number(values['clf-runs']);
const WARMUP = 3;
const INPUT = 'Apple ($AAPL) beats Q3 estimates and raises full-year guidance; shares up 4% after hours.';

// Bundled by run.mjs, the engine looks for its worker beside this file: put the built one
// there, every run (a copy kept from an earlier build would run that build's worker).
const here = import.meta.dirname;
if (!import.meta.url.endsWith('.ts')) {
  const built = join(ROOT, 'dist/engine-worker.js');
  if (!existsSync(built)) throw new Error('dist/engine-worker.js not found: run "npm run build" first');
  copyFileSync(built, join(here, 'engine-worker.js'));
}

const never = new AbortController().signal;
const request = (skill: string, prompt: string, id: string): InferenceRequest => ({
  id,
  model: '',
  prompt,
  sampling: { maxTokens: 0, temperature: 0, topP: 1, stop: [] },
  deadlineMs: 120_000,
  priority: 0,
  stream: false,
  skill,
});

const nsSince = (t0: bigint) => Number(process.hrtime.bigint() - t0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface SkillRow {
  skill: string;
  runs: number;
  completionTokens: number;
  promptTokens: number;
  skill_e2e: LatencySummary;
  /** Per answer token (run time / completion tokens): comparable even when the baseline stops early. */
  skill_per_token: LatencySummary;
  baselineCompletionTokens: number;
  baseline_no_grammar: LatencySummary;
  baseline_per_token: LatencySummary;
}

async function main(): Promise<void> {
  console.log(machineLine());
  const log = createLogger((process.env.BENCH_LOG as never) ?? 'error');
  const colo = await startColo(
    parseConfig({
      server: { port: 0 },
      engine: {
        models: [
          {
            name: 'tiny',
            source: values.model,
            sequences: 1,
            threads: 1,
            contextSize: 2048,
            flashAttention: values.flash === 'on' ? true : values.flash === 'off' ? false : 'auto',
            kvCacheType: values.kv === 'f16' || values.kv === 'f32' ? values.kv : 'auto',
          },
        ],
      },
    }),
    log,
  );
  const clfModel = await trainBenchClassifier(4);
  const classifiers = await ClassifierRegistry.create({ models: [{ name: 'fin', dir: clfModel.dir }] });
  const complete: SkillCompleter = (r, sink, signal, ctx) =>
    colo.engine.complete(r, sink, signal, { jsonSchema: ctx.jsonSchema });
  const service = SkillService.create(
    { defaultModel: 'tiny', skills: [{ name: 'sentiment', ensemble: { classifier: 'fin', weight: 0.5 } }] },
    { complete, classifiers },
  );
  const rows: SkillRow[] = [];
  try {
    for (const name of ['sentiment', 'events', 'summary']) {
      const skill = service.registry.resolve(name);
      const times: number[] = [];
      const perToken: number[] = [];
      const tokens: number[] = [];
      let promptTokens = 0;
      for (let i = 0; i < RUNS + WARMUP; i++) {
        const t0 = process.hrtime.bigint();
        const r = await service.run(request(name, INPUT, `${name}-${i}`), null, never, undefined, {
          mode: 'llm',
        });
        const ns = nsSince(t0);
        if (skill.violations(r.output).length > 0)
          throw new Error(`answer check failed: ${name} output violates its schema`);
        if (i >= WARMUP) {
          times.push(ns);
          tokens.push(r.usage.completionTokens);
          perToken.push(ns / Math.max(1, r.usage.completionTokens));
        }
        promptTokens = r.usage.promptTokens;
      }
      // Baseline: the same prompt and answer budget, no grammar, no parsing. Free text
      // may stop early (end of story), hence the per-token figures.
      const maxTokens = median(tokens);
      const base: number[] = [];
      const basePerToken: number[] = [];
      const baseTokens: number[] = [];
      for (let i = 0; i < RUNS + WARMUP; i++) {
        const t0 = process.hrtime.bigint();
        const b = await colo.engine.complete(
          {
            ...request(name, '', `base-${name}-${i}`),
            model: 'tiny',
            ...skill.render(INPUT),
            sampling: { temperature: 0, topP: 1, maxTokens, stop: [] },
          },
          null,
          never,
        );
        const ns = nsSince(t0);
        if (i >= WARMUP) {
          base.push(ns);
          baseTokens.push(b.usage.completionTokens);
          basePerToken.push(ns / Math.max(1, b.usage.completionTokens));
        }
      }
      const row: SkillRow = {
        skill: name,
        runs: RUNS,
        completionTokens: maxTokens,
        promptTokens,
        skill_e2e: summarizeValues(times),
        skill_per_token: summarizeValues(perToken),
        baselineCompletionTokens: median(baseTokens),
        baseline_no_grammar: summarizeValues(base),
        baseline_per_token: summarizeValues(basePerToken),
      };
      rows.push(row);
      console.log(
        `${name} (${promptTokens} prompt tokens; answer ~${maxTokens} tokens with grammar, ~${row.baselineCompletionTokens} without)`,
      );
      console.log(`  skill, grammar on:   ${formatSummary(row.skill_e2e)}`);
      console.log(`    per token:         ${formatSummary(row.skill_per_token)}`);
      console.log(`  baseline no grammar: ${formatSummary(row.baseline_no_grammar)}`);
      console.log(`    per token:         ${formatSummary(row.baseline_per_token)}`);
    }

    // Classifier mode: check the answer, then time it against classify() itself.
    const clf = classifiers.get('fin');
    for (const h of CHECK_HEADLINES) {
      const r = await service.run(request('sentiment', h.text, 'check'), null, never, undefined, {
        mode: 'classifier',
      });
      if (r.signals[0]!.label !== h.label)
        throw new Error(`answer check failed: "${h.text}" is ${r.signals[0]!.label}, expected ${h.label}`);
    }
    const text = CHECK_HEADLINES[0]!.text;
    const skillNs: number[] = [];
    const directNs: number[] = [];
    for (let i = 0; i < CLF_RUNS + 200; i++) {
      // Alternate, so drift on a shared box hits both alike.
      let t0 = process.hrtime.bigint();
      await service.run(request('sentiment', text, 'c'), null, never, undefined, { mode: 'classifier' });
      const a = nsSince(t0);
      t0 = process.hrtime.bigint();
      await clf.classify([text]);
      const b = nsSince(t0);
      if (i >= 200) {
        skillNs.push(a);
        directNs.push(b);
      }
    }
    const classifier = {
      runs: CLF_RUNS,
      skill_classifier_mode: summarizeValues(skillNs),
      baseline_classify: summarizeValues(directNs),
    };
    console.log('sentiment, classifier mode (in process)');
    console.log(`  skill: ${formatSummary(classifier.skill_classifier_mode)}`);
    console.log(`  baseline classify(): ${formatSummary(classifier.baseline_classify)}`);

    const results = { model: values.model, threads: 1, skills: rows, classifier };
    const path = writeResult('skills', 'e2e', results);
    console.log(JSON.stringify(results));
    if (path) console.error(`wrote ${path}`);
  } finally {
    await colo.shutdown();
    await classifiers.close();
  }
}

await main();
