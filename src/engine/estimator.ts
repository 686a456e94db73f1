/**
 * What admission predicts with: per model, learnt online from what workers measure.
 *
 * - `overheadMs`: from dispatch to the start of evaluation (hops, tokenizing), EWMA.
 * - `firstStep` + `prefillMsPerToken`: time to the first token is a fixed first step
 *   plus a share per prompt token evaluated (learnt from prompts of 32+ tokens only).
 *   A token's share grows with its position (attention over the tokens before it), by
 *   `prefillGrowth` per token, fitted like the step's growth below (a line through each
 *   prefill's ms per token against its mean position) once the prompts seen spread: on
 *   stories260K a ~285-token prefill took 0.30 ms a token and a ~915-token one 0.49, and
 *   one rate for both predicted the long one 23–30% short.
 * - `stepMs[b]`: the decode step time one stream sees while b sequences decode
 *   together (b = 1..slots), one EWMA per batch size. Until a size has been observed it
 *   is interpolated (linearly in b) between the nearest observed (or warm-up measured)
 *   sizes, so the table starts from the worker's warm-up (src/engine/load.ts measures
 *   b = 1, 2 and all) and sharpens as traffic runs at each size. The worker times every
 *   step and says how many generations ran when it came back (DecodeStats.steps), so
 *   each entry learns from its own steps. (It used to learn a generation's mean step at
 *   its mean batch, rounded: a request that ran half alone and half beside another taught
 *   b = 1 or 2 a blend of both.)
 * - `pace`: the table is a shape times the box's current speed. On the 2-vCPU dev box
 *   lone steps ran 0.70–0.83 ms under 40 requests/s and 0.55–0.65 ms a minute later, and
 *   an entry not sampled since kept the busy figure. A surprise moves the pace first
 *   (every size runs on the same box), then, at SHAPE_RATE of that, the size's entry.
 *
 * - `tokensPerChar`: prompt length in tokens per character, learnt from the worker's
 *   exact counts.
 * - The share of a prompt evaluated (the rest is reused from a sequence's KV cache: skill
 *   templates and system prompts repeat) is the caller's: the pool reads it from what the
 *   workers' sequences hold now (src/engine/cache-mirror.ts). `evalShare`, the share over
 *   all prompts seen, is used only by callers that give none (benches).
 * - `grammarFactor`: how much slower a step is under a JSON-schema grammar (skills)
 *   than the plain step at the same batch size, EWMA of observed / `stepMs[b]` (at least
 *   1). Grammar-constrained generations teach only this, not the plain step table:
 *   before it, a skill's first prediction used the plain step (admitted, then missed
 *   its deadline) and its samples slowed every plain prediction.
 *
 * - `stepGrowth`: a decode step gets slower as the context a stream attends over grows
 *   (attention reads every KV cell). The table above holds steps at context 0, and a step
 *   with `ctx` tokens of context is `stepMs[b] × (1 + stepGrowth × ctx)`; each batch
 *   size's steps are normalised by their own mean context before they enter the table.
 *   Before it, the table learnt from short requests predicted long ones ~25% fast (a
 *   burst of 200-token requests admitted two that then missed their 300 ms deadline).
 *   The warm-up's figure (one stream after a short and after a long prompt) is only a
 *   start: a 64-token run's step varies ±30% on a shared 2-vCPU box, and four launches
 *   read 0, 0.00008, 0.0006 and 0.0009 per token where traffic said 0.0010–0.0013 in
 *   each. Traffic then teaches it: once the steps seen span enough contexts
 *   (GROWTH_MIN_SPREAD), a least-squares line through each generation's mean step
 *   (brought to b = 1 by the table's shape) against its mean context, over the last
 *   ~GROWTH_MEMORY generations. The pace is rescaled with it so the prediction at the
 *   mean context seen stays where it was. With the warm-up's 0, short requests were
 *   predicted 50–55% slow and long ones 8–12% fast in the same mix (bench/e2e/prefix-keep.ts).
 *
 * A request's service time at batch size b is then
 *   overhead + firstStep + prefill × promptTokens × evalShare(family)
 *     + (maxTokens - 1) × pace × stepMs[b] × (1 + stepGrowth × (promptTokens + maxTokens / 2)).
 * Every sample is clamped to a quarter..4× of the current estimate before it enters an
 * EWMA: one stall on a shared machine must not make the model refuse everything (a
 * model that refuses everything learns nothing more).
 * maxTokens is the bound, not a guess of where the model stops: admitting on it never
 * admits what cannot finish.
 */
