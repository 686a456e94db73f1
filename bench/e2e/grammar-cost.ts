/**
 * What a JSON-schema grammar costs per token: the `events` skill's rendered prompt
 * through the local engine with and without its grammar, alternating rounds, same
 * sequence pool (so the prompt's KV prefix is reused after the first request).
 *
 *   npm run build && node bench/lib/run.mjs bench/e2e/grammar-cost.ts
 */
import { SkillService } from '../../src/skills';
import type { InferenceRequest } from '../../src/core/types';
import { startColo } from '../../src/app/colo';
import { parseConfig } from '../../src/config';
import { createLogger } from '../../src/core/log';
import { machineLine, summarizeValues, writeResult } from '../lib';
import { resolve } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MODELS = resolve(import.meta.dirname, '../../../shared/models');
const RUNS = Number(process.env.RUNS ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'colo-grammar-'));
const colo = await startColo(
  parseConfig({
    server: { port: 0 },
    audit: { enabled: false },
    auth: { storePath: join(dir, 'auth.json') },
    engine: { modelDirs: [MODELS], models: [{ name: 'stories260K', sequences: 2, contextSize: 2048 }] },
  }),
  createLogger('error'),
);
let captured: { req: InferenceRequest; jsonSchema: string } | undefined;
const skills = SkillService.create(
  {},
  {
    complete: async (req, sink, signal, ctx) => {
      captured = { req: { ...req, model: 'stories260K' }, jsonSchema: ctx.jsonSchema! };
      return colo.engine.complete({ ...req, model: 'stories260K' }, sink, signal, {
        jsonSchema: ctx.jsonSchema,
      });
    },
  },
);
await skills.run(
  {
    id: 'w',
    model: '',
    prompt: '$MSFT agrees to buy $ATVI for $69bn',
    sampling: { maxTokens: 0, temperature: 0, topP: 1, stop: [] },
    deadlineMs: 60_000,
    priority: 0,
    stream: false,
    skill: 'events',
  },
  null,
  new AbortController().signal,
);
const { req, jsonSchema } = captured!;

const series = {
  grammar: { ttftNs: [] as number[], perTokenNs: [] as number[] },
  plain: { ttftNs: [] as number[], perTokenNs: [] as number[] },
};
for (let i = 0; i < RUNS * 2; i++) {
  const withGrammar = i % 2 === 1;
  let first = 0;
  const t0 = performance.now();
  const r = await colo.engine.complete(
    { ...req, id: `g${i}`, receivedAt: undefined, sampling: { ...req.sampling, maxTokens: 64 } },
    { onToken: () => void (first ||= performance.now()) },
    new AbortController().signal,
    withGrammar ? { jsonSchema } : {},
  );
  const t1 = performance.now();
  if (i < 4) continue; // warm-up: both variants once per sequence
  const s = withGrammar ? series.grammar : series.plain;
  s.ttftNs.push((first - t0) * 1e6);
  s.perTokenNs.push(((t1 - first) / Math.max(1, r.usage.completionTokens - 1)) * 1e6);
}
await colo.shutdown('bench end');
const results = {
  promptTokens: 'events skill template (~800 tokens)',
  grammar: {
    ttftUs: summarizeValues(series.grammar.ttftNs),
    perTokenUs: summarizeValues(series.grammar.perTokenNs),
  },
  plain: {
    ttftUs: summarizeValues(series.plain.ttftNs),
    perTokenUs: summarizeValues(series.plain.perTokenNs),
  },
};
console.log(machineLine());
for (const k of ['plain', 'grammar'] as const) {
  console.log(
    `${k.padEnd(8)} ttft p50 ${results[k].ttftUs.p50.toFixed(0)} µs  per-token p50 ${results[k].perTokenUs.p50.toFixed(0)} µs  p99 ${results[k].perTokenUs.p99.toFixed(0)} µs`,
  );
}
writeResult('grammar-cost', 'e2e', results);
process.exit(0);
