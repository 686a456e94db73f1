/**
 * The gateway with the in-process dummy provider only (no network): config checks,
 * routing and policies, deadlines, truncation, events, stats and close.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ColoError } from '../../src/core/errors';
import { Gateway, type GatewayConfigInput, gatewayConfigSchema } from '../../src/gateway';
import { orderTargets } from '../../src/gateway/policy';
import { captureEvents, makeRequest, recordingSink } from '../mocks/upstream/requests';
import { waitFor } from '../helpers/wait';

const open: Gateway[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((g) => g.close()));
});

function gw(cfg: GatewayConfigInput, deps: Parameters<typeof Gateway.create>[1] = {}): Gateway {
  const g = Gateway.create(cfg, deps);
  open.push(g);
  return g;
}

const dummy = (name: string, model: string, over: object = {}) => ({
  name,
  provider: 'dummy',
  model,
  ...over,
});
const signal = () => new AbortController().signal;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(ColoError);
    return (err as ColoError).code;
  }
}

describe('gateway config', () => {
  it('fills every default and rejects unknown keys', () => {
    const cfg = gatewayConfigSchema.parse({ targets: [dummy('a', 'echo')] });
    expect(cfg.retry).toEqual({
      maxAttemptsPerTarget: 2,
      maxAttempts: 6,
      baseDelayMs: 50,
      maxDelayMs: 2000,
      maxRetryAfterMs: 10_000,
    });
    expect(cfg.breaker).toEqual({
      consecutiveFailures: 5,
      failureRate: 0.5,
      window: 20,
      minRequests: 10,
      cooldownMs: 5000,
    });
    expect(cfg.targets[0]).toMatchObject({
      endpoint: 'chat',
      stream: true,
      weight: 1,
      ttfbTimeoutMs: 5000,
      stallTimeoutMs: 10_000,
    });
    // One default deadline for all of Colo (server.defaultDeadlineMs); the gateway has none of its own.
    expect(cfg).not.toHaveProperty('defaultDeadlineMs');
    expect(() => gatewayConfigSchema.parse({ targets: [{ ...dummy('a', 'echo'), wieght: 2 }] })).toThrow(
      /wieght/,
    );
  });

  it('rejects unknown providers, unknown alias targets, bad dummy models and missing key variables', () => {
    const codeField = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return `${(err as ColoError).code} ${(err as ColoError).field}`;
      }
      return 'ok';
    };
    expect(codeField(() => Gateway.create({ targets: [dummy('a', 'echo', { provider: 'nope' })] }))).toBe(
      'INVALID_ARGUMENT gateway.targets[0].provider',
    );
    expect(
      codeField(() =>
        Gateway.create({ targets: [dummy('a', 'echo')], aliases: [{ name: 'x', targets: ['a', 'b'] }] }),
      ),
    ).toBe('INVALID_ARGUMENT gateway.aliases[0].targets[1]');
    expect(codeField(() => Gateway.create({ targets: [dummy('a', 'whatever')] }))).toBe(
      'INVALID_ARGUMENT gateway.targets[0].model',
    );
    expect(
      codeField(() =>
        Gateway.create(
          { targets: [{ name: 'o', provider: 'openai', model: 'gpt', apiKeyEnv: 'COLO_TEST_UNSET_KEY' }] },
          { env: {} },
        ),
      ),
    ).toBe('INVALID_ARGUMENT gateway.targets[0].apiKeyEnv');
    expect(
      codeField(() =>
        Gateway.create({ targets: [dummy('a', 'echo', { provider: 'anthropic', endpoint: 'completion' })] }),
      ),
    ).toBe('INVALID_ARGUMENT gateway.targets[0].endpoint');
  });
});

describe('gateway routing', () => {
  it('answers an alias through its target and reports the route, usage and ordered timings', async () => {
    const g = gw({ targets: [dummy('d', 'echo')], aliases: [{ name: 'fast', targets: ['d'] }] });
    const sink = recordingSink();
    const r = await g.complete(makeRequest({ model: 'fast', prompt: 'buy the dip' }), sink, signal());
    expect(r.text).toBe('buy the dip');
    expect(sink.tokens).toEqual(['buy', ' the', ' dip']);
    expect(r.finishReason).toBe('stop');
    expect(r.usage).toEqual({ promptTokens: 3, completionTokens: 3 });
    expect(r.route).toEqual({ kind: 'remote', provider: 'dummy', model: 'echo', cached: false });
    expect(r.timings.queueUs).toBeLessThanOrEqual(r.timings.ttftUs);
    expect(r.timings.ttftUs).toBeLessThanOrEqual(r.timings.totalUs);
  });

  it('knows its models, accepts target names directly and rejects unknown ones', async () => {
    const g = gw({
      targets: [dummy('d', 'echo'), dummy('e', 'error')],
      aliases: [{ name: 'x', targets: ['e', 'd'] }],
    });
    expect(g.hasModel('x') && g.hasModel('d') && !g.hasModel('nope')).toBe(true);
    expect(g.listModels()).toContainEqual({ id: 'x', kind: 'alias', provider: 'dummy', targets: ['e', 'd'] });
    expect((await g.complete(makeRequest({ model: 'd' }), null, signal())).route.model).toBe('echo');
    expect(await codeOf(g.complete(makeRequest({ model: 'nope' }), null, signal()))).toBe('MODEL_NOT_FOUND');
  });

  it('falls back in order when the first target fails, and counts max tokens as length', async () => {
    const g = gw({
      targets: [dummy('bad', 'error:503'), dummy('good', 'echo')],
      aliases: [{ name: 'x', targets: ['bad', 'good'] }],
    });
    const r = await g.complete(
      makeRequest({ model: 'x', prompt: 'a b c d', sampling: { ...makeRequest().sampling, maxTokens: 2 } }),
      null,
      signal(),
    );
    expect(r.route.model).toBe('echo');
    expect(r.text).toBe('a b');
    expect(r.finishReason).toBe('length');
  });

  it('weighted policy picks first in proportion to weight', () => {
    const g = gw({
      targets: [
        dummy('a', 'echo', { weight: 3 }),
        dummy('b', 'echo', { weight: 1 }),
        dummy('z', 'echo', { weight: 0 }),
      ],
    });
    const targets = ['a', 'b', 'z'].map((n) =>
      (g as unknown as { targets: Map<string, never> }).targets.get(n)!,
    );
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const firsts = { a: 0, b: 0, z: 0 } as Record<string, number>;
    for (let i = 0; i < 4000; i++) firsts[orderTargets('weighted', targets, random)[0]!.name]!++;
    expect(firsts.z).toBe(0);
    expect(firsts.a! / 4000).toBeGreaterThan(0.7);
    expect(firsts.a! / 4000).toBeLessThan(0.8);
  });

  it('least-latency policy orders by EWMA time to first token, unmeasured first', () => {
    const g = gw({ targets: [dummy('a', 'echo'), dummy('b', 'echo'), dummy('c', 'echo')] });
    const t = (n: string) =>
      (
        g as unknown as { targets: Map<string, { ewmaTtftMs: number | undefined; name: string }> }
      ).targets.get(n)!;
    t('a').ewmaTtftMs = 30;
    t('b').ewmaTtftMs = 10;
    const order = orderTargets('least-latency', [t('a'), t('b'), t('c')] as never, Math.random);
    expect(order.map((x) => x.name)).toEqual(['c', 'b', 'a']);
  });
});

describe('gateway deadlines, stalls and truncation', () => {
  it('ends a stalled upstream with DEADLINE when the deadline comes first', async () => {
    const g = gw({ targets: [dummy('s', 'stall')] });
    expect(await codeOf(g.complete(makeRequest({ model: 's', deadlineMs: 50 }), null, signal()))).toBe(
      'DEADLINE',
    );
    expect(g.stats().targets[0]!.inFlight).toBe(0);
  });

  it('counts the deadline from the receipt time the caller passes', async () => {
    const g = gw({ targets: [dummy('d', 'echo')] });
    const receivedAt = performance.now() - 1000;
    expect(
      await codeOf(g.complete(makeRequest({ model: 'd', deadlineMs: 500 }), null, signal(), receivedAt)),
    ).toBe('DEADLINE');
  });

  it('turns an inter-chunk stall into UPSTREAM_TIMEOUT and fails over before the first token', async () => {
    const g = gw({
      targets: [dummy('s', 'stall', { stallTimeoutMs: 30 }), dummy('d', 'echo')],
      aliases: [{ name: 'x', targets: ['s', 'd'] }],
    });
    const cap = captureEvents();
    const r = await g.complete(makeRequest({ model: 'x' }), null, signal());
    cap.stop();
    expect(r.route.model).toBe('echo');
    const attempts = cap.events
      .filter((e) => e.channel === 'colo:gateway:attempt')
      .map((e) => [e.message.target, e.message.outcome, e.message.code]);
    expect(attempts).toEqual([
      ['s', 'error', 'UPSTREAM_TIMEOUT'],
      ['d', 'ok', undefined],
    ]);
  });

  it('regression: a stream that ends unfinished after tokens reached the sink is STREAM_TRUNCATED, never a clean finish', async () => {
    const g = gw({
      targets: [dummy('t', 'truncate:2'), dummy('d', 'echo')],
      aliases: [{ name: 'x', targets: ['t', 'd'] }],
    });
    const sink = recordingSink();
    expect(
      await codeOf(g.complete(makeRequest({ model: 'x', prompt: 'one two three' }), sink, signal())),
    ).toBe('STREAM_TRUNCATED');
    expect(sink.tokens).toEqual(['one', ' two']);
  });

  it('without a sink, a truncated stream is retried elsewhere transparently', async () => {
    const g = gw({
      targets: [dummy('t', 'truncate:2'), dummy('d', 'echo')],
      aliases: [{ name: 'x', targets: ['t', 'd'] }],
    });
    const r = await g.complete(makeRequest({ model: 'x', prompt: 'one two three' }), null, signal());
    expect(r.text).toBe('one two three');
    expect(r.route.model).toBe('echo');
  });

  it('cancels with CANCELLED when the caller aborts, and frees the in-flight slot', async () => {
    const g = gw({ targets: [dummy('s', 'stall')] });
    const ctl = new AbortController();
    const p = g.complete(makeRequest({ model: 's' }), null, ctl.signal);
    setTimeout(() => ctl.abort(), 10);
    expect(await codeOf(p)).toBe('CANCELLED');
    expect(g.stats().targets[0]!.inFlight).toBe(0);
  });
});

describe('gateway breaker, stats and close', () => {
  it('opens the breaker after consecutive failures, then fails fast with CIRCUIT_OPEN', async () => {
    const g = gw({
      targets: [dummy('e', 'error:500')],
      retry: { maxAttemptsPerTarget: 1 },
      breaker: { consecutiveFailures: 2, cooldownMs: 60_000 },
    });
    expect(await codeOf(g.complete(makeRequest({ model: 'e' }), null, signal()))).toBe('UPSTREAM_ERROR');
    expect(g.canServe('e')).toBe(true);
    expect(await codeOf(g.complete(makeRequest({ model: 'e' }), null, signal()))).toBe('UPSTREAM_ERROR');
    expect(g.stats().targets[0]).toMatchObject({ name: 'e', breaker: 'open', consecutiveFailures: 2 });
    expect(g.canServe('e')).toBe(false);
    expect(g.estimate('e')!.retryAfterMs).toBeGreaterThan(0);
    const err = await g.complete(makeRequest({ model: 'e' }), null, signal()).catch((e: ColoError) => e);
    expect((err as ColoError).code).toBe('CIRCUIT_OPEN');
    expect((err as ColoError).retryAfterMs).toBeGreaterThan(0);
  });

  it('a 400-class failure does not trip the breaker and is not retried on the same target', async () => {
    const g = gw({ targets: [dummy('e', 'error:400')], breaker: { consecutiveFailures: 1 } });
    const cap = captureEvents();
    expect(await codeOf(g.complete(makeRequest({ model: 'e' }), null, signal()))).toBe('UPSTREAM_ERROR');
    cap.stop();
    expect(cap.events.filter((e) => e.channel === 'colo:gateway:attempt')).toHaveLength(1);
    expect(g.stats().targets[0]!.breaker).toBe('closed');
  });

  it('close() cancels in-flight requests with SHUTTING_DOWN and refuses new ones', async () => {
    const g = Gateway.create({ targets: [dummy('s', 'stall')] });
    const p = g.complete(makeRequest({ model: 's' }), null, signal());
    await waitFor(() => g.stats().inFlightRequests === 1, 'the request to be in flight');
    await g.close();
    expect(await codeOf(p)).toBe('SHUTTING_DOWN');
    expect(await codeOf(g.complete(makeRequest({ model: 's' }), null, signal()))).toBe('SHUTTING_DOWN');
  });
});

describe('gateway planner order', () => {
  it('regression: a failed target whose backoff drew 0 still goes behind targets not tried yet', async () => {
    // random() = 0 makes every full-jitter backoff 0 ms.
    const g = gw(
      {
        targets: [dummy('bad', 'error:503'), dummy('good', 'echo')],
        aliases: [{ name: 'x', targets: ['bad', 'good'] }],
      },
      { random: () => 0 },
    );
    const cap = captureEvents();
    await g.complete(makeRequest({ model: 'x' }), null, signal());
    cap.stop();
    const order = cap.events.filter((e) => e.channel === 'colo:gateway:attempt').map((e) => e.message.target);
    expect(order).toEqual(['bad', 'good']);
  });
});