export interface Rates {
  prefillMsPerToken: number;
  /** Decode step, one stream, at context 0 (see stepGrowth). */
  stepMs1: number;
  /** Decode step with every sequence busy, at context 0. */
  stepMsFull: number;
  /** Decode step with two sequences busy, at context 0 (measured when slots > 2). */
  stepMs2?: number | undefined;
  /** Step time grows by this fraction per token of context (0: not measured). */
  stepGrowth?: number | undefined;
  /** A prompt token's prefill grows by this fraction per token before it (0: not measured). */
  prefillGrowth?: number | undefined;
}

/** Used only until the warm-up figures arrive (a model without warm-up). */
const COLD: Rates = { prefillMsPerToken: 0.5, stepMs1: 2, stepMsFull: 4 };

/** Prompts at least this long teach the per-token prefill rate; shorter ones the first step. */
const LONG_PREFILL = 32;

/** Steps at one batch size that count as a whole sample; fewer teach proportionally less. */
const FULL_SAMPLE_STEPS = 32;

/**
 * The table's entries learn at this share of the pace's rate: a surprise is first taken
 * as the box's speed (which changes from minute to minute), then slowly as the shape of
 * the table (the model's batching curve, which does not).
 */
const SHAPE_RATE = 0.5;

/** The pace stays within [1/PACE_MAX, PACE_MAX] of the warm-up's table. */
const PACE_MAX = 8;

/** Generations (of FULL_SAMPLE_STEPS steps or more) the growth's line remembers, about. */
const GROWTH_MEMORY = 64;

/**
 * The growth is fitted only once the contexts seen spread this far (their standard
 * deviation, in tokens): requests that all attend over about the same context say nothing
 * about the slope (and the pace alone predicts them right).
 */
const GROWTH_MIN_SPREAD = 64;

/** Whole samples the line needs before it replaces the warm-up's figure. */
const GROWTH_MIN_SAMPLES = 8;

/** The growth stays within [0, GROWTH_MAX] per token (a step 21× slower at 1,000 tokens). */
const GROWTH_MAX = 0.02;

/**
 * A least-squares line y = at0 + slope · x through weighted samples, the older ones
 * decayed (a whole sample's weight halves after ~0.7 × GROWTH_MEMORY more): how a cost
 * grows with the context it runs at, read as a growth per token (slope / at0, within
 * [0, GROWTH_MAX]). It answers only once the samples weigh GROWTH_MIN_SAMPLES and their x
 * spread GROWTH_MIN_SPREAD (a standard deviation): costs all measured at about one x say
 * nothing about the slope.
 */
class Line {
  private w = 0;
  private sx = 0;
  private sy = 0;
  private sxx = 0;
  private sxy = 0;

  /**
   * Adds a sample `y` at `x`, clamped first to [½, 2×] of what is `predicted` there (a
   * stall on a shared box only adds time); the growth of the line through all of them and
   * their mean x, when they say enough.
   */
  add(
    x: number,
    y: number,
    weight: number,
    predicted: number,
  ): { growth: number; meanX: number } | undefined {
    if (!(weight > 0)) return undefined;
    y = Math.min(2 * predicted, Math.max(predicted / 2, y));
    const keep = 1 - weight / GROWTH_MEMORY;
    this.w = this.w * keep + weight;
    this.sx = this.sx * keep + weight * x;
    this.sy = this.sy * keep + weight * y;
    this.sxx = this.sxx * keep + weight * x * x;
    this.sxy = this.sxy * keep + weight * x * y;
    if (this.w < GROWTH_MIN_SAMPLES) return undefined;
    const meanX = this.sx / this.w;
    const meanY = this.sy / this.w;
    const vx = this.sxx / this.w - meanX * meanX;
    if (vx < GROWTH_MIN_SPREAD * GROWTH_MIN_SPREAD) return undefined;
    const slope = (this.sxy / this.w - meanX * meanY) / vx;
    const at0 = meanY - slope * meanX;
    if (!(at0 > 0)) return undefined;
    return { growth: Math.min(GROWTH_MAX, Math.max(0, slope / at0)), meanX };
  }

