/**
 * Soak for shared starts: skill-shaped fan-out traffic on one default pool for minutes,
 * with cancels and tight deadlines at every stage, then checks that nothing leaked and
 * nothing was corrupted. It drives the paths that copy a running request's KV cache and
 * wait for another request's prompt evaluation (src/engine/sequences.ts `donorFor`,
 * `copyStart`; generate.ts `awaitDonor`), which test/model/engine.test.ts covers in 3
 * rounds and this runs in thousands.
 *
 * Traffic, in groups sent together: one of 4 templates (~300 tokens), a news item (new,
 * or one of the last few again), then 2–5 requests with their own ticker, 8–32 tokens
 * each, generations or (one group in four) decisions over 3 choices. Per request, at
 * random: run to the end; cancel at once, after 0–20 ms, or on its first token; or a
 * deadline of 20–200 ms. Groups overlap (`--concurrency` loops).
 *
 * At the end, once idle: every sequence is free (the worker's own count), nothing is in
 * flight or queued, and a reference prompt generates, greedy, the text it generated at
 * the start. Exits non-zero when any check fails or an outcome is not one of ok,
 * CANCELLED, DEADLINE, OVERLOADED.
 *
 *   npm run build && npx tsx bench/e2e/fanout-soak.ts [--minutes 3] [--concurrency 3] [--sequences 8]
 *
 * (tsx, not run.mjs: the pool finds its worker in dist/ only from the TypeScript sources.)
 */
import { parseArgs } from 'node:util';
import { DEFAULT_SAMPLING, type InferenceRequest } from '../../src/core/types';
import { mulberry32 } from '../../src/classifier/prng';
import { machineLine, writeResult } from '../lib';
import { DEFAULT_MODEL_PATH } from './colo-process';
import { defaultPool } from './default-pool';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: DEFAULT_MODEL_PATH },
    minutes: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '3' },
    sequences: { type: 'string', default: '8' },
    seed: { type: 'string', default: '7' },
  },
});
const SEQUENCES = Number(values.sequences);
const pool = await defaultPool('soak', values.model!, { sequences: SEQUENCES });
const rand = mulberry32(Number(values.seed));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

const sentence = (topic: string, i: number) =>
  `The ${topic} number ${i} moved after the report, and the desk wrote it down with care.`;
const TEMPLATES = ['bank', 'miner', 'airline', 'retailer'].map(
  (t) =>
    `You read market news for a trading desk. Topic: ${t}. ` +
    Array.from({ length: 14 }, (_, i) => sentence(t, i)).join(' '),
);
const TICKERS = ['AAPL', 'MSFT', 'NVDA', 'JPM', 'XOM', 'BA', 'WMT', 'GS', 'TSLA', 'AMZN'];
const recentNews: string[] = [];
let newsSeq = 0;
function news(): string {
  if (recentNews.length > 0 && rand() < 0.4) return pick(recentNews);
  const n = newsSeq++;
  const item = Array.from(
    { length: 4 },
    (_, i) => `Item ${n}: the firm said ${i} more things about ${n}.`,
  ).join(' ');
  recentNews.push(item);
  if (recentNews.length > 6) recentNews.shift();
  return item;
}

let id = 0;
function request(
  prompt: string,
  maxTokens: number,
  deadlineMs: number,
  choices?: string[],
): InferenceRequest {
  const receivedAt = performance.now();
  return {
    id: `f${id++}`,
    model: 'soak',
    prompt,
    sampling: { ...DEFAULT_SAMPLING, maxTokens, temperature: 0 },
    deadlineMs,
    deadlineAt: receivedAt + deadlineMs,
    receivedAt,
    priority: 0,
    stream: true,
    choices,
  };
}

const outcomes: Record<string, number> = {};
const unexpected: string[] = [];
const count = (k: string) => (outcomes[k] = (outcomes[k] ?? 0) + 1);
let cachedTokens = 0;
let promptTokens = 0;

