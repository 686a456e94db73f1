import { describe, expect, it } from 'vitest';
import { ServiceEstimator } from '../../src/engine/estimator';
import { Scheduler, type Job } from '../../src/engine/scheduler';

// A model whose decode step is 1 ms alone and 2 ms with 4 sequences busy; prefill free.
const rates = { prefillMsPerToken: 0, stepMs1: 1, stepMsFull: 2 };
const NOW = 10_000;

function job(over: Partial<Job> = {}): Job {
  return { priority: 0, deadlineAt: NOW + 1000, maxTokens: 100, promptTokens: 4, tokens: 0, ...over };
}

/** DecodeStats.steps for n steps at batch b, one at each context from ctx0 + 1, each taking ms(ctx). */
function stepsAt(b: number, n: number, ms: (ctx: number) => number = () => 1, ctx0 = 4): number[] {
  let sum = 0;
  let ctxSum = 0;
  for (let c = ctx0 + 1; c <= ctx0 + n; c++) {
    sum += ms(c);
    ctxSum += c;
  }
  return [b, n, sum, ctxSum];
}

/** One finished generation with a 4-token prompt (nothing for the prefill rates to learn), decoded in these steps. */
function decoded(e: ServiceEstimator, steps: number[], grammar = false): void {
  e.observe({ overheadMs: 0, prefillTokens: 4, prefillMs: 0, steps, grammar });
}

function sched(slots = 4, maxQueue = 8, margin = 0): Scheduler<Job> {
  const est = new ServiceEstimator(slots, rates);
  const s = new Scheduler<Job>(slots, maxQueue, est, margin);
  // Use up the idle model's probe (tested on its own below).
  expect(s.plan(job({ deadlineAt: NOW + 50 }), NOW - 1)).toEqual({ action: 'start', probe: true });
  return s;
}

