/**
 * Long prompts kept in the KV cache past unrelated requests (src/engine/sequences.ts,
 * KEEP_MIN), in parts (3 and 4, `--only evict` and `--only fanout`, are described at their functions):
 *
 * 1. **Mixed traffic through a pool** (stories260K, the default engine settings: 8
 *    sequences, threads 1), one request at a time, 128 tokens each, in turn: a long
 *    prompt (~900 tokens, the same but for its last words each time, like a skill
 *    template or a system prompt), an unrelated short one, and (with `--fresh`) a long
 *    prompt never sent before (a new document: nothing can be cached for it). Per kind:
 *    the first token (the worker's prefill time) and the whole request, p50, and the
 *    estimator's error predicting it just before it ran, and the step's growth with
 *    context as the warm-up read it and as the traffic left it.
 * 2. **What an idle sequence's cache costs a stream beside it**, in-process on a
 *    node-llama-cpp context of 8 sequences: a lone greedy stream's step with another
 *    sequence empty and with it holding the long prompt, alternated.
 *
 *   npm run build && npx tsx bench/e2e/prefix-keep.ts [--pairs 12] [--fresh] [--rounds 4] [--flash off|on]
 *     [--only mixed|idle|evict|fanout] [--cycles 4] [--fanout 4] [--news] [--choices]
 *
 * (tsx, not run.mjs: the pool finds its worker in dist/ only from the TypeScript sources.)
 * To read the change against the build before, run the same script from a worktree of
 * that commit (its own dist/), alternating.
 */
import { parseArgs } from 'node:util';
import { getLlama } from 'node-llama-cpp';
import { DEFAULT_SAMPLING, type InferenceRequest } from '../../src/core/types';
import type { ModelPool } from '../../src/engine';
import { machineLine, writeResult } from '../lib';
import { DEFAULT_MODEL_PATH } from './colo-process';
import { defaultPool } from './default-pool';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: DEFAULT_MODEL_PATH },
    pairs: { type: 'string', default: '12' },
    rounds: { type: 'string', default: '4' },
    tokens: { type: 'string', default: '128' },
    flash: { type: 'string', default: 'off' },
    /** Add a never-seen long prompt to each turn of part 1. */
    fresh: { type: 'boolean', default: false },
    /** `mixed` (part 1), `idle` (part 2), both (the default), `evict` (part 3) or `fanout` (part 4). */
    only: { type: 'string', default: 'both' },
    /** Part 3's and part 4's cycles. */
    cycles: { type: 'string', default: '4' },
    /** Part 4: requests sharing the template sent at once. */
    fanout: { type: 'string', default: '4' },
    /** Part 4: they also share a news item nothing has cached, after the template. */
    news: { type: 'boolean', default: false },
    /** Part 4: each scores two choices (a decision) instead of generating. */
    choices: { type: 'boolean', default: false },
  },
});
const modelPath = values.model!;
const maxTokens = Number(values.tokens);
const longText = Array.from(
  { length: 40 },
  (_, i) => `The little dog number ${i} ran to the park and played.`,
).join(' ');
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const requestOf = (id: string, prompt: string, tokens: number, deadlineMs = 60_000): InferenceRequest => {
  const t0 = performance.now();
  return {
    id,
    model: 'm',
    prompt,
    sampling: { ...DEFAULT_SAMPLING, maxTokens: tokens, temperature: 0 },
    deadlineMs,
    deadlineAt: t0 + deadlineMs,
    receivedAt: t0,
    priority: 0,
    stream: true,
  };
};
/**
 * What admission predicts for a request alone, from the pool itself: with a 1 ms deadline
 * it refuses and says what it needed (the same reading of the prompt's cached share).
 */
const predictedMs = (pool: ModelPool, req: InferenceRequest) => pool.predict(req).needMs ?? NaN;
console.log(machineLine());