  reset(): void {
    this.w = this.sx = this.sy = this.sxx = this.sxy = 0;
  }
}

/** One EWMA step with the sample clamped to [x/4, 4x]: a stall on a shared box must not poison the estimate. */
function ewma(x: number, sample: number, a: number): number {
  const s = x > 0 ? Math.min(4 * x, Math.max(x / 4, sample)) : sample;
  return x + a * (s - x);
}

export class ServiceEstimator {
  private overhead = 1;
  private prefill: number;
  /** Fixed cost of the first token beyond the per-token prefill (one decode step, waiting for the batch). */
  private firstStep: number;
  /** Prompt tokens per character of prompt text, learnt from the worker's exact counts. */
  private tokensPerChar = 1 / 3;
  /** Share of prompt tokens actually evaluated (the rest is reused from a sequence's KV cache), all prompts. */
  private evalShare = 1;
  /** Step time under a JSON-schema grammar over the plain step time (≥ 1). */
  private grammarFactor = 1;
  /** A step's growth per token of context the stream attends over (≥ 0). */
  private growth = 0;
  /** The growth's line: a generation's mean step at b = 1's scale against its mean context. */
  private readonly stepLine = new Line();
  /** A prompt token's prefill grows with its position too (attention over the tokens before it). */
  private prefillGrowth = 0;
  /** The prefill's line: ms per prompt token evaluated against the mean position. */
  private readonly prefillLine = new Line();
  /** Index b (1..slots): EWMA step time at pace 1; `seen[b]` marks sizes observed or measured. */
  private readonly step: number[];
  /** The box's current speed over the table's: every step is `pace × step[b]` (see observe). */
  private pace = 1;
  private readonly seen: boolean[];
  private samples = 0;

  constructor(
    readonly slots: number,
    rates: Rates = COLD,
    private readonly alpha = 0.2,
  ) {
    this.prefill = rates.prefillMsPerToken;
    this.firstStep = rates.stepMs1;
    this.step = new Array<number>(slots + 1).fill(0);
    this.seen = new Array<boolean>(slots + 1).fill(false);
    this.setMeasured(rates);
  }

  /** Replaces the table's anchors with warm-up figures (b = 1, 2 and slots). */
  setMeasured(r: Rates): void {
    this.prefill = r.prefillMsPerToken;
    this.firstStep = r.stepMs1;
    this.growth = Math.min(GROWTH_MAX, Math.max(0, r.stepGrowth ?? 0));
    this.stepLine.reset();
    this.prefillLine.reset();
    this.prefillGrowth = Math.min(GROWTH_MAX, Math.max(0, r.prefillGrowth ?? 0));
    this.pace = 1;
    this.step[1] = r.stepMs1;
    this.seen[1] = true;
    if (this.slots > 1) {
      this.step[this.slots] = Math.max(r.stepMsFull, r.stepMs1);
      this.seen[this.slots] = true;
    }
    if (this.slots > 2 && r.stepMs2 !== undefined) {
      this.step[2] = Math.min(Math.max(r.stepMs2, r.stepMs1), this.step[this.slots]!);
      this.seen[2] = true;
    }
  }