describe('ServiceEstimator', () => {
  it('interpolates unobserved batch sizes between the warm-up anchors, then learns', () => {
    const e = new ServiceEstimator(4, rates);
    expect(e.stepMs(1)).toBe(1);
    expect(e.stepMs(4)).toBe(2);
    // Linear in b: 2 is a third of the way from 1 to 4, 3 two thirds.
    expect(e.stepMs(2)).toBeCloseTo(4 / 3);
    expect(e.stepMs(3)).toBeCloseTo(5 / 3);
    for (let i = 0; i < 30; i++)
      decoded(
        e,
        stepsAt(2, 99, () => 3),
      );
    expect(e.stepMs(2)).toBeCloseTo(3, 1);
    // Part of the surprise is taken as the box being slower (the pace): the sizes not
    // observed follow it, and 3 stays halfway between 2 and 4.
    const pace = e.snapshot().pace;
    expect(pace).toBeGreaterThan(1.2);
    expect(e.stepMs(4)).toBeCloseTo(2 * pace);
    expect(e.stepMs(3)).toBeCloseTo((e.stepMs(2) + e.stepMs(4)) / 2);
  });

  it('moves every batch size with the box: a faster lone stream speeds up the sizes not seen since', () => {
    const e = new ServiceEstimator(4, rates);
    const learn = (b: number, ms: number, times = 30) => {
      for (let i = 0; i < times; i++)
        decoded(
          e,
          stepsAt(b, 64, () => ms),
        );
    };
    // A busy minute: every size 1.5× the warm-up's figures, traffic at all three.
    for (let i = 0; i < 30; i++) {
      learn(1, 1.5, 1);
      learn(2, 2, 1);
      learn(4, 3, 1);
    }
    expect(e.stepMs(2)).toBeCloseTo(2, 1);
    expect(e.stepMs(4)).toBeCloseTo(3, 1);
    // Then quiet, and only lone streams: at 1 ms, a third faster. Batches of 2 and 4 are
    // predicted most of a third faster too, without a sample of their own (a table without
    // the pace would still say 2 and 3).
    learn(1, 1, 20);
    expect(e.stepMs(1)).toBeCloseTo(1, 1);
    expect(e.stepMs(2) / (4 / 3)).toBeLessThan(1.15);
    expect(e.stepMs(4) / 2).toBeLessThan(1.15);
  });

  it("teaches each batch size from its own steps, not a generation's blend of sizes", () => {
    const e = new ServiceEstimator(4, rates);
    // Each generation ran 50 steps alone at 1.2 ms, then 50 beside another at 2 ms: a
    // mean batch of 1.5 and a mean step of 1.6 ms, which fits neither size.
    for (let i = 0; i < 30; i++) decoded(e, [...stepsAt(1, 50, () => 1.2), ...stepsAt(2, 50, () => 2, 54)]);
    expect(e.stepMs(1)).toBeCloseTo(1.2, 1);
    expect(e.stepMs(2)).toBeCloseTo(2, 1);
    // A couple of steps at a size (a stream joining, then leaving) teach only a little.
    for (let i = 0; i < 5; i++)
      decoded(
        e,
        stepsAt(3, 2, () => 6),
      );
    expect(e.stepMs(3)).toBeLessThan(3);
  });

  it('learns the grammar factor over the steps at the sizes they ran', () => {
    const e = new ServiceEstimator(4, rates);
    // Plain steps: 1 ms alone, 2 ms at 4 (4/3 at 2). Under the grammar: 3× each.
    for (let i = 0; i < 30; i++)
      decoded(e, [...stepsAt(1, 40, () => 3), ...stepsAt(4, 40, () => 6, 44)], true);
    expect(e.stepMs(1)).toBe(1);
    expect(e.stepMs(4)).toBe(2);
    expect(e.stepMs(1, true)).toBeCloseTo(3, 1);
  });

  it('takes a measured two-stream step as an anchor of its own', () => {
    const e = new ServiceEstimator(8, { prefillMsPerToken: 0, stepMs1: 1, stepMsFull: 8, stepMs2: 1.5 });
    expect(e.stepMs(2)).toBe(1.5);
    // From 1.5 at 2 to 8 at 8: 5 is halfway.
    expect(e.stepMs(5)).toBeCloseTo(4.75);
    // Kept between its neighbours: a two-stream figure above the full batch's is a stall.
    expect(
      new ServiceEstimator(8, { prefillMsPerToken: 0, stepMs1: 1, stepMsFull: 4, stepMs2: 9 }).stepMs(2),
    ).toBe(4);
    // With two slots, two is the full batch: its own figure stands.
    expect(
      new ServiceEstimator(2, { prefillMsPerToken: 0, stepMs1: 1, stepMsFull: 3, stepMs2: 2 }).stepMs(2),
    ).toBe(3);
  });

  it('learns grammar-constrained steps as a factor over the plain step, leaving the plain table alone', () => {
    const e = new ServiceEstimator(4, rates);
    for (let i = 0; i < 30; i++)
      decoded(
        e,
        stepsAt(1, 99, () => 2.5),
        true,
      );
    expect(e.stepMs(1)).toBe(1);
    expect(e.stepMs(1, true)).toBeCloseTo(2.5, 1);
    expect(e.stepMs(4, true)).toBeCloseTo(5, 1);
    expect(e.serviceMs(100, 4, 1, true)).toBeGreaterThan(e.serviceMs(100, 4, 1) * 2);
  });
});