async function mixedTraffic() {
  const pool = await defaultPool('m', modelPath);
  const est = pool.estimator;
  const warmupGrowth = est.snapshot().stepGrowth;
  // The worker's own figures for the request just ended (prefill time and tokens evaluated).
  let last = { prefillMs: 0, prefillTokens: 0 };
  const observe = est.observe.bind(est);
  est.observe = (o) => {
    last = { prefillMs: o.prefillMs, prefillTokens: o.prefillTokens };
    observe(o);
  };
  const kinds = values.fresh ? (['long', 'short', 'fresh'] as const) : (['long', 'short'] as const);
  type Kind = (typeof kinds)[number];
  const by = {} as Record<Kind, { first: number[]; total: number[]; err: number[]; evaluated: number[] }>;
  for (const k of kinds) by[k] = { first: [], total: [], err: [], evaluated: [] };
  const promptOf = (kind: Kind, i: number) =>
    kind === 'long'
      ? `${longText} (${i})`
      : kind === 'short'
        ? `Once upon a time ${i}`
        : `Article ${i}. ${longText.split(' ').reverse().join(' ')}`;
  let n = 0;
  for (let i = 0; i < kinds.length * Number(values.pairs); i++) {
    const kind = kinds[i % kinds.length]!;
    const prompt = promptOf(kind, i);
    const predicted = predictedMs(pool, requestOf(`p${n}`, prompt, maxTokens, 1));
    const t0 = performance.now();
    await pool.complete(requestOf(`p${n++}`, prompt, maxTokens), null, new AbortController().signal);
    const ms = performance.now() - t0;
    if (i < kinds.length) continue; // the first of each kind has nothing to reuse
    by[kind].first.push(last.prefillMs);
    by[kind].total.push(ms);
    by[kind].err.push((predicted - ms) / ms);
    by[kind].evaluated.push(last.prefillTokens);
  }
  // The step's growth per token of context: the warm-up's reading and where traffic left it.
  const growth = { warmup: warmupGrowth, end: est.snapshot().stepGrowth };
  console.log(
    `step growth per token of context: warm-up ${growth.warmup.toFixed(5)}, after the traffic ${growth.end.toFixed(5)}`,
  );
  const out: Record<string, unknown> = { growth };
  for (const kind of kinds) {
    const b = by[kind];
    out[kind] = {
      firstMs: med(b.first),
      totalMs: med(b.total),
      predictionError: med(b.err),
      evaluated: med(b.evaluated),
    };
    console.log(
      `${kind.padEnd(5)} prompt: tokens evaluated p50 ${med(b.evaluated)}, first token p50 ${med(b.first).toFixed(1)} ms, request p50 ${med(b.total).toFixed(0)} ms, prediction error p50 ${(100 * med(b.err)).toFixed(0)}% (${b.total.length} requests)`,
    );
  }
  await pool.close();
  return out;
}

async function idleNeighbour() {
  const llama = await getLlama({ gpu: false });
  const model = await llama.loadModel({ modelPath });
  const ctx = await model.createContext({
    sequences: 8,
    contextSize: 2048,
    threads: 1,
    flashAttention: values.flash === 'on',
  });
  const idle = ctx.getSequence();
  const stream = ctx.getSequence();
  const long = model.tokenize(longText);
  const lone = async () => {
    await stream.clearHistory();
    let n = 0;
    let t1 = 0;
    for await (const _ of stream.evaluate(model.tokenize('Once upon a time'), { temperature: 0 })) {
      if (n === 0) t1 = performance.now();
      if (++n >= maxTokens) break;
    }
    return (performance.now() - t1) / (maxTokens - 1);
  };
  const empty: number[] = [];
  const held: number[] = [];
  for (let r = 0; r < Number(values.rounds); r++) {
    await idle.clearHistory();
    empty.push(await lone());
    const it = idle.evaluate(long, { temperature: 0 });
    await it.next();
    await it.return();
    held.push(await lone());
  }
  console.log(
    `lone stream step, flash ${values.flash}: idle neighbour empty p50 ${med(empty).toFixed(3)} ms (${empty.map((x) => x.toFixed(3)).join(', ')}), holding ${idle.nextTokenIndex} tokens p50 ${med(held).toFixed(3)} ms (${held.map((x) => x.toFixed(3)).join(', ')})`,
  );
  await ctx.dispose();
  await model.dispose();
  return { flash: values.flash, emptyMs: empty, heldMs: held, heldTokens: long.length };
}