  /** One finished generation, as the worker measured it. */
  observe(o: {
    /** Prompt text length and the worker's exact token count for it (0: unknown). */
    promptChars?: number;
    promptTokens?: number;
    overheadMs: number;
    prefillTokens: number;
    prefillMs: number;
    /**
     * Its decode steps by batch size (DecodeStats.steps): for each size b, four numbers:
     * b, the steps, their ms, their contexts summed.
     */
    steps: readonly number[];
    /** Decoded under a JSON-schema grammar. */
    grammar?: boolean | undefined;
  }): void {
    const a = this.samples < 5 ? 0.5 : this.alpha;
    this.samples++;
    if (o.overheadMs >= 0) this.overhead = ewma(this.overhead, o.overheadMs, a);
    if (o.promptChars && o.promptTokens) {
      this.tokensPerChar += a * (o.promptTokens / o.promptChars - this.tokensPerChar);
      this.evalShare += a * (Math.min(1, o.prefillTokens / o.promptTokens) - this.evalShare);
    }
    // A prefill pass costs a fixed first step plus a share per token. Short prompts
    // (prefix reuse leaves one token) say nothing about the per-token share.
    const start = Math.max(0, (o.promptTokens ?? 0) - o.prefillTokens);
    if (o.prefillTokens >= LONG_PREFILL && o.prefillMs > 0)
      this.learnPrefill(o.prefillTokens, start, Math.max(0, o.prefillMs - this.firstStep), a);
    else if (o.prefillTokens > 0 && o.prefillMs > 0)
      this.firstStep = ewma(
        this.firstStep,
        Math.max(0, o.prefillMs - this.prefillMs(o.prefillTokens, start)),
        a,
      );

    const s = o.steps;
    if (o.grammar) {
      // Observed over predicted for the same steps: the factor, whatever the batches were.
      let ms = 0;
      let plain = 0;
      for (let i = 0; i + 3 < s.length; i += 4) {
        ms += s[i + 2]!;
        plain += s[i + 1]! * this.stepMs(s[i]!, false, s[i + 3]! / s[i + 1]!);
      }
      if (plain > 0) this.grammarFactor = Math.max(1, ewma(this.grammarFactor, ms / plain, a));
      return;
    }
    // Each batch size's steps teach its own entry, brought back to context 0 at their
    // mean context; a few steps at a size (a stream joining or leaving) teach a little.
    // The error is shared: the pace moves first (every size runs on the same box), then
    // the entry takes part of what is left (the shape of the table).
    for (let i = 0; i + 3 < s.length; i += 4) {
      const n = s[i + 1]!;
      if (n <= 0) continue;
      const b = Math.min(this.slots, Math.max(1, Math.round(s[i]!)));
      const ctx = s[i + 3]! / n;
      const w = a * Math.min(1, n / FULL_SAMPLE_STEPS);
      if (!this.seen[b]) {
        this.step[b] = this.tableMs(b);
        this.seen[b] = true;
      }
      this.learnGrowth(
        ctx,
        ((s[i + 2]! / n) * this.tableMs(1)) / this.tableMs(b),
        Math.min(1, n / FULL_SAMPLE_STEPS),
      );
      const ms = s[i + 2]! / n / (1 + this.growth * ctx);
      this.pace = Math.min(
        PACE_MAX,
        Math.max(1 / PACE_MAX, ewma(this.pace, (this.pace * ms) / this.plainStepMs(b), w)),
      );
      this.step[b] = ewma(this.step[b]!, ms / this.pace, w * SHAPE_RATE);
    }
  }

  /**
   * One generation's mean step `y` (at b = 1's scale) at mean context `x`, of weight `w`
   * (1: a whole sample): into the growth's line, and the growth from it once the contexts
   * seen spread enough. The pace is rescaled so the step at the line's mean context is
   * predicted as before: the line moves the slope, not the level.
   */
  private learnGrowth(x: number, y: number, w: number): void {
    const fit = this.stepLine.add(x, y, w, this.pace * this.tableMs(1) * (1 + this.growth * x));
    if (!fit) return;
    const g = fit.growth;
    const pace = (this.pace * (1 + this.growth * fit.meanX)) / (1 + g * fit.meanX);
    this.pace = Math.min(PACE_MAX, Math.max(1 / PACE_MAX, pace));
    this.growth = g;
  }

  /**
   * One prefill of `n` tokens after `start` cached ones, `ms` past the first step: into
   * the prefill's line (ms per token against the mean position), and its growth from it
   * once the prompts seen spread enough; then the rate at position 0, rescaled first so
   * the line's mean position keeps its prediction.
   */
  private learnPrefill(n: number, start: number, ms: number, a: number): void {
    const x = start + n / 2;
    const fit = this.prefillLine.add(x, ms / n, 1, this.prefill * (1 + this.prefillGrowth * x));
    if (fit) {
      this.prefill *= (1 + this.prefillGrowth * fit.meanX) / (1 + fit.growth * fit.meanX);
      this.prefillGrowth = fit.growth;
    }
    this.prefill = ewma(this.prefill, ms / n / (1 + this.prefillGrowth * x), a);
  }

