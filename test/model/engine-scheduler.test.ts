/**
 * The scheduler and the stream on the real tiny model: what an early ending charges,
 * preemption by priority, and streamed text that joins to the final text. Behaviour
 * only: no assertion here depends on how fast the machine is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Colo } from '../../src/app/colo';
import type { ColoError } from '../../src/core/errors';
import { request, startTestColo } from '../helpers/engine';

let colo: Colo;
beforeAll(async () => {
  colo = await startTestColo({ sequences: 4, maxQueue: 8, extra: { cache: { enabled: false } } });
});
afterAll(async () => {
  await colo?.shutdown('test end');
});

const never = () => new AbortController().signal;
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: ColoError) => e,
  );

describe('engine: partial usage on early endings', () => {
  it('a cancelled stream is charged its prompt and the tokens it generated', async () => {
    const ac = new AbortController();
    const chunks: string[] = [];
    const p = colo.engine.complete(
      request('c1', { sampling: { ...request('x').sampling, maxTokens: 400 } }),
      {
        onToken: (t) => {
          chunks.push(t);
          if (chunks.length === 5) ac.abort();
        },
      },
      ac.signal,
    );
    const e = await failure(p);
    expect(e?.code).toBe('CANCELLED');
    expect(e?.usage?.promptTokens).toBeGreaterThan(1);
    // At least the 5 chunks seen, fewer than asked for.
    expect(e?.usage?.completionTokens).toBeGreaterThanOrEqual(5);
    expect(e?.usage?.completionTokens).toBeLessThan(400);
  });

  it('a request refused at admission is not charged (nothing started)', async () => {
    const e = await failure(
      colo.engine.complete(
        request('d1', { deadlineMs: 1, sampling: { ...request('x').sampling, maxTokens: 400 } }),
        null,
        never(),
      ),
    );
    expect(e?.code).toBe('DEADLINE');
    expect(e?.usage?.completionTokens ?? 0).toBe(0);
  });
});

describe('engine: priority and preemption', () => {
  it('a high-priority request that cannot wait preempts a low one, which ends PREEMPTED with its text so far', async () => {
    const pool = colo.engine.get('stories260K');
    const long = { ...request('x').sampling, maxTokens: 480 };
    const low: { chunks: string[]; promise: Promise<ColoError | undefined> }[] = [];
    const lows = Array.from({ length: 4 }, (_, i) => {
      const chunks: string[] = [];
      const started = new Promise<void>((resolve) => {
        const promise = failure(
          pool.complete(
            request(`low${i}`, { priority: 0, deadlineMs: 120_000, sampling: long }),
            {
              onToken: (t) => {
                chunks.push(t);
                if (chunks.length === 2) resolve();
              },
            },
            never(),
          ),
        );
        low.push({ chunks, promise });
      });
      return started;
    });
    await Promise.all(lows);
    expect(pool.inFlight).toBe(4);

    // A deadline half the predicted wait for a low one to end: far more than the urgent
    // request needs if it starts now (8 tokens), far less than waiting.
    const est = pool.estimator;
    const startNow = est.serviceMs(8, 8, 4) / 0.9;
    const afterWait = 400 * est.stepMs(4);
    const deadlineMs = Math.floor(afterWait / 2);
    expect(startNow * 4).toBeLessThan(deadlineMs);
    const urgent = await pool.complete(
      request('urgent', { priority: 200, deadlineMs, sampling: { ...request('x').sampling, maxTokens: 8 } }),
      null,
      never(),
    );
    expect(urgent.finishReason).toBe('length');
    expect(urgent.usage.completionTokens).toBe(8);
    expect(pool.preempted).toBe(1);

    // Exactly one low request was preempted, with what it had generated; cancel the rest.
    const first = await Promise.race(low.map((l, i) => l.promise.then(() => i)));
    const victim = low[first]!;
    const e = await victim.promise;
    expect(e?.code).toBe('PREEMPTED');
    expect(e?.retryable).toBe(true);
    expect(e?.usage?.text).toBe(victim.chunks.join(''));
    expect(e?.usage?.completionTokens).toBeGreaterThanOrEqual(victim.chunks.length);
    expect(e?.usage?.promptTokens).toBeGreaterThan(1);
  }, 60_000);
});

describe('engine: streamed text', () => {
  it('chunks join to the final text, and none ends inside a UTF-8 character, at high temperature', async () => {
    for (let seed = 1; seed <= 4; seed++) {
      const chunks: string[] = [];
      const r = await colo.engine.complete(
        request(`u${seed}`, {
          prompt: 'Le café coûte 3 € — naïve',
          sampling: { ...request('x').sampling, maxTokens: 48, temperature: 1.5, seed },
        }),
        { onToken: (t) => chunks.push(t) },
        never(),
      );
      expect(chunks.join('')).toBe(r.text);
      expect(r.usage.completionTokens).toBeLessThanOrEqual(48);
      for (const c of chunks) if (c.endsWith('\uFFFD')) expect(r.text).toContain('\uFFFD');
    }
  });
});
