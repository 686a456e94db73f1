/**
 * Lanes (src/engine/lanes.ts): one MessagePort per worker thread. With 2 replicas of 1
 * sequence each, two concurrent streams run at once only if the two lanes sit on two
 * different threads (lanes opened together once landed on one). A fatal error in one
 * thread fails the request it holds with WORKER_CRASHED (in-place recovery), the other
 * thread's request completes, and both lanes serve on. A prompt goes back to the worker
 * whose sequence holds its start (CacheMirror.route).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ModelPool } from '../../src/engine/pool';
import { Cancel } from '../../src/core/cancel';
import type { ColoError } from '../../src/core/errors';
import { request } from '../helpers/engine';
import { tinyModelPath } from '../helpers/models';

let pool: ModelPool;

beforeAll(async () => {
  pool = await ModelPool.create({
    name: 'stories260K',
    aliases: [],
    modelPath: tinyModelPath(),
    replicas: 2,
    sequences: 1,
    threads: 1,
    contextSize: 256,
    maxQueue: 8,
    gpu: 'cpu',
    gpuLayers: 0,
    warmupPrompt: 'Once upon a time',
    warmupTokens: 4,
    faultInjection: true,
  });
});

afterAll(async () => {
  await pool?.close();
});

/** Two streams at once; for each, whether its first token came before the other one ended. */
async function twoAtOnce(tag: string): Promise<boolean[]> {
  const firstAt = [0, 0];
  const endAt = [0, 0];
  let clock = 0;
  await Promise.all(
    [0, 1].map(async (i) => {
      const req = request(`${tag}${i}`, { sampling: { ...request('x').sampling, maxTokens: 200 } });
      await pool.complete(req, { onToken: () => void (firstAt[i] ||= ++clock) }, new Cancel());
      endAt[i] = ++clock;
    }),
  );
  return [firstAt[0]! < endAt[1]!, firstAt[1]! < endAt[0]!];
}

describe('lanes', () => {
  it('puts each replica’s lane on its own thread: two streams run at once', async () => {
    expect(await twoAtOnce('a')).toEqual([true, true]);
    expect(pool.inFlight).toBe(0);
    expect(pool.utilization).toBeGreaterThan(0);
    expect(pool.utilization).toBeLessThanOrEqual(1);
  });

  it('sends a prompt back to the worker whose sequence holds its start, though the other is as idle', async () => {
    const template = Array.from({ length: 8 }, (_, i) => `The cat number ${i} sat on the mat.`).join(' ');
    const short = { sampling: { ...request('x').sampling, maxTokens: 4 } };
    // A long stream takes worker 0, so the template's first request goes to worker 1 (one
    // sequence each).
    const busy = pool.complete(
      request('r-busy', { sampling: { ...request('x').sampling, maxTokens: 200 } }),
      null,
      new Cancel(),
    );
    const first = await pool.complete(
      request('r-a', { ...short, prompt: `${template} Then A` }),
      null,
      new Cancel(),
    );
    await busy;
    // At most the BOS that every prompt starts with.
    expect(first.usage.cachedTokens).toBeLessThanOrEqual(1);
    // Both idle now. By the fewest in flight it would go to worker 0 (the lower index),
    // whose sequence holds the long stream's prompt, and evaluate the template again.
    const again = await pool.complete(
      request('r-b', { ...short, prompt: `${template} Then B` }),
      null,
      new Cancel(),
    );
    expect(again.usage.promptTokens).toBeGreaterThan(64);
    expect(again.usage.cachedTokens).toBeGreaterThan(again.usage.promptTokens - 8);
  });

  it('a fatal error in one thread fails its request with WORKER_CRASHED; the other completes; both lanes serve on', async () => {
    const long = { sampling: { ...request('x').sampling, maxTokens: 250 } };
    let started = 0;
    const bothStarted = new Promise<void>((resolve) => {
      const outcomes = [0, 1].map((i) => {
        let seen = false;
        const sink = {
          onToken: () => {
            if (!seen && (seen = true) && ++started === 2) resolve();
          },
        };
        return pool.complete(request(`k${i}`, long), sink, new Cancel()).then(
          () => 'ok',
          (e: ColoError) => e.code,
        );
      });
      void Promise.all(outcomes).then((c) => (codes = c));
    });
    let codes: string[] = [];
    await bothStarted;
    await pool.injectCrash(0);
    await vi.waitFor(() => expect(codes).toHaveLength(2), { timeout: 20_000 });
    expect(codes.sort()).toEqual(['WORKER_CRASHED', 'ok']);
    expect(pool.crashFailedRequests).toBe(1);
    expect(pool.inFlight).toBe(0);
    // The crashed thread reloads its model on its next request (seconds); then both run at once again.
    await twoAtOnce('reload');
    expect(await twoAtOnce('b')).toEqual([true, true]);
  });
});