async function one(prompt: string, decision: boolean): Promise<void> {
  const r = rand();
  const ac = new AbortController();
  let deadlineMs = 10_000;
  let onFirst = false;
  if (r < 0.15) queueMicrotask(() => ac.abort());
  else if (r < 0.3) setTimeout(() => ac.abort(), between(0, 20));
  else if (r < 0.45) onFirst = true;
  else if (r < 0.6) deadlineMs = between(20, 200);
  const req = request(
    prompt,
    between(8, 32),
    deadlineMs,
    decision ? ['The news is good.', 'The news is bad.', 'The news is mixed.'] : undefined,
  );
  try {
    const res = await pool.complete(req, onFirst ? { onToken: () => ac.abort() } : null, ac.signal);
    count('ok');
    cachedTokens += res.usage.cachedTokens ?? 0;
    promptTokens += res.usage.promptTokens;
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'no code';
    count(code);
    if (!['CANCELLED', 'DEADLINE', 'OVERLOADED'].includes(code)) unexpected.push(`${code}: ${String(e)}`);
  }
}

async function group(): Promise<void> {
  const start = `${pick(TEMPLATES)}\n${news()}\n`;
  const decision = rand() < 0.25;
  const tickers = [...TICKERS].sort(() => rand() - 0.5).slice(0, between(2, 5));
  await Promise.all(tickers.map((t) => one(`${start}Ticker: ${t}. Answer:`, decision)));
}

const reference = request(`${TEMPLATES[0]}\nTicker: REF. Answer:`, 24, 60_000);
const refBefore = (await pool.complete(reference, null, new AbortController().signal)).text;

console.log(machineLine());
console.log(
  `fan-out soak: ${values.minutes} min, ${values.concurrency} loops, ${SEQUENCES} sequences, seed ${values.seed}`,
);
const endAt = performance.now() + Number(values.minutes) * 60_000;
let groups = 0;
const rss: number[] = [];
const sampler = setInterval(() => rss.push(Math.round(process.memoryUsage().rss / 2 ** 20)), 10_000);
await Promise.all(
  Array.from({ length: Number(values.concurrency) }, async () => {
    while (performance.now() < endAt) {
      await group();
      groups++;
    }
  }),
);
clearInterval(sampler);

// Idle: nothing of ours runs now; let the worker hand back what it holds.
await new Promise((r) => setTimeout(r, 200));
const info = await pool.workerInfo();
const refAfter = (
  await pool.complete({ ...reference, id: 'ref-after', ...fresh() }, null, new AbortController().signal)
).text;
function fresh() {
  const receivedAt = performance.now();
  return { receivedAt, deadlineAt: receivedAt + 60_000 };
}
const checks = {
  sequencesFree: info.sequencesFree === SEQUENCES,
  inFlight: pool.inFlight === 0,
  queued: pool.queued === 0,
  sameReferenceText: refAfter === refBefore,
  onlyExpectedOutcomes: unexpected.length === 0,
};
console.log(`${groups} groups, ${id - 1} requests:`, JSON.stringify(outcomes));
console.log(
  `prompt tokens cached (completed requests): ${((100 * cachedTokens) / Math.max(1, promptTokens)).toFixed(1)}%`,
);
console.log(`main process RSS MB every 10 s: ${rss.join(', ')}`);
console.log(
  `after: sequences free ${info.sequencesFree}/${SEQUENCES}, in flight ${pool.inFlight}, queued ${pool.queued}, reference text ${refAfter === refBefore ? 'unchanged' : `CHANGED: ${JSON.stringify(refBefore)} -> ${JSON.stringify(refAfter)}`}`,
);
for (const u of unexpected.slice(0, 10)) console.log(`unexpected: ${u}`);
const ok = Object.values(checks).every(Boolean);
console.log(ok ? 'PASS' : `FAIL: ${JSON.stringify(checks)}`);
const out = writeResult('fanout-soak', 'e2e', { groups, outcomes, checks, rss, cachedTokens, promptTokens });
if (out) console.log(`wrote ${out}`);
process.exit(ok ? 0 : 1);