describe('ServiceEstimator: the share of a prompt evaluated', () => {
  // Prefill 1 ms a token, so the first token's time above its fixed part is the tokens evaluated.
  const r = { prefillMsPerToken: 1, stepMs1: 1, stepMsFull: 2 };
  const seen = (e: ServiceEstimator, promptTokens: number, prefillTokens: number) =>
    e.observe({
      promptChars: promptTokens * 3,
      promptTokens,
      overheadMs: 0,
      prefillTokens,
      prefillMs: 0,
      steps: [],
    });
  const evaluated = (e: ServiceEstimator, tokens: number, share?: number) =>
    e.firstTokenMs(tokens, share) - e.firstTokenMs(0, share);

  it("predicts the caller's share (what the sequences hold); without one, the share over all prompts seen", () => {
    const e = new ServiceEstimator(4, r);
    expect(evaluated(e, 900)).toBeCloseTo(900);
    seen(e, 900, 900);
    for (let i = 0; i < 8; i++) {
      seen(e, 900, 2);
      seen(e, 8, 8);
    }
    // The pool's reading of the caches: a template found cached, a document not.
    expect(evaluated(e, 900, 2 / 900)).toBeCloseTo(2);
    expect(evaluated(e, 900, 1)).toBeCloseTo(900);
    expect(e.serviceMs(10, 900, 1, false, 1) - e.serviceMs(10, 900, 1, false, 0)).toBeCloseTo(900);
    // The share over all prompts sits between the two and fits neither.
    const all = evaluated(e, 900);
    expect(all).toBeGreaterThan(100);
    expect(all).toBeLessThan(800);
  });
});

describe('ServiceEstimator: a prompt token costs more the later it sits', () => {
  it('learns the prefill growth from prompts of different lengths, and predicts each at its own', () => {
    // 0.2 ms a token at position 0, +0.3% per token before it (a 900-token prompt 0.47 ms a token).
    const perToken = (x: number) => 0.2 * (1 + 0.003 * x);
    const e = new ServiceEstimator(4, { prefillMsPerToken: 0.2, stepMs1: 1, stepMsFull: 2 });
    // The fixed part: dispatch to evaluation (1 ms, as reported below) and the first step.
    const firstStep = e.firstTokenMs(0, 1);
    const prefill = (n: number, start = 0) => firstStep + n * perToken(start + n / 2);
    const seen = (n: number) =>
      e.observe({ promptTokens: n, overheadMs: 1, prefillTokens: n, prefillMs: prefill(n), steps: [] });
    const error = (n: number) => e.firstTokenMs(n, 1) / prefill(n) - 1;
    for (let i = 0; i < 4; i++) seen(i % 2 ? 900 : 280);
    // One rate for both: the long prompt predicted short.
    expect(error(900)).toBeLessThan(-0.15);
    for (let i = 0; i < 40; i++) seen(i % 2 ? 900 : 280);
    expect(e.snapshot().prefillGrowth).toBeCloseTo(0.003, 3);
    expect(Math.abs(error(900))).toBeLessThan(0.05);
    expect(Math.abs(error(280))).toBeLessThan(0.05);
    // A prompt mostly cached: only its last tokens, at their late positions.
    expect(e.firstTokenMs(900, 0.1) - firstStep).toBeCloseTo(90 * perToken(855), 0);
  });
});

