/**
 * The one pipeline with fake parts: the order of its steps, what it charges whatever
 * ended a request, how it names a shutdown, and how it logs an INTERNAL error's cause.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CALL_LIMITS } from '../../src/api/validate';
import { RequestPipeline, type CallRunner } from '../../src/app/pipeline';
import type { CallInput } from '../../src/core/call';
import { ColoError } from '../../src/core/errors';
import type { Principal } from '../../src/core/routes';
import type { CompletionResult } from '../../src/core/types';

const principal: Principal = { tenant: 't', keyId: 'k', keyName: 'k', allowRemote: true, anonymous: false };
const input = (over: Partial<CallInput> = {}): CallInput => ({
  id: 'r1',
  model: 'm',
  prompt: 'hello there',
  max_tokens: 10,
  receivedAt: performance.now(),
  ...over,
});
const ok = (id: string): CompletionResult => ({
  id,
  text: 'x',
  finishReason: 'stop',
  usage: { promptTokens: 3, completionTokens: 4 },
  route: { kind: 'local', provider: 'local', model: 'm', cached: false },
  timings: { queueUs: 0, ttftUs: 0, totalUs: 0 },
});

function harness(run: CallRunner['run'], over: { authorize?: () => Promise<void> } = {}) {
  const steps: string[] = [];
  const settled: { tokens: number; cost?: number | undefined }[] = [];
  const audited: { code?: string; tokens?: number }[] = [];
  const elapsed: (number | undefined)[] = [];
  const logs: Record<string, unknown>[] = [];
  const reserved: number[] = [];
  const pipeline = new RequestPipeline({
    runner: {
      run: (...a) => {
        steps.push('run');
        return run(...a);
      },
    },
    limits: DEFAULT_CALL_LIMITS,
    catalogue: {
      defaultModel: 'm',
      kindOf: (n) => (n === 'm' ? 'model' : undefined),
      skillModel: () => undefined,
    },
    auth: {
      authorize: async () => {
        steps.push('authorize');
        await over.authorize?.();
      },
    } as never,
    limiter: {
      reserve: async (r: { tokens: number }) => (
        steps.push('reserve'),
        reserved.push(r.tokens),
        { settled: false }
      ),
      settle: async (_r: unknown, u: { tokens: number; cost?: number }) => void settled.push(u),
      close: async () => undefined,
    } as never,
    audit: {
      record: (i: { error?: ColoError; result?: CompletionResult; elapsedUs?: number }) => {
        steps.push('audit');
        elapsed.push(i.elapsedUs);
        audited.push({
          code: i.error?.code,
          tokens: i.result?.usage.completionTokens ?? i.error?.usage?.completionTokens,
        });
        return undefined;
      },
    } as never,
    price: (_route, _model, u) => u.promptTokens * 2 + u.completionTokens * 10,
    log: {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (msg: string, f?: Record<string, unknown>) => void logs.push({ msg, ...f }),
    },
  });
  return { pipeline, steps, settled, audited, logs, reserved, elapsed };
}

const exec = (p: RequestPipeline, i: CallInput, signal = new AbortController().signal) =>
  p.execute(i, 'ws', principal, null, signal);

describe('RequestPipeline', () => {
  it('runs validate → authorize → reserve → run → settle → audit, and prices what was used', async () => {
    const h = harness(async (call) => ok(call.id));
    const r = await exec(h.pipeline, input());
    expect(h.steps).toEqual(['authorize', 'reserve', 'run', 'audit']);
    expect(h.settled).toEqual([{ tokens: 7, cost: 3 * 2 + 4 * 10 }]);
    expect(r.costMicros).toBe(46);
  });

  it('reserves quota for every ticker of a fan-out, then settles what was used', async () => {
    const h = harness(async (call) => ok(call.id));
    const fan = (n: number) =>
      input({
        choices: ['up', 'down', 'flat'],
        max_tokens: 1,
        tickers: Array.from({ length: n }, (_, i) => `TKR${i}`),
      });
    await exec(h.pipeline, fan(1));
    await exec(h.pipeline, fan(33));
    const [one, many] = h.reserved as [number, number];
    // Each ticker adds its prompt suffix and the choices (about 8 tokens here).
    expect(many - one).toBeGreaterThanOrEqual(32 * 8);
    expect(h.settled.at(-1)).toEqual({ tokens: 7, cost: 46 });
  });

  it('a refused authorization never reserves or runs, and is audited', async () => {
    const h = harness(async (call) => ok(call.id), {
      authorize: () => Promise.reject(new ColoError('PERMISSION_DENIED', 'no')),
    });
    await expect(exec(h.pipeline, input())).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(h.steps).toEqual(['authorize', 'audit']);
    expect(h.audited).toEqual([{ code: 'PERMISSION_DENIED', tokens: undefined }]);
  });

  it('a request that ends without a result is audited with its time from receipt to the refusal', async () => {
    const h = harness(async (call) => {
      if (call.id === 'busy') throw new ColoError('OVERLOADED', 'busy', { retryAfterMs: 5 });
      return ok(call.id);
    });
    const receivedAt = performance.now() - 7;
    await expect(exec(h.pipeline, input({ id: 'busy', receivedAt }))).rejects.toMatchObject({
      code: 'OVERLOADED',
    });
    await expect(exec(h.pipeline, input({ receivedAt, max_tokens: 0 }))).rejects.toMatchObject({
      field: 'max_tokens',
    });
    await exec(h.pipeline, input({ receivedAt }));
    const [overloaded, invalid, answered] = h.elapsed;
    expect(overloaded).toBeGreaterThanOrEqual(7000);
    expect(invalid).toBeGreaterThanOrEqual(7000);
    // An answered request's record takes its timings from the result instead.
    expect(answered).toBeUndefined();
  });

  it('an invalid request is refused before authorize, and still audited', async () => {
    const h = harness(async (call) => ok(call.id));
    await expect(exec(h.pipeline, input({ max_tokens: 0 }))).rejects.toMatchObject({ field: 'max_tokens' });
    expect(h.steps).toEqual(['audit']);
  });

  it('charges and audits the tokens of a request that ended without a result', async () => {
    const h = harness(async () => {
      throw new ColoError('CANCELLED', 'gone', { usage: { promptTokens: 3, completionTokens: 40 } });
    });
    await expect(exec(h.pipeline, input())).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(h.settled).toEqual([{ tokens: 43, cost: 406 }]);
    expect(h.audited).toEqual([{ code: 'CANCELLED', tokens: 40 }]);
  });

  it('an abort for shutdown ends the request SHUTTING_DOWN, keeping its usage', async () => {
    const ctl = new AbortController();
    let running: () => void = () => undefined;
    const started = new Promise<void>((r) => (running = r));
    const h = harness(
      (_c, _s, signal) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () =>
            reject(new ColoError('CANCELLED', 'x', { usage: { promptTokens: 1, completionTokens: 2 } })),
          );
          running();
        }),
    );
    const p = exec(h.pipeline, input(), ctl.signal);
    await started;
    ctl.abort(new ColoError('SHUTTING_DOWN', 'server shut down'));
    await expect(p).rejects.toMatchObject({ code: 'SHUTTING_DOWN', usage: { completionTokens: 2 } });
  });

  it("logs an INTERNAL error's cause once per second with the request id, counting the rest", async () => {
    const h = harness(async () => {
      throw new TypeError('boom in a runner');
    });
    await expect(exec(h.pipeline, input({ id: 'a' }))).rejects.toMatchObject({
      code: 'INTERNAL',
      message: 'internal error',
    });
    await expect(exec(h.pipeline, input({ id: 'b' }))).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(h.logs).toHaveLength(1);
    expect(h.logs[0]).toMatchObject({ msg: 'internal error', requestId: 'a' });
    expect(String(h.logs[0]!.cause)).toContain('boom in a runner');
    expect(h.pipeline.internalErrors).toBe(2);
  });
});