/**
 * Part 3 (`--only evict`): admission's prediction, from the pool itself (`pool.predict`
 * with a 1 ms deadline, which refuses and says what it predicted alone), for the long
 * prompt (a) right after it ran, (b) after eight unrelated long documents have taken every
 * sequence and the least recently used (its) cache went, and (c) sent twice at once, when
 * only one sequence holds it. 32 tokens each, so the prefill is most of the time.
 */
async function evicted() {
  const pool = await defaultPool('m', modelPath);
  const tokens = 32;
  let n = 0;
  const predicted = (prompt: string) => predictedMs(pool, requestOf('predict', prompt, tokens, 1));
  const timed = async (prompt: string) => {
    const t0 = performance.now();
    await pool.complete(requestOf(`e${n++}`, prompt, tokens), null, new AbortController().signal);
    return performance.now() - t0;
  };
  const kinds = ['cached', 'evicted', 'pair'] as const;
  const err: Record<(typeof kinds)[number], number[]> = { cached: [], evicted: [], pair: [] };
  const ms: Record<(typeof kinds)[number], number[]> = { cached: [], evicted: [], pair: [] };
  const note = (k: (typeof kinds)[number], pred: number, took: number) => {
    err[k].push((pred - took) / took);
    ms[k].push(took);
  };
  const template = (i: number) => `${longText} (${i})`;
  const doc = (c: number, d: number) =>
    `${c * 8 + d}. ${longText
      .split(' ')
      .slice(0, 120)
      .map((w, j) => (j % 7 === d ? w.toUpperCase() : w))
      .join(' ')}`;
  await timed(template(-1));
  for (let c = 0; c < Number(values.cycles); c++) {
    const t1 = template(c * 10);
    const p1 = predicted(t1);
    note('cached', p1, await timed(t1));
    for (let d = 0; d < 8; d++) await timed(doc(c, d));
    const t2 = template(c * 10 + 1);
    const p2 = predicted(t2);
    note('evicted', p2, await timed(t2));
    // Two at once: each predicted just before it is sent, as admission would.
    const a = template(c * 10 + 2);
    const b = template(c * 10 + 3);
    const pa = predicted(a);
    const ra = timed(a);
    const pb = predicted(b);
    const rb = timed(b);
    note('pair', pa, await ra);
    note('pair', pb, await rb);
  }
  const out: Record<string, unknown> = {};
  for (const k of kinds) {
    out[k] = { ms: ms[k], error: err[k] };
    console.log(
      `${k.padEnd(7)}: request p50 ${med(ms[k]).toFixed(0)} ms, prediction error ${err[k].map((e) => `${(100 * e).toFixed(0)}%`).join(', ')}`,
    );
  }
  const { stepMs, pace, stepGrowth, prefillMsPerToken, prefillGrowth } = pool.estimator.snapshot();
  out['estimator'] = { stepMs1: stepMs[0], pace, stepGrowth, prefillMsPerToken, prefillGrowth };
  console.log(`estimator: ${JSON.stringify(out['estimator'])}`);
  await pool.close();
  return out;
}