describe('ServiceEstimator: steps grow with the context', () => {
  // 1 ms per step at context 0, +1% per token of context (at 100 tokens: 2 ms).
  const grown = { ...rates, stepGrowth: 0.01 };

  it('predicts a step at its context, and a generation at the mean context of its steps', () => {
    const e = new ServiceEstimator(4, grown);
    expect(e.stepMs(1)).toBe(1);
    expect(e.stepMs(1, false, 100)).toBeCloseTo(2);
    // 100 tokens after a 20-token prompt: steps at contexts 20..120, mean 70 → 1.7 ms each.
    expect(e.decodeMs(100, 20, 1)).toBeCloseTo(170);
    expect(e.serviceMs(101, 20, 1) - e.firstTokenMs(20)).toBeCloseTo(170);
    // Without growth a long request costs what a short one does per token: the old error.
    const flat = new ServiceEstimator(4, rates);
    expect(flat.decodeMs(200, 4, 1) / flat.decodeMs(50, 4, 1)).toBeCloseTo(4);
    expect(e.decodeMs(200, 4, 1) / e.decodeMs(50, 4, 1)).toBeGreaterThan(6);
  });

  it('learns the table from short generations and predicts long ones at their own context', () => {
    const truth = (tokens: number, prompt: number) => (tokens - 1) * 1.5 * (1 + 0.01 * (prompt + tokens / 2));
    const e = new ServiceEstimator(4, grown);
    for (let i = 0; i < 40; i++)
      decoded(
        e,
        stepsAt(1, 63, (ctx) => 1.5 * (1 + 0.01 * ctx)),
      );
    // Learnt from 64-token generations, the step at context 0 is the true 1.5 ms...
    expect(e.stepMs(1)).toBeCloseTo(1.5, 1);
    // ...so a 200-token generation is predicted at its own (longer) context.
    expect(e.decodeMs(199, 4, 1) / truth(200, 4)).toBeCloseTo(1, 1);
  });

  it('learns the growth from traffic at different contexts when the warm-up read none', () => {
    // The box: 1.5 ms a step at context 0, 0.1% more per token of context.
    const stepAt = (ctx: number) => 1.5 * (1 + 0.001 * ctx);
    const truth = (prompt: number) => 63 * stepAt(prompt + 32);
    const e = new ServiceEstimator(4, rates);
    expect(e.snapshot().stepGrowth).toBe(0);
    const mix = (n: number) => {
      for (let i = 0; i < n; i++) decoded(e, stepsAt(1, 63, stepAt, i % 2 ? 800 : 4));
    };
    // A long request costs 1.77× a short one; without a growth both are predicted alike
    // (the pace settles between them: the long one predicted short, the short one long).
    const ratio = () => e.decodeMs(63, 800, 1) / e.decodeMs(63, 4, 1);
    mix(4);
    expect(ratio()).toBe(1);
    mix(60);
    expect(ratio()).toBeCloseTo(truth(800) / truth(4), 1);
    expect(e.snapshot().stepGrowth).toBeCloseTo(0.001, 4);
    expect(e.decodeMs(63, 800, 1) / truth(800)).toBeCloseTo(1, 1);
    expect(e.decodeMs(63, 4, 1) / truth(4)).toBeCloseTo(1, 1);
    // A stall (every step 4× slower) moves the slope little: clamped to twice the prediction.
    decoded(
      e,
      stepsAt(1, 63, (ctx) => 4 * stepAt(ctx), 800),
    );
    expect(e.snapshot().stepGrowth).toBeGreaterThan(0.0008);
    expect(e.snapshot().stepGrowth).toBeLessThan(0.0013);
  });

  it("keeps the warm-up's growth while every request attends over about the same context", () => {
    const e = new ServiceEstimator(4, grown);
    const before = e.snapshot().stepGrowth;
    // Another slope, but all at one context: nothing says which slope is right.
    for (let i = 0; i < 60; i++)
      decoded(
        e,
        stepsAt(1, 63, (ctx) => 2 * (1 + 0.002 * ctx), 4 + (i % 3)),
      );
    expect(e.snapshot().stepGrowth).toBe(before);
  });
});

describe('Scheduler: grammar-constrained requests', () => {
  it('predicts a skill with the learnt grammar factor: refuses what fits only as plain decoding', () => {
    const est = new ServiceEstimator(4, rates);
    const s = new Scheduler<Job>(4, 8, est, 0);
    expect(s.plan(job({ deadlineAt: NOW + 50 }), NOW - 1)).toEqual({ action: 'start', probe: true });
    // 100 tokens: ~100 ms plain; a 150 ms deadline fits plain and grammar alike at first.
    expect(s.plan(job({ deadlineAt: NOW + 150, grammar: true }), NOW, false)).toEqual({ action: 'start' });
    for (let i = 0; i < 30; i++)
      decoded(
        est,
        stepsAt(1, 99, () => 2),
        true,
      );
    expect(s.plan(job({ deadlineAt: NOW + 150 }), NOW, false)).toEqual({ action: 'start' });
    expect(s.plan(job({ deadlineAt: NOW + 150, grammar: true }), NOW, false)).toMatchObject({
      action: 'refuse',
      code: 'DEADLINE',
    });
  });
});

