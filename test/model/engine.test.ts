import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Colo } from '../../src/app/colo';
import { ColoError } from '../../src/core/errors';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startColo } from '../../src/app/colo';
import { parseConfig } from '../../src/config';
import { resolveModel } from '../../src/models';
import { quietLog, request, startTestColo } from '../helpers/engine';
import { KEEP_MIN } from '../../src/engine/sequences';

let colo: Colo;
beforeAll(async () => {
  colo = await startTestColo({ sequences: 4, maxQueue: 8 }, { faultInjection: true });
});
afterAll(async () => {
  await colo?.shutdown('test end');
});

const never = () => new AbortController().signal;
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: ColoError) => e.code,
  );

describe('local engine on stories260K', () => {
  it('streams tokens whose concatenation is the final text', async () => {
    const chunks: string[] = [];
    const r = await colo.engine.complete(request('s1'), { onToken: (t) => chunks.push(t) }, never());
    expect(r.text.length).toBeGreaterThan(10);
    expect(chunks.join('')).toBe(r.text);
    expect(r.usage.completionTokens).toBe(32);
    expect(r.finishReason).toBe('length');
    expect(r.route).toEqual({ kind: 'local', provider: 'local', model: 'stories260K', cached: false });
    expect(r.timings.ttftUs).toBeGreaterThan(0);
    expect(r.timings.totalUs).toBeGreaterThanOrEqual(r.timings.ttftUs);
  });

  it('is deterministic at temperature 0 and honours stop sequences', async () => {
    const a = await colo.engine.complete(request('d1'), null, never());
    const b = await colo.engine.complete(request('d2'), null, never());
    expect(a.text).toBe(b.text);
    const stop = a.text.slice(10, 14);
    const c = await colo.engine.complete(
      request('d3', { sampling: { ...request('x').sampling, stop: [stop] } }),
      null,
      never(),
    );
    expect(c.finishReason).toBe('stop');
    expect(a.text.startsWith(c.text)).toBe(true);
    expect(c.text).not.toContain(stop);
  });

  it('renders chat messages through a chat wrapper', async () => {
    const r = await colo.engine.complete(
      request('chat', { prompt: undefined, messages: [{ role: 'user', content: 'Tell me a story' }] }),
      null,
      never(),
    );
    expect(r.usage.promptTokens).toBeGreaterThan(4);
    expect(r.usage.completionTokens).toBeGreaterThan(0);
  });

  it('decodes concurrent requests on separate sequences, each with its own text', async () => {
    const prompts = ['Once upon a time', 'The cat', 'Lily and Ben', 'One day'];
    const results = await Promise.all(
      prompts.map((p, i) => colo.engine.complete(request(`c${i}`, { prompt: p }), null, never())),
    );
    const solo = await colo.engine.complete(request('solo', { prompt: 'The cat' }), null, never());
    expect(results[1]!.text).toBe(solo.text);
    expect(new Set(results.map((r) => r.text)).size).toBe(4);
  });

  it("keeps a long prompt's cache past an unrelated short request: its next turn evaluates only the new tokens", async () => {
    const pool = colo.engine.pool('stories260K')!;
    const seen: { promptTokens: number; prefillTokens: number }[] = [];
    const observe = pool.estimator.observe.bind(pool.estimator);
    pool.estimator.observe = (o) => {
      seen.push({ promptTokens: o.promptTokens ?? 0, prefillTokens: o.prefillTokens });
      observe(o);
    };
    try {
      const long = Array.from({ length: 12 }, (_, i) => `The little dog number ${i} ran to the park.`).join(
        ' ',
      );
      const run = (id: string, prompt: string) =>
        colo.engine.complete(
          request(id, { prompt, sampling: { ...request('x').sampling, maxTokens: 4 } }),
          null,
          never(),
        );
      const first = await run('keep1', long);
      expect(first.usage.promptTokens).toBeGreaterThanOrEqual(KEEP_MIN);
      // Unrelated, and short: it takes another sequence rather than the long prompt's.
      await run('keep2', 'Once upon a time there was a cat');
      const next = await run('keep3', `${long} Then the dog`);
      const evaluated = seen.find((x) => x.promptTokens === next.usage.promptTokens)!.prefillTokens;
      expect(next.usage.promptTokens).toBeGreaterThan(first.usage.promptTokens);
      // The new words and the last prompt token (its logits give the first sampled token).
      expect(evaluated).toBeLessThanOrEqual(next.usage.promptTokens - first.usage.promptTokens + 1);
    } finally {
      pool.estimator.observe = observe;
    }
  });

  it("copies a running request's cache for a prompt that shares its start: the template is not evaluated twice", async () => {
    const pool = colo.engine.pool('stories260K')!;
    const template = Array.from(
      { length: 12 },
      (_, i) => `The small bird number ${i} flew over the hill.`,
    ).join(' ');
    const run = (id: string, suffix: string, maxTokens: number, onToken?: () => void) =>
      colo.engine.complete(
        request(id, { prompt: `${template} ${suffix}`, sampling: { ...request('x').sampling, maxTokens } }),
        onToken ? { onToken } : null,
        never(),
      );
    // Evaluated in full: what B's prompt generates, and a sequence holding the template.
    const reference = await run('copy-ref', 'Then B', 4);
    expect(reference.usage.cachedTokens).toBeLessThanOrEqual(1);
    let started!: () => void;
    const firstToken = new Promise<void>((r) => (started = r));
    // A takes that sequence and runs on.
    const running = run('copy-a', 'Then A', 48, () => started());
    await firstToken;
    // The only sequence holding the template is busy: before, B's prompt was evaluated in full.
    const b = await run('copy-b', 'Then B', 4);
    await running;
    expect(b.usage.promptTokens).toBeGreaterThan(64);
    expect(b.usage.cachedTokens).toBeGreaterThan(b.usage.promptTokens - 8);
    // Generated from the copied cache, the same as from the prompt evaluated in full.
    expect(b.text).toBe(reference.text);
    expect(pool.inFlight).toBe(0);
  });

  it('two requests sent together that share a start nothing holds evaluate it once: the second copies it from the first', async () => {
    const shared = Array.from(
      { length: 12 },
      (_, i) => `The old owl number ${i} sang in the tall tree.`,
    ).join(' ');
    const run = (id: string, suffix: string) =>
      colo.engine.complete(
        request(id, { prompt: `${shared} ${suffix}`, sampling: { ...request('x').sampling, maxTokens: 4 } }),
        null,
        never(),
      );
    const pool = colo.engine.pool('stories260K')!;
    const seen: { prefillTokens: number; prefillMs: number; overheadMs: number }[] = [];
    const observe = pool.estimator.observe.bind(pool.estimator);
    pool.estimator.observe = (o) => {
      seen.push({ prefillTokens: o.prefillTokens, prefillMs: o.prefillMs, overheadMs: o.overheadMs });
      observe(o);
    };
    try {
      const both = await Promise.all([run('pair-a', 'Then A'), run('pair-b', 'Then B')]);
      const cached = both.map((r) => r.usage.cachedTokens!).sort((x, y) => x - y);
      expect(both[0]!.usage.promptTokens).toBeGreaterThan(64);
      // One evaluated it (at most the BOS was held), the other waited and copied it.
      expect(cached[0]).toBeLessThanOrEqual(1);
      expect(cached[1]).toBeGreaterThan(both[0]!.usage.promptTokens - 8);
      // The wait is not taught to the estimator as the box's overhead for a first token.
      const [leader, follower] = [...seen].sort((x, y) => y.prefillTokens - x.prefillTokens);
      expect(follower!.overheadMs).toBeLessThan(leader!.prefillMs / 2);
    } finally {
      pool.estimator.observe = observe;
    }
  });

  it('admission predicts a prompt whose start a free sequence holds as cached, one never sent in full', async () => {
    const pool = colo.engine.pool('stories260K')!;
    const words = (w: string) =>
      Array.from({ length: 14 }, (_, i) => `The ${w} number ${i} sat by the river.`).join(' ');
    const req = (id: string, prompt: string, deadlineMs = 60_000) =>
      request(id, { prompt, deadlineMs, sampling: { ...request('x').sampling, maxTokens: 4 } });
    await colo.engine.complete(req('held', words('frog')), null, never());
    // With a 1 ms deadline admission refuses and says what it predicted alone.
    const needMs = (prompt: string) => pool.predict(req('p', prompt, 1)).needMs!;
    const cached = needMs(`${words('frog')} Then it hopped`);
    const fresh = needMs(`${words('toad')} Then it hopped`);
    expect(cached).toBeGreaterThan(0);
    // The same length, the same everything but the share of the prompt to evaluate.
    expect(fresh).toBeGreaterThan(2 * cached);
  });

  it("reports no decode steps of a stream for the time another prompt's evaluation held its batches", async () => {
    const pool = colo.engine.pool('stories260K')!;
    const seen = new Map<number, number>();
    const observe = pool.estimator.observe.bind(pool.estimator);
    pool.estimator.observe = (o) => {
      let steps = 0;
      for (let i = 1; i < o.steps.length; i += 4) steps += o.steps[i]!;
      seen.set(o.promptTokens ?? 0, steps);
      observe(o);
    };
    try {
      const long = Array.from(
        { length: 12 },
        (_, i) => `The owl number ${i} flew over the barn at night.`,
      ).join(' ');
      const sampling = { ...request('x').sampling, maxTokens: 48 };
      let second: Promise<unknown> | undefined;
      // A stream, and a long prompt sent as its first token arrives: its prefill shares the
      // stream's next batches.
      const first = colo.engine.complete(
        request('held1', { prompt: 'Once upon a time', sampling }),
        {
          onToken: () =>
            (second ??= colo.engine.complete(request('held2', { prompt: long, sampling }), null, never())),
        },
        never(),
      );
      const a = await first;
      await second;
      expect(a.usage.completionTokens).toBe(48);
      const alone = await colo.engine.complete(
        request('held3', { prompt: 'Once upon a time there was', sampling }),
        null,
        never(),
      );
      expect(alone.usage.completionTokens).toBe(48);
      expect(alone.usage.promptTokens).not.toBe(a.usage.promptTokens);
      // Alone, every step after the first token is a sample; beside the prefill, fewer.
      expect(seen.get(alone.usage.promptTokens)).toBe(47);
      expect(seen.get(a.usage.promptTokens)).toBeLessThan(47);
    } finally {
      pool.estimator.observe = observe;
    }
  });

  it('cancels in-band and frees the sequence', async () => {
    const ac = new AbortController();
    let tokens = 0;
    const p = colo.engine.complete(
      request('cx', { sampling: { ...request('x').sampling, maxTokens: 400 } }),
      {
        onToken: () => {
          if (++tokens === 3) ac.abort();
        },
      },
      ac.signal,
    );
    expect(await codeOf(p)).toBe('CANCELLED');
    expect(tokens).toBeLessThan(400);
    const pool = colo.engine.get('stories260K');
    expect(pool.inFlight).toBe(0);
    expect((await pool.workerInfo()).sequencesFree).toBe(4);
  });

  it('a request cancelled while it waits to copy a start ends at once, nothing evaluated', async () => {
    const shared = Array.from(
      { length: 14 },
      (_, i) => `The young deer number ${i} ran into the dark wood.`,
    ).join(' ');
    const run = (id: string, suffix: string, signal: AbortSignal) =>
      colo.engine.complete(
        request(id, { prompt: `${shared} ${suffix}`, sampling: { ...request('x').sampling, maxTokens: 4 } }),
        null,
        signal,
      );
    const leader = run('wait-a', 'Then A', never());
    const ac = new AbortController();
    // Both are on the worker now (dispatch is synchronous); the second waits for the first
    // to evaluate the start they share.
    const follower = run('wait-b', 'Then B', ac.signal).then(
      () => undefined,
      (e: ColoError) => e,
    );
    setImmediate(() => ac.abort());
    const err = await follower;
    expect(err?.code).toBe('CANCELLED');
    // Before, it evaluated its prompt after the wait and stopped on its first token.
    expect(err?.usage?.completionTokens).toBe(0);
    expect((await leader).usage.promptTokens).toBeGreaterThan(64);
    expect(colo.engine.get('stories260K').inFlight).toBe(0);
  });

  it('requests sharing a start, cancelled before, during and after their copies, all end; the pool serves on, unchanged', async () => {
    const pool = colo.engine.get('stories260K');
    const shared = Array.from(
      { length: 12 },
      (_, i) => `The grey goat number ${i} ate the green grass.`,
    ).join(' ');
    const req = (id: string, suffix: string, maxTokens = 16) =>
      request(id, { prompt: `${shared} ${suffix}`, sampling: { ...request('x').sampling, maxTokens } });
    const reference = await colo.engine.complete(req('cc-ref', 'Then Z', 8), null, never());
    // The reference's sequence now holds the start: take it with a long stream so the
    // others copy from it, or wait for the ones that evaluate a new middle.
    for (let round = 0; round < 3; round++) {
      const runs = Array.from({ length: 8 }, (_, i) => {
        const ac = new AbortController();
        // 0: at once (often while waiting to copy); 1: on its first token; 2: never.
        const when = i % 3;
        if (when === 0) setTimeout(() => ac.abort(), i);
        let seen = 0;
        const middle = i % 2 ? `Round ${round} went well for the goats.`.repeat(3) : '';
        return codeOf(
          colo.engine.complete(
            req(`cc-${round}-${i}`, `${middle} Then ${i}`, 24),
            { onToken: () => void (when === 1 && ++seen === 1 && ac.abort()) },
            ac.signal,
          ),
        );
      });
      const codes = await Promise.all(runs);
      for (const c of codes) expect(['ok', 'CANCELLED', 'OVERLOADED']).toContain(c);
      expect(codes).toContain('ok');
    }
    expect(pool.inFlight).toBe(0);
    expect((await pool.workerInfo()).sequencesFree).toBe(4);
    // What the reference's prompt generates is unchanged by all that copying.
    const again = await colo.engine.complete(req('cc-again', 'Then Z', 8), null, never());
    expect(again.text).toBe(reference.text);
  });

  it('ends a request whose deadline passes with DEADLINE', async () => {
    expect(
      await codeOf(
        colo.engine.complete(
          request('dl', { deadlineMs: 3, sampling: { ...request('x').sampling, maxTokens: 400 } }),
          null,
          never(),
        ),
      ),
    ).toBe('DEADLINE');
  });

  it('after 200 aborted streams the pool still serves with every sequence free', async () => {
    const pool = colo.engine.get('stories260K');
    for (let round = 0; round < 50; round++) {
      const runs = Array.from({ length: 4 }, (_, i) => {
        const ac = new AbortController();
        const p = colo.engine.complete(
          request(`ab${round}-${i}`, { sampling: { ...request('x').sampling, maxTokens: 300 } }),
          { onToken: () => ac.abort() },
          ac.signal,
        );
        return codeOf(p);
      });
      for (const c of await Promise.all(runs)) expect(['CANCELLED', 'ok']).toContain(c);
    }
    expect(pool.inFlight).toBe(0);
    expect(pool.queued).toBe(0);
    expect((await pool.workerInfo()).sequencesFree).toBe(4);
    const r = await colo.engine.complete(request('after-aborts'), null, never());
    expect(r.usage.completionTokens).toBe(32);
  });

  it('at 10x capacity rejects the excess at once with OVERLOADED and finishes the admitted', async () => {
    const pool = colo.engine.get('stories260K');
    const capacity = pool.slots + 8; // 4 sequences + queue of 8
    const codes = await Promise.all(
      Array.from({ length: capacity * 10 }, (_, i) =>
        codeOf(colo.engine.complete(request(`o${i}`), null, never())),
      ),
    );
    const ok = codes.filter((c) => c === 'ok').length;
    const overloaded = codes.filter((c) => c === 'OVERLOADED').length;
    expect(ok).toBe(capacity);
    expect(overloaded).toBe(capacity * 9);
    expect(pool.queued).toBe(0);
  });

  it('fails the requests of a crashed worker with WORKER_CRASHED, then serves again', async () => {
    const pool = colo.engine.get('stories260K');
    const held = colo.engine.complete(
      request('held', { sampling: { ...request('x').sampling, maxTokens: 480 }, prompt: 'x' }),
      null,
      never(),
    );
    await pool.injectCrash(0);
    expect(await codeOf(held)).toBe('WORKER_CRASHED');
    const r = await colo.engine.complete(request('after-crash'), null, never());
    expect(r.usage.completionTokens).toBe(32);
    expect((await pool.workerInfo()).recoveries).toBe(1);
    expect(pool.crashFailedRequests).toBe(1);
  });
});

describe('usage accounting', () => {
  it('regression: completion_tokens never exceeds max_tokens (onToken over-reported 9 for 8 on byte tokens)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'colo-usage-'));
    const model = await resolveModel('synthetic:tiny-q8_0', { cacheDir: dir });
    const c = await startColo(
      parseConfig({
        server: { port: 0 },
        audit: { enabled: false },
        auth: { storePath: join(dir, 'auth.json') },
        engine: { models: [{ name: 'syn', source: model.path, sequences: 1, contextSize: 256 }] },
      }),
      quietLog,
    );
    try {
      for (const maxTokens of [1, 8, 33]) {
        const r = await c.engine.complete(
          request(`u${maxTokens}`, {
            model: 'syn',
            prompt: 'Once',
            sampling: { ...request('x').sampling, temperature: 0.8, maxTokens },
          }),
          null,
          new AbortController().signal,
        );
        expect(r.usage.completionTokens).toBeLessThanOrEqual(maxTokens);
        if (r.finishReason === 'length') expect(r.usage.completionTokens).toBe(maxTokens);
      }
    } finally {
      await c.shutdown('test end');
    }
  });
});