/**
 * Part 4: one template run for several tickers at once (a skill fanned out over a news
 * item's tickers). The template is cached in one free sequence; `--fanout` requests that
 * share it, each with its own last words, are sent together. One takes the cached
 * sequence; before SequencePool.donorFor the others each evaluated the whole template
 * again, now they copy the running one's cache. With `--news` they also share a
 * paragraph nothing has cached (one news item for several tickers): the others wait for
 * the first to evaluate it, then copy. With `--choices` each request is a decision
 * (scores two answers) instead of a generation. Per cycle: each request's time and first
 * token, the prompt tokens it found cached (usage.cachedTokens, where the build reports
 * it) and the error of admission's prediction for it alone (`needMs`, taken just before
 * it was sent: the batch of four it runs in is not counted, so all read low; what it
 * shows is whether the prompt was predicted evaluated or copied).
 */
/** A ~250-token paragraph of its own per cycle. */
const newsText = (c: number) =>
  Array.from(
    { length: 20 },
    (_, i) => `The market ${c} moved ${i} points as the ${i % 2 ? 'cat' : 'dog'} watched.`,
  ).join(' ');

async function fanout() {
  const pool = await defaultPool('m', modelPath);
  const tokens = 32;
  const k = Number(values.fanout);
  let n = 0;
  const ms: number[] = [];
  const ttft: number[] = [];
  const err: number[] = [];
  let cached = 0;
  let prompt = 0;
  // --choices: each request scores two answers (POST /v1/decide) instead of generating.
  const choices = values.choices ? { choices: ['up', 'down'] } : {};
  const one = async (text: string) => {
    const pred = predictedMs(pool, { ...requestOf('predict', text, tokens, 1), ...choices });
    const t0 = performance.now();
    let first = 0;
    const r = await pool.complete(
      { ...requestOf(`f${n++}`, text, tokens), ...choices },
      { onToken: () => void (first ||= performance.now() - t0) },
      new AbortController().signal,
    );
    const took = performance.now() - t0;
    ms.push(took);
    ttft.push(first);
    err.push((pred - took) / took);
    cached += r.usage.cachedTokens ?? NaN;
    prompt += r.usage.promptTokens;
  };
  for (let c = 0; c < Number(values.cycles); c++) {
    // Each cycle's template differs from its first words on: nothing of it is cached.
    const template = `Cycle ${c}. ${longText}`;
    await pool.complete(requestOf(`w${c}`, `${template} warm`, 4), null, new AbortController().signal);
    // With --news the four also share a news item never sent before, after the template.
    const news = values.news ? ` News ${c}: ${newsText(c)}` : '';
    await Promise.all(Array.from({ length: k }, (_, i) => one(`${template}${news} Ticker ${i}`)));
  }
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))]!;
  const res = {
    requests: ms.length,
    p50Ms: +med(ms).toFixed(1),
    maxMs: +q(ms, 1).toFixed(1),
    ttftP50Ms: +med(ttft).toFixed(1),
    ttftMaxMs: +q(ttft, 1).toFixed(1),
    cachedShare: +(cached / prompt).toFixed(3),
    predictionError: err.map((e) => +(100 * e).toFixed(0)),
  };
  console.log(
    `fanout ${k}: request p50 ${res.p50Ms} ms, max ${res.maxMs} ms; first token p50 ${res.ttftP50Ms} ms, max ${res.ttftMaxMs} ms; prompt tokens cached ${(100 * res.cachedShare).toFixed(1)}%; error of the prediction alone (needMs: no batch counted) ${res.predictionError.map((e) => `${e}%`).join(', ')}`,
  );
  await pool.close();
  return res;
}

const only = values.only;
const mixed = only === 'both' || only === 'mixed' ? await mixedTraffic() : undefined;
const idleRes = only === 'both' || only === 'idle' ? await idleNeighbour() : undefined;
const evict = only === 'evict' ? await evicted() : undefined;
const fan = only === 'fanout' ? await fanout() : undefined;
const out = writeResult('prefix-keep', 'e2e', { maxTokens, mixed, idle: idleRes, evict, fanout: fan });
if (out) console.log(`wrote ${out}`);
process.exit(0);
