/**
 * Fan-out against one request per ticker, in one run: one news item against N tickers,
 * over HTTP to a real Colo child process (dist/cli.js) on stories260K, rounds
 * interleaved so the box's load hits every scenario alike. Each round uses a fresh news
 * item (its first words change), so no scenario is served from a KV prefix a previous
 * round left behind:
 *   - fanout:     one POST /v1/decide with `tickers` (N) — the news evaluated once;
 *   - sequential: N POST /v1/decide, one ticker each, one after the other (after the
 *                 first, the sequence's KV cache holds the news: only the HTTP, pipeline
 *                 and dispatch cost repeats);
 *   - concurrent: N POST /v1/decide, one ticker each, all at once (what an engine that
 *                 wants N answers fast would send: each busy sequence evaluates the news).
 * The same for the sentiment skill at one N (fan-out vs N concurrent one-ticker calls).
 * Checks first: every scenario gives each ticker the same choice, and the fan-out's
 * prompt_tokens is below the separate requests' total.
 *
 *   node bench/lib/run.mjs bench/e2e/decide-fanout.ts [--rounds 40] [--warmup 5] [--tickers 4,16,64]
 */
import { parseArgs } from 'node:util';
import { jsonPoster, machineEndLine, writeResult, type Json } from '../lib';
import { DEFAULT_MODEL_PATH, startColoProcess } from './colo-process';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '40' },
    warmup: { type: 'string', default: '5' },
    tickers: { type: 'string', default: '4,16,64' },
    'skill-tickers': { type: 'string', default: '16' },
    sequences: { type: 'string', default: '4' },
    model: { type: 'string', default: DEFAULT_MODEL_PATH },
  },
});
const ROUNDS = Number(values.rounds);
const WARMUP = Number(values.warmup);
const NS = values.tickers.split(',').map(Number);
const SKILL_N = Number(values['skill-tickers']);
const SEQUENCES = Number(values.sequences);
const CHOICES = ['up', 'down', 'flat'];
const WORDS = ['Today', 'Yesterday', 'This morning', 'On Monday', 'Last week', 'At noon', 'Tonight'];
/** A news item of about 60 tokens; `i` changes its first words so every round starts cold. */
const news = (i: number) =>
  `${WORDS[i % WORDS.length]} ${i}, the big toy company said that it sold many more toys to the children in the town than last year, and everyone was happy. The company said its shares will go`;
const tickersOf = (n: number) => Array.from({ length: n }, (_, i) => `TK${i}`);

const colo = await startColoProcess({
  engine: {
    models: [
      {
        name: 'tiny',
        source: values.model,
        sequences: SEQUENCES,
        threads: 1,
        contextSize: 512,
        maxQueue: 256,
      },
    ],
  },
  audit: { fsync: 'never' },
  cache: { enabled: false },
  server: { defaultDeadlineMs: 120_000 },
  skills: { defaultDeadlineMs: 120_000 },
});
const post = jsonPoster(`http://127.0.0.1:${colo.port}`);
const decide = (prompt: string, tickers: string[]) =>
  post('/v1/decide', { model: 'tiny', prompt, choices: CHOICES, tickers });
const sentiment = (input: string, tickers: string[]) =>
  post('/v1/skills/sentiment', { model: 'tiny', input, tickers, mode: 'llm' });

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const summary = (xs: number[]) => ({
  p50_ms: +pct(xs, 50).toFixed(2),
  p99_ms: +pct(xs, 99).toFixed(2),
  mean_ms: +(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2),
});

type Scenario = (i: number) => Promise<Json[]>;
function scenarios(n: number, one: typeof decide): Record<string, Scenario> {
  const ts = tickersOf(n);
  return {
    fanout: async (i) => [await one(news(i), ts)],
    sequential: async (i) => {
      const out: Json[] = [];
      for (const t of ts) out.push(await one(news(i), [t]));
      return out;
    },
    concurrent: (i) => Promise.all(ts.map((t) => one(news(i), [t]))),
  };
}

/** Same answer per ticker whichever way it was asked; returns prompt tokens per scenario. */
async function check(
  label: string,
  n: number,
  s: Record<string, Scenario>,
  answers: (r: Json[]) => string[],
) {
  const tokens: Record<string, number> = {};
  let ref: string[] | undefined;
  for (const [name, run] of Object.entries(s)) {
    const r = await run(1_000_000 + n);
    const a = answers(r);
    if (a.length !== n) throw new Error(`${label} ${name}: ${a.length} answers for ${n} tickers`);
    if (ref && a.join() !== ref.join()) throw new Error(`${label} ${name}: answers differ: ${a} vs ${ref}`);
    ref = a;
    tokens[name] = r.reduce((x, y) => x + (y.usage.prompt_tokens as number), 0);
  }
  if (!(tokens.fanout! < tokens.sequential!)) throw new Error(`${label}: fan-out charged ${tokens.fanout}`);
  return tokens;
}

const out: Record<string, Record<string, unknown>> = {};
async function measure(
  label: string,
  n: number,
  s: Record<string, Scenario>,
  answers: (r: Json[]) => string[],
) {
  const tokens = await check(label, n, s, answers);
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(s).map((k) => [k, []]));
  for (let i = 0; i < WARMUP + ROUNDS; i++)
    for (const [name, run] of Object.entries(s)) {
      const t0 = performance.now();
      await run(i);
      if (i >= WARMUP) times[name]!.push(performance.now() - t0);
    }
  const row: Record<string, unknown> = { tickers: n, prompt_tokens: tokens };
  console.log(`[${label}, ${n} tickers] prompt tokens charged: ${JSON.stringify(tokens)}`);
  for (const [name, xs] of Object.entries(times)) {
    row[name] = summary(xs);
    const r = row[name] as ReturnType<typeof summary>;
    console.log(`  ${name.padEnd(10)} p50 ${r.p50_ms} ms  p99 ${r.p99_ms} ms  mean ${r.mean_ms} ms`);
  }
  out[`${label} ${n}`] = row;
}

try {
  const decisions = (r: Json[]) =>
    r.flatMap((x) => (x.decisions as Json[]).map((d) => `${d.ticker}:${d.choice}`));
  for (const n of NS) await measure('decide', n, scenarios(n, decide), decisions);
  const signals = (r: Json[]) => r.flatMap((x) => (x.signals as Json[]).map((s) => `${s.ticker}:${s.label}`));
  if (SKILL_N > 0) await measure('sentiment', SKILL_N, scenarios(SKILL_N, sentiment), signals);
} finally {
  await colo.stop();
}
console.log(machineEndLine());
writeResult('decide-fanout', 'e2e', { rounds: ROUNDS, sequences: SEQUENCES, results: out });
