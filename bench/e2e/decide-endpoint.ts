/**
 * /v1/decide against generating, in one run: the same prompt and the same closed set of
 * answers, over HTTP to a real Colo child process (dist/cli.js) on stories260K,
 * interleaved request by request so the box's load hits all three alike:
 *   - decide:     POST /v1/decide with the choices (nothing generated);
 *   - gen-1tok:   POST /v1/completions, max_tokens 1, temperature 0 (the floor: one
 *                 prompt evaluation and one sampled token);
 *   - gen-answer: POST /v1/completions, temperature 0, max_tokens = the longest choice's
 *                 word count + 1 (what a caller that generates and parses must pay, and it
 *                 can still answer off the list).
 * Checks first: probabilities sum to 1 and decide's choice matches the greedy token.
 *
 *   node bench/lib/run.mjs bench/e2e/decide-endpoint.ts [--count 400] [--warmup 50] [--flash auto|on|off]
 */
import { parseArgs } from 'node:util';
import { jsonPoster, machineEndLine, writeResult } from '../lib';
import { DEFAULT_MODEL_PATH, startColoProcess } from './colo-process';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '400' },
    warmup: { type: 'string', default: '50' },
    model: { type: 'string', default: DEFAULT_MODEL_PATH },
    /** The model's flashAttention: auto (the default: measured at load), on or off. */
    flash: { type: 'string', default: 'auto' },
  },
});
const COUNT = Number(values.count);
const WARMUP = Number(values.warmup);
const PROMPT = 'Tom looked at the sky. The weather today is very nice, and the sun is shining. Tom felt';
const SETS: Record<string, string[]> = {
  // Single tokens in stories260K's 512-token vocabulary: the prompt's evaluation scores them all.
  '3 one-token': ['the', 'a', 'so'],
  '3 one-word': ['happy', 'sad', 'scared'],
  '8 multi-word': [
    'very happy',
    'very sad',
    'happy and excited',
    'sad and lonely',
    'scared',
    'tired',
    'a little bit cold',
    'so proud of himself',
  ],
};

const colo = await startColoProcess({
  engine: {
    models: [
      {
        name: 'tiny',
        source: values.model,
        sequences: 1,
        threads: 1,
        contextSize: 512,
        flashAttention: values.flash === 'on' ? true : values.flash === 'off' ? false : 'auto',
      },
    ],
  },
  audit: { fsync: 'never' },
  // Deterministic generations would be answered from the response cache after the first.
  cache: { enabled: false },
});
const post = jsonPoster(`http://127.0.0.1:${colo.port}`);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

const out: Record<string, Record<string, { p50_us: number; p99_us: number; mean_us: number }>> = {};
try {
  for (const [label, choices] of Object.entries(SETS)) {
    const d = await post('/v1/decide', { model: 'tiny', prompt: PROMPT, choices });
    const sum = Object.values(d.probabilities as Record<string, number>).reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > 1e-9) throw new Error(`probabilities sum to ${sum}`);
    // What a generate-then-parse caller must allow: at least one token per word, plus one
    // to see the answer end.
    const maxAnswerTokens = Math.max(...choices.map((c) => c.split(' ').length)) + 1;
    const scenarios: Record<string, () => Promise<unknown>> = {
      decide: () => post('/v1/decide', { model: 'tiny', prompt: PROMPT, choices }),
      'gen-1tok': () =>
        post('/v1/completions', { model: 'tiny', prompt: PROMPT, max_tokens: 1, temperature: 0 }),
      'gen-answer': () =>
        post('/v1/completions', {
          model: 'tiny',
          prompt: PROMPT,
          max_tokens: maxAnswerTokens,
          temperature: 0,
        }),
    };
    const gen = await post('/v1/completions', {
      model: 'tiny',
      prompt: PROMPT,
      max_tokens: 1,
      temperature: 0,
    });
    const evaluated = d.usage.prompt_tokens - gen.usage.prompt_tokens;
    console.log(
      `[${label}] ${evaluated} choice tokens evaluated beyond the prompt; decide → ${d.choice} (p=${d.probabilities[d.choice].toFixed(3)}), greedy token "${gen.choices[0].text}", answer budget ${maxAnswerTokens} tokens`,
    );
    const times: Record<string, number[]> = { decide: [], 'gen-1tok': [], 'gen-answer': [] };
    for (let i = 0; i < WARMUP + COUNT; i++)
      for (const [name, run] of Object.entries(scenarios)) {
        const t0 = performance.now();
        await run();
        if (i >= WARMUP) times[name]!.push((performance.now() - t0) * 1000);
      }
    out[label] = {};
    for (const [name, xs] of Object.entries(times)) {
      const r = {
        p50_us: Math.round(pct(xs, 50)),
        p99_us: Math.round(pct(xs, 99)),
        mean_us: Math.round(xs.reduce((a, b) => a + b, 0) / xs.length),
      };
      out[label][name] = r;
      console.log(`  ${name.padEnd(11)} p50 ${r.p50_us} µs  p99 ${r.p99_us} µs  mean ${r.mean_us} µs`);
    }
  }
} finally {
  await colo.stop();
}
console.log(machineEndLine());
writeResult('decide-endpoint', 'e2e', { count: COUNT, results: out });