describe('Scheduler: predict, then admit', () => {
  it('starts a request that fits on a free sequence', () => {
    expect(sched().plan(job(), NOW)).toEqual({ action: 'start' });
  });

  it('refuses with DEADLINE at once what cannot finish even alone', () => {
    // 100 tokens at 1 ms/step need ~100 ms; 50 ms is not enough, whatever the load.
    expect(sched().plan(job({ deadlineAt: NOW + 50 }), NOW)).toMatchObject({
      action: 'refuse',
      code: 'DEADLINE',
    });
  });

  it('an idle model admits one request per second it predicts to miss (a probe), so it can re-learn', () => {
    const s = new Scheduler<Job>(4, 8, new ServiceEstimator(4, rates), 0);
    const hopeless = job({ deadlineAt: NOW + 50 });
    // A prediction (commit false) neither uses up the probe nor hides that it is one.
    expect(s.plan(hopeless, NOW, false)).toEqual({ action: 'start', probe: true });
    expect(s.plan(hopeless, NOW)).toEqual({ action: 'start', probe: true });
    expect(s.plan(hopeless, NOW + 10)).toMatchObject({ action: 'refuse', code: 'DEADLINE' });
    // Not one with no time to teach anything (a few tokens).
    expect(s.plan(job({ deadlineAt: NOW + 1001 }), NOW + 1000)).toMatchObject({ action: 'refuse' });
    expect(s.plan(job({ deadlineAt: NOW + 1060 }), NOW + 1000)).toEqual({ action: 'start', probe: true });
    // Never while anything runs.
    s.running.add(job({ deadlineAt: NOW + 99_999 }));
    expect(s.plan(job({ deadlineAt: NOW + 2050 }), NOW + 2000)).toMatchObject({ action: 'refuse' });
  });

  it('keeps a safety margin of the remaining time', () => {
    const s = sched(4, 8, 0.2);
    // Needs ~101 ms; 120 ms left minus 20% is 96 ms.
    expect(s.plan(job({ deadlineAt: NOW + 120 }), NOW)).toMatchObject({ action: 'refuse', code: 'DEADLINE' });
    expect(s.plan(job({ deadlineAt: NOW + 140 }), NOW)).toEqual({ action: 'start' });
  });

  it('does not start a request whose bigger batch would make a running one miss', () => {
    const s = sched();
    // Running: 100 tokens left, deadline in 110 ms; alone it fits (100 ms), with a second
    // sequence (1.33 ms/step) it would not.
    s.running.add(job({ deadlineAt: NOW + 110 }));
    const plan = s.plan(job({ deadlineAt: NOW + 10_000 }), NOW);
    expect(plan).toEqual({ action: 'queue' });
  });

  it('with several workers, a request joins the batch of the worker it goes to only', () => {
    const s = sched();
    // On worker 0: 100 tokens left, deadline in 110 ms: fits alone, not beside a second stream.
    s.running.add(job({ deadlineAt: NOW + 110, lane: 0 }));
    expect(s.plan(job({ deadlineAt: NOW + 10_000, lane: 0 }), NOW)).toEqual({ action: 'queue' });
    // On worker 1 it batches with nobody.
    expect(s.plan(job({ deadlineAt: NOW + 10_000, lane: 1 }), NOW)).toEqual({ action: 'start' });
    // And a 105 ms deadline fits there (~101 ms alone), not at worker 0's batch of two.
    expect(s.plan(job({ deadlineAt: NOW + 105, lane: 1 }), NOW)).toEqual({ action: 'start' });
  });

  it('does not start a request whose prompt evaluation would hold a running one past its deadline', () => {
    // Prefill 0.1 ms a token. Running: 100 tokens left at 1 ms (alone) or 1.33 ms (two),
    // deadline in 200 ms: fits beside a second stream (133 ms), not behind a 900-token prefill.
    const s = new Scheduler<Job>(4, 8, new ServiceEstimator(4, { ...rates, prefillMsPerToken: 0.1 }), 0);
    s.running.add(job({ deadlineAt: NOW + 200 }));
    const prompt = { promptTokens: 900, deadlineAt: NOW + 10_000 };
    // The same prompt found cached (2 tokens to evaluate) starts; never sent, it waits.
    expect(s.plan(job({ ...prompt, share: 2 / 900 }), NOW)).toEqual({ action: 'start' });
    expect(s.plan(job({ ...prompt, share: 1 }), NOW)).toEqual({ action: 'queue' });
  });

  it("counts the wait for another request's evaluation of a start it copies", () => {
    const s = sched();
    // ~101 ms alone: fits 150 ms; not after a 60 ms wait for the start it copies.
    expect(s.plan(job({ deadlineAt: NOW + 150 }), NOW)).toEqual({ action: 'start' });
    expect(s.plan(job({ deadlineAt: NOW + 150, waitMs: 60 }), NOW)).toMatchObject({
      action: 'refuse',
      code: 'DEADLINE',
      needMs: 161,
    });
  });

  it('queues what fits after the wait; what would miss even then is refused DEADLINE (busy) at once', () => {
    const s = sched(1, 8);
    s.running.add(job({ deadlineAt: NOW + 5000 })); // frees in ~100 ms
    expect(s.plan(job({ deadlineAt: NOW + 300 }), NOW)).toEqual({ action: 'queue' });
    // Needs ~100 ms alone; a sequence frees in ~100 ms; 150 ms: a retry then would miss too.
    const plan = s.plan(job({ deadlineAt: NOW + 150 }), NOW);
    expect(plan).toMatchObject({ action: 'refuse', code: 'DEADLINE', reason: 'busy', needMs: 101 });
    expect((plan as { startMs: number }).startMs).toBeGreaterThanOrEqual(90);
    expect(plan).not.toHaveProperty('retryAfterMs');
  });

  it('with a sequence free but the batch too slow, and no time to retry after the first running request ends: DEADLINE (busy)', () => {
    const s = sched();
    // Running: 100 tokens left (~100 ms alone). The new one fits alone (~101 ms in 120)
    // but not in a batch of 2 (1.5 ms/step); once the running one ends (~100 ms), 20 ms are left.
    s.running.add(job({ deadlineAt: NOW + 5000 }));
    const plan = s.plan(job({ deadlineAt: NOW + 120 }), NOW);
    expect(plan).toMatchObject({ action: 'refuse', code: 'DEADLINE', reason: 'busy' });
    expect((plan as { startMs: number }).startMs).toBeGreaterThanOrEqual(90);
  });

  it('refuses OVERLOADED with a retry-after when retrying then could still make it', () => {
    const s = sched();
    // Two running: one ends in ~15 ms (10 tokens left at 1.5 ms/step), one in ~150 ms. The
    // new one (100 tokens, 150 ms) misses in a batch of 3 (~179 ms), and waiting for both
    // (~210 ms), but alone after the first ends (~15 + 100 ms) it fits.
    s.running.add(job({ deadlineAt: NOW + 5000, tokens: 90 }));
    s.running.add(job({ deadlineAt: NOW + 5000 }));
    const plan = s.plan(job({ deadlineAt: NOW + 150 }), NOW);
    expect(plan).toMatchObject({ action: 'refuse', code: 'OVERLOADED', reason: 'deadline' });
    const after = (plan as { retryAfterMs: number }).retryAfterMs;
    expect(after).toBeGreaterThanOrEqual(10);
    expect(after).toBeLessThanOrEqual(20);
  });

  it('counts the queued requests served before it (EDF) in the wait, not those after', () => {
    const s = sched(1, 8);
    s.running.add(job({ deadlineAt: NOW + 5000 }));
    s.queue.push(job({ deadlineAt: NOW + 250 })); // served first: ends ~200 ms
    expect(s.plan(job({ deadlineAt: NOW + 280 }), NOW)).toMatchObject({ action: 'refuse' });
    // An earlier deadline goes ahead of the queued one: fits.
    expect(s.plan(job({ deadlineAt: NOW + 240 }), NOW)).toEqual({ action: 'queue' });
  });

  it('refuses OVERLOADED (capacity) when the queue is full', () => {
    const s = sched(1, 1);
    s.running.add(job({ deadlineAt: NOW + 5000, maxTokens: 1 }));
    s.queue.push(job({ deadlineAt: NOW + 9000, maxTokens: 1 }));
    expect(s.plan(job({ deadlineAt: NOW + 9000, maxTokens: 1 }), NOW)).toMatchObject({
      action: 'refuse',
      code: 'OVERLOADED',
      reason: 'capacity',
    });
  });

  it('preempts the lowest-priority running request, latest deadline first, for a higher priority', () => {
    const s = sched(2, 8);
    const low1 = job({ priority: 1, deadlineAt: NOW + 5000 });
    const low2 = job({ priority: 1, deadlineAt: NOW + 9000 });
    s.running.add(low1);
    s.running.add(low2);
    // Waiting ~100 ms for a free sequence, then ~200 ms at 2 ms/step, misses 250 ms; starting now fits.
    const urgent = job({ priority: 9, deadlineAt: NOW + 250 });
    expect(s.plan(urgent, NOW)).toEqual({ action: 'preempt', victim: low2 });
    // Never preempts an equal or higher priority.
    expect(s.plan(job({ priority: 1, deadlineAt: NOW + 250 }), NOW)).toMatchObject({ action: 'refuse' });
    // While low2's preemption is in flight its sequence counts as free: the next urgent
    // request waits for it instead of preempting a second victim.
    low2.preempting = true;
    expect(s.plan(urgent, NOW)).toEqual({ action: 'queue' });
  });

  it('admits the issue burst only as far as it fits (40 x 200 tokens, 300 ms)', () => {
    const s = sched(8, 64, 0.1);
    const burst = Array.from({ length: 40 }, () => job({ maxTokens: 200, deadlineAt: NOW + 300 }));
    let started = 0;
    let refused = 0;
    for (const j of burst) {
      const p = s.plan(j, NOW);
      if (p.action === 'start') {
        started++;
        s.running.add(j);
      } else if (p.action === 'queue') s.queue.push(j);
      else refused++;
    }
    // Alone 200 tokens take ~200 ms at 1 ms/step; each extra sequence slows every one.
    expect(started).toBeGreaterThanOrEqual(1);
    expect(started).toBeLessThan(8);
    expect(s.queue.length).toBe(0);
    expect(refused).toBe(40 - started);
  });

  it('sheds a queued request that can no longer finish when its turn comes', () => {
    const s = sched(1, 8);
    const j = job({ deadlineAt: NOW + 150 });
    expect(s.dispatchable(j, NOW)).toBe('start');
    expect(s.dispatchable(j, NOW + 100)).toBe('shed');
  });

  it('queues a burst one after another when batching would make them miss, and dispatches them so', () => {
    // Batching hurts a lot here: 1 ms/step alone, 8 ms/step with all 4 sequences busy
    // (3.33 ms at 2). 100 tokens: 100 ms alone, 333 ms in a pair; 300 ms deadlines.
    const s = new Scheduler<Job>(
      4,
      8,
      new ServiceEstimator(4, { prefillMsPerToken: 0, stepMs1: 1, stepMsFull: 8 }),
      0.1,
    );
    expect(s.plan(job({ deadlineAt: NOW + 50 }), NOW - 1)).toMatchObject({ probe: true });
    const [a, b, c] = [0, 1, 2].map(() => job({ deadlineAt: NOW + 300 }));
    expect(s.plan(a!, NOW)).toEqual({ action: 'start' });
    s.running.add(a!);
    // Not beside a (both would miss), but after it: done by ~200 ms.
    expect(s.plan(b!, NOW)).toEqual({ action: 'queue' });
    s.queue.push(b!);
    // A third would end at ~300 ms, past the 270 ms kept after the margin.
    expect(s.plan(c!, NOW)).toMatchObject({ action: 'refuse', code: 'OVERLOADED' });
    // While a runs, b waits at the head; once a is done it starts alone.
    expect(s.dispatchable(b!, NOW + 10)).toBe('wait');
    s.running.delete(a!);
    expect(s.dispatchable(b!, NOW + 100)).toBe('start');
  });

  it('with two workers, the one-after-another plan runs one request on each at once', () => {
    // 2 workers x 2 sequences; 1 ms/step alone, 8 ms/step with both of a worker's
    // sequences busy. 100 tokens: 100 ms alone. One request runs on each worker.
    const s = new Scheduler<Job>(
      4,
      8,
      new ServiceEstimator(2, { prefillMsPerToken: 0, stepMs1: 1, stepMsFull: 8 }),
      0.1,
      'predict',
      2,
    );
    expect(s.plan(job({ deadlineAt: NOW + 50 }), NOW - 1)).toMatchObject({ probe: true });
    const [a, b] = [0, 1].map((lane) => job({ deadlineAt: NOW + 1000, lane }));
    s.running.add(a!);
    s.running.add(b!);
    // Beside either, both would miss (800 ms at a batch of two); after one of them it
    // ends at ~200 ms, and a second one after the other, also at ~200 ms. Counted as one
    // worker (the build before), a and b ran one after the other and even the first
    // waiting request ended at ~300 ms, past the 270 kept after the margin: refused.
    const [c, d, e] = [0, 1, 2].map(() => job({ deadlineAt: NOW + 300, lane: 0 }));
    for (const j of [c!, d!]) {
      expect(s.plan(j, NOW)).toEqual({ action: 'queue' });
      s.queue.push(j);
    }
    // A third needs a worker free at ~200 ms: ~300 ms.
    expect(s.plan(e!, NOW)).toMatchObject({ action: 'refuse' });
    // Both wait at the head while their workers are busy, then each starts alone.
    expect(s.dispatchable(c!, NOW + 10)).toBe('wait');
    s.running.delete(b!);
    expect(s.dispatchable({ ...c!, lane: 1 }, NOW + 100)).toBe('start');
  });

  it('does not start a job queued to run after the others beside them when that fits only without the margin', () => {
    // 1 ms/step alone, 2.6 ms at 2 (measured), 4.2 ms at 4; 100 tokens each.
    // b (280 ms deadline) fits after a (100 ms, then its own ~100 ms); beside a it would
    // take ~259 ms: inside its deadline but not inside the 10% margin (252 ms).
    const s = new Scheduler<Job>(
      4,
      8,
      new ServiceEstimator(4, { prefillMsPerToken: 0, stepMs1: 1, stepMsFull: 4.2, stepMs2: 2.6 }),
      0.1,
    );
    expect(s.plan(job({ deadlineAt: NOW + 50 }), NOW - 1)).toMatchObject({ probe: true });
    const a = job({ deadlineAt: NOW + 1000 });
    s.running.add(a);
    const b = job({ deadlineAt: NOW + 280 });
    expect(s.estimator.serviceMs(b.maxTokens, b.promptTokens, 2)).toBeLessThan(280);
    expect(s.estimator.serviceMs(b.maxTokens, b.promptTokens, 2)).toBeGreaterThan(280 * 0.9);
    expect(s.dispatchable(b, NOW)).toBe('wait');
    s.running.delete(a);
    expect(s.dispatchable(b, NOW + 100)).toBe('start');
  });
});
