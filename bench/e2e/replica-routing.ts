/**
 * Which worker a request goes to when a model has several (replicas > 1): cache-aware
 * routing (CacheMirror.route, the default: the worker predicted to serve it soonest, its
 * cached share counted) against least-busy dispatch (the fewest in flight, what Colo did
 * before), in the same run.
 *
 * Skill-shaped traffic: `--templates` distinct templates of ~`--template-tokens` tokens
 * (a skill's instructions), each request one of them, drawn at random (seeded, the same
 * draw for both), plus a unique headline, `--tokens` tokens generated; `--clients`
 * closed-loop clients at once. Two pools of the model, the same settings but the routing
 * (`--replicas` workers of `--sequences` sequences, threads 1 each), run one after the
 * other, alternating, `--rounds` times; the first request of each template per round is
 * left out of the figures (nothing is cached for it on either).
 *
 * Reports per routing: latency p50, p90, p99 over all rounds, the first token's p50, and
 * the share of prompt tokens found cached (usage.cachedTokens, what the worker reported).
 *
 *   npm run build && npx tsx bench/e2e/replica-routing.ts [--templates 6] [--replicas 2]
 *     [--sequences 4] [--clients 3] [--requests 120] [--rounds 3] [--tokens 16]
 *
 * (tsx, not run.mjs: the pool finds its worker in dist/ only from the TypeScript sources.)
 */
import { parseArgs } from 'node:util';
import { mulberry32 } from '../../src/classifier/prng';
import { DEFAULT_SAMPLING, type InferenceRequest } from '../../src/core/types';
import type { ModelPool } from '../../src/engine';
import { machineLine, writeResult } from '../lib';
import { DEFAULT_MODEL_PATH } from './colo-process';
import { defaultPool } from './default-pool';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: DEFAULT_MODEL_PATH },
    templates: { type: 'string', default: '6' },
    'template-tokens': { type: 'string', default: '300' },
    replicas: { type: 'string', default: '2' },
    sequences: { type: 'string', default: '4' },
    clients: { type: 'string', default: '3' },
    requests: { type: 'string', default: '120' },
    rounds: { type: 'string', default: '3' },
    tokens: { type: 'string', default: '16' },
  },
});
const N = Number(values.requests);
const CLIENTS = Number(values.clients);

// About 12 tokens a sentence on stories260K's vocabulary.
const sentences = Math.max(1, Math.round(Number(values['template-tokens']) / 12));
const animals = ['dog', 'cat', 'bird', 'fish', 'frog', 'bear', 'duck', 'fox', 'owl', 'lion', 'wolf', 'deer'];
const templates = Array.from({ length: Number(values.templates) }, (_, t) =>
  Array.from(
    { length: sentences },
    (_, i) => `The ${animals[t % animals.length]} ${t} number ${i} went to the park.`,
  ).join(' '),
);

interface Tally {
  ms: number[];
  ttft: number[];
  prompt: number;
  cached: number;
}

let id = 0;
async function round(pool: ModelPool, seed: number, t: Tally): Promise<void> {
  // A seeded draw, the same sequence for both routings.
  const pick = mulberry32(seed);
  const order = Array.from({ length: N }, () => Math.floor(pick() * templates.length));
  const seen = new Set<number>();
  let next = 0;
  const client = async () => {
    for (;;) {
      const i = next++;
      if (i >= N) return;
      const tpl = order[i]!;
      const first = !seen.has(tpl);
      seen.add(tpl);
      const t0 = performance.now();
      let firstAt = 0;
      const req: InferenceRequest = {
        id: `r${id++}`,
        model: pool.name,
        prompt: `${templates[tpl]} Headline ${i}: shares rose`,
        sampling: { ...DEFAULT_SAMPLING, maxTokens: Number(values.tokens), temperature: 0 },
        deadlineMs: 60_000,
        deadlineAt: t0 + 60_000,
        receivedAt: t0,
        priority: 0,
        stream: true,
      };
      const r = await pool.complete(
        req,
        { onToken: () => void (firstAt ||= performance.now()) },
        new AbortController().signal,
      );
      if (first) continue;
      t.ms.push(performance.now() - t0);
      t.ttft.push(firstAt - t0);
      t.prompt += r.usage.promptTokens;
      t.cached += r.usage.cachedTokens ?? 0;
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
}

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};

console.log(machineLine());
const over = {
  replicas: Number(values.replicas),
  sequences: Number(values.sequences),
  contextSize: 4096,
};
const pools = {
  cache: await defaultPool('cache', values.model!, { ...over, routing: 'cache' }),
  'least-busy': await defaultPool('least-busy', values.model!, { ...over, routing: 'least-busy' }),
};
const tallies: Record<keyof typeof pools, Tally> = {
  cache: { ms: [], ttft: [], prompt: 0, cached: 0 },
  'least-busy': { ms: [], ttft: [], prompt: 0, cached: 0 },
};
console.log(
  `${templates.length} templates, ${N} requests per round, ${CLIENTS} clients, ${over.replicas} replicas × ${over.sequences} sequences, ${values.tokens} tokens each`,
);
for (let r = 0; r < Number(values.rounds); r++) {
  // Alternate which goes first.
  const names = (r % 2 === 0 ? ['cache', 'least-busy'] : ['least-busy', 'cache']) as (keyof typeof pools)[];
  for (const name of names) {
    const before = tallies[name].ms.length;
    const t0 = performance.now();
    await round(pools[name], 1000 + r, tallies[name]);
    const ms = tallies[name].ms.slice(before);
    console.log(
      `round ${r} ${name.padEnd(10)} ${(performance.now() - t0).toFixed(0).padStart(6)} ms, p50 ${q(ms, 0.5).toFixed(1)} ms, p99 ${q(ms, 0.99).toFixed(1)} ms`,
    );
  }
}
const rows = Object.entries(tallies).map(([name, t]) => ({
  routing: name,
  p50Ms: +q(t.ms, 0.5).toFixed(1),
  p90Ms: +q(t.ms, 0.9).toFixed(1),
  p99Ms: +q(t.ms, 0.99).toFixed(1),
  ttftP50Ms: +q(t.ttft, 0.5).toFixed(1),
  cachedShare: +(t.cached / Math.max(1, t.prompt)).toFixed(3),
  n: t.ms.length,
}));
for (const r of rows)
  console.log(
    `${r.routing.padEnd(10)} p50 ${r.p50Ms} ms, p90 ${r.p90Ms}, p99 ${r.p99Ms}, first token p50 ${r.ttftP50Ms} ms, prompt tokens cached ${(100 * r.cachedShare).toFixed(1)}% (n ${r.n})`,
  );
const out = writeResult('replica-routing', 'e2e', { machine: machineLine(), args: values, rows });
if (out) console.log(`wrote ${out}`);
await Promise.all(Object.values(pools).map((p) => p.close()));
process.exit(0);