  /** Time to evaluate the uncached `share` of a prompt, beyond the first step (what it holds a batch for). */
  evalMs(promptTokens: number, share = this.evalShare): number {
    const n = promptTokens * share;
    return this.prefillMs(n, promptTokens - n);
  }

  /** Time to evaluate `n` prompt tokens after `start` cached ones, beyond the first step. */
  private prefillMs(n: number, start: number): number {
    return n * this.prefill * (1 + this.prefillGrowth * (start + n / 2));
  }

  /**
   * Decode step time at batch size b with `ctx` tokens of context (prompt and tokens so
   * far; 0: the table's own figure); `grammar`: under a JSON-schema grammar.
   */
  stepMs(b: number, grammar = false, ctx = 0): number {
    const plain = this.plainStepMs(b) * (1 + this.growth * ctx);
    return grammar ? plain * this.grammarFactor : plain;
  }

  /** Time to decode `n` more tokens at batch size b, starting with `ctx` tokens of context. */
  decodeMs(n: number, ctx: number, b: number, grammar = false): number {
    return n > 0 ? n * this.stepMs(b, grammar, ctx + n / 2) : 0;
  }

  private plainStepMs(b: number): number {
    return this.pace * this.tableMs(b);
  }

  /** The table's step at batch size b (at pace 1): its own entry, else interpolated. */
  private tableMs(b: number): number {
    const k = Math.min(this.slots, Math.max(1, Math.round(b)));
    if (this.seen[k]) return this.step[k]!;
    let lo = k - 1;
    while (lo > 1 && !this.seen[lo]) lo--;
    let hi = k + 1;
    while (hi < this.slots && !this.seen[hi]) hi++;
    if (!this.seen[hi]) return this.step[lo]! * (k / lo); // nothing above: no batching gain
    // Linear in b. Measured with every step one micro-batch (src/engine/batching.ts), the
    // step grows about linearly with the streams in it: stories260K off/f32, per stream
    // 0.72, 1.17, 1.51, 1.94 and 3.79 ms at 1, 2, 3, 4 and 8 (a line from 1 to 8 says
    // 1.16, 1.60, 2.04 at 2–4). The log-b curve used before fitted steps whose batches
    // llama.cpp split apart; on these it says 1.74, 2.34, 2.77 (+43–55%).
    return this.step[lo]! + ((this.step[hi]! - this.step[lo]!) * (k - lo)) / (hi - lo);
  }

  /** Expected prompt tokens for a prompt text of this length. */
  promptTokens(chars: number): number {
    return Math.max(1, Math.ceil(chars * this.tokensPerChar));
  }

  /**
   * Time to evaluate a prompt and reach the first token; `share`: of its tokens, the share
   * to evaluate (the rest found in a sequence's KV cache; default: all prompts' share seen).
   */
  firstTokenMs(promptTokens: number, share = this.evalShare): number {
    return this.overhead + this.firstStep + this.evalMs(promptTokens, share);
  }

  /** Expected service time of a request generating up to maxTokens at batch size b. */
  serviceMs(maxTokens: number, promptTokens = 16, b = 1, grammar = false, share?: number): number {
    return this.firstTokenMs(promptTokens, share) + this.decodeMs(maxTokens - 1, promptTokens, b, grammar);
  }

  snapshot(): {
    overheadMs: number;
    firstStepMs: number;
    prefillMsPerToken: number;
    tokensPerChar: number;
    evalShare: number;
    stepMs: number[];
    pace: number;
    stepGrowth: number;
    prefillGrowth: number;
    grammarFactor: number;
    samples: number;
  } {
    const stepMs = [];
    for (let b = 1; b <= this.slots; b++) stepMs.push(this.stepMs(b));
    return {
      overheadMs: this.overhead,
      firstStepMs: this.firstStep,
      prefillMsPerToken: this.prefill,
      tokensPerChar: this.tokensPerChar,
      evalShare: this.evalShare,
      stepMs,
      pace: this.pace,
      stepGrowth: this.growth,
      prefillGrowth: this.prefillGrowth,
      grammarFactor: this.grammarFactor,
      samples: this.samples,
    };
  }
}
