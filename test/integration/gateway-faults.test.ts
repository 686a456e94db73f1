/**
 * Gateway.complete against the mock upstream: every injected fault gives the right
 * outcome (retry, failover, STREAM_TRUNCATED, the right code), one deadline covers
 * all retries, retry-after is honoured, the breaker opens and recovers, and the
 * provider key never shows in errors or events.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ColoError } from '../../src/core/errors';
import { Gateway, type GatewayConfigInput } from '../../src/gateway';
import { FIXTURE_TEXT, FIXTURE_USAGE } from '../mocks/upstream/fixtures';
import { captureEvents, makeRequest, recordingSink, until } from '../mocks/upstream/requests';
import { type MockUpstream, refusedUrl, startMockUpstream } from '../mocks/upstream/server';

const SECRET = 'sk-gateway-SECRET-abcdef123456';
let mock: MockUpstream;
const gateways: Gateway[] = [];

beforeAll(async () => {
  mock = await startMockUpstream();
});
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
  mock.setFault('none');
});
afterAll(async () => {
  await mock.close();
});

function oa(name: string, over: object = {}) {
  return {
    name,
    provider: 'openai',
    baseUrl: mock.baseUrl.openai,
    model: 'gpt-mock',
    apiKeyEnv: 'MOCK_KEY',
    ...over,
  };
}
function gw(cfg: GatewayConfigInput): Gateway {
  const g = Gateway.create(cfg, { env: { MOCK_KEY: SECRET } });
  gateways.push(g);
  return g;
}
const signal = () => new AbortController().signal;
async function fail(p: Promise<unknown>): Promise<ColoError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ColoError);
    return err as ColoError;
  }
  throw new Error('expected the request to fail');
}
const newRequests = (from: number) => mock.requests.slice(from);

describe('gateway over real HTTP', () => {
  it('streams through the openai provider with usage, route and the key sent upstream only', async () => {
    const g = gw({ targets: [oa('o')] });
    const sink = recordingSink();
    const from = mock.requests.length;
    const r = await g.complete(makeRequest({ model: 'o' }), sink, signal());
    expect(r.text).toBe(FIXTURE_TEXT);
    expect(sink.tokens.join('')).toBe(FIXTURE_TEXT);
    expect(r.usage).toEqual(FIXTURE_USAGE);
    expect(r.route).toEqual({ kind: 'remote', provider: 'openai', model: 'gpt-mock', cached: false });
    const [rec] = newRequests(from);
    expect(rec!.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect((rec!.body as { stream_options: unknown }).stream_options).toEqual({ include_usage: true });
  });

  it.each(['anthropic', 'gemini'] as const)('streams through the %s provider end to end', async (p) => {
    const g = gw({
      targets: [{ name: p, provider: p, baseUrl: mock.baseUrl[p], model: 'mock', apiKeyEnv: 'MOCK_KEY' }],
    });
    const r = await g.complete(makeRequest({ model: p }), recordingSink(), signal());
    expect([r.text, r.usage, r.finishReason, r.route.provider]).toEqual([
      FIXTURE_TEXT,
      FIXTURE_USAGE,
      'stop',
      p,
    ]);
  });

  it.each(['500', '503', '504', 'reset'])(
    'retries a %s on the same target after backoff and succeeds',
    async (fault) => {
      const g = gw({ targets: [oa('o')], retry: { baseDelayMs: 5 } });
      mock.failNext(fault);
      const from = mock.requests.length;
      const r = await g.complete(makeRequest({ model: 'o' }), recordingSink(), signal());
      expect(r.text).toBe(FIXTURE_TEXT);
      expect(newRequests(from)).toHaveLength(2);
    },
  );

  it('fails over to the next target when the first refuses connections', async () => {
    const g = gw({
      targets: [oa('dead', { baseUrl: `${await refusedUrl()}/v1` }), oa('live')],
      aliases: [{ name: 'x', targets: ['dead', 'live'] }],
    });
    const cap = captureEvents();
    const r = await g.complete(makeRequest({ model: 'x' }), null, signal());
    cap.stop();
    expect(r.text).toBe(FIXTURE_TEXT);
    const attempts = cap.events
      .filter((e) => e.channel === 'colo:gateway:attempt')
      .map((e) => [e.message.target, e.message.code]);
    expect(attempts[0]).toEqual(['dead', 'UPSTREAM_UNAVAILABLE']);
    expect(attempts.at(-1)).toEqual(['live', undefined]);
  });

  it('does not retry a 400 on the same target', async () => {
    const g = gw({ targets: [oa('o', { headers: { 'x-mock-fault': '400' } })] });
    const from = mock.requests.length;
    expect((await fail(g.complete(makeRequest({ model: 'o' }), null, signal()))).code).toBe('UPSTREAM_ERROR');
    expect(newRequests(from)).toHaveLength(1);
  });

  it('honours retry-after within the deadline (waits at least that long, then succeeds)', async () => {
    const g = gw({ targets: [oa('o')], retry: { baseDelayMs: 1 } });
    mock.failNext('429;retry-after=1');
    const t0 = Date.now();
    const r = await g.complete(makeRequest({ model: 'o', deadlineMs: 5000 }), null, signal());
    expect(r.text).toBe(FIXTURE_TEXT);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(990);
  });

  it('fails fast with RATE_LIMITED and retryAfterMs when every target is 429 past the deadline', async () => {
    const g = gw({ targets: [oa('a'), oa('b')], aliases: [{ name: 'x', targets: ['a', 'b'] }] });
    mock.setFault('429;retry-after=30');
    const from = mock.requests.length;
    const err = await fail(g.complete(makeRequest({ model: 'x', deadlineMs: 2000 }), null, signal()));
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.retryAfterMs).toBeGreaterThan(29_000);
    expect(newRequests(from)).toHaveLength(2);
    // The pause is shared: the next request does not even call the upstream.
    const again = await fail(g.complete(makeRequest({ model: 'x', deadlineMs: 2000 }), null, signal()));
    expect(again.code).toBe('RATE_LIMITED');
    expect(newRequests(from)).toHaveLength(2);
    expect(g.canServe('x')).toBe(false);
  });

  it('one deadline covers all retries: attempts stop when the deadline would pass', async () => {
    const g = gw({
      targets: [oa('o')],
      retry: { maxAttemptsPerTarget: 20, maxAttempts: 20, baseDelayMs: 40, maxDelayMs: 80 },
    });
    mock.setFault('503');
    const from = mock.requests.length;
    const err = await fail(g.complete(makeRequest({ model: 'o', deadlineMs: 150 }), null, signal()));
    expect(['UPSTREAM_UNAVAILABLE', 'DEADLINE']).toContain(err.code);
    expect(newRequests(from).length).toBeGreaterThanOrEqual(1);
    expect(newRequests(from).length).toBeLessThan(20);
  });

  it('a stall before the first byte times out (UPSTREAM_TIMEOUT), really cancels the request, and fails over', async () => {
    const g = gw({
      targets: [oa('stuck', { headers: { 'x-mock-fault': 'stall-headers' }, ttfbTimeoutMs: 100 }), oa('ok')],
      aliases: [{ name: 'x', targets: ['stuck', 'ok'] }],
      retry: { maxAttemptsPerTarget: 1 },
    });
    const from = mock.requests.length;
    const r = await g.complete(makeRequest({ model: 'x' }), null, signal());
    expect(r.text).toBe(FIXTURE_TEXT);
    const stuck = newRequests(from)[0]!;
    await stuck.closed;
    expect(stuck.fault.kind).toBe('stall-headers');
    expect(stuck.aborted).toBe(true);
  });

  it('a stall before the first byte ends with UPSTREAM_TIMEOUT when nothing else can answer', async () => {
    const g = gw({
      targets: [oa('stuck', { headers: { 'x-mock-fault': 'stall-headers' }, ttfbTimeoutMs: 50 })],
      retry: { baseDelayMs: 1 },
    });
    expect((await fail(g.complete(makeRequest({ model: 'stuck' }), null, signal()))).code).toBe(
      'UPSTREAM_TIMEOUT',
    );
  });

  it('regression: a stall mid-stream after tokens reached the sink ends with STREAM_TRUNCATED', async () => {
    const g = gw({ targets: [oa('o', { headers: { 'x-mock-fault': 'stall-mid=3' }, stallTimeoutMs: 100 })] });
    const sink = recordingSink();
    const from = mock.requests.length;
    const err = await fail(g.complete(makeRequest({ model: 'o' }), sink, signal()));
    expect(err.code).toBe('STREAM_TRUNCATED');
    expect((err.cause as ColoError).code).toBe('UPSTREAM_TIMEOUT');
    expect(sink.tokens).toEqual(['The', ' market']);
    await newRequests(from)[0]!.closed;
    expect(newRequests(from)[0]!.aborted).toBe(true);
  });

  it('regression: a stream cut without its final chunk after tokens is STREAM_TRUNCATED, not a clean finish', async () => {
    const g = gw({ targets: [oa('o', { headers: { 'x-mock-fault': 'cut=3' } })] });
    const sink = recordingSink();
    expect((await fail(g.complete(makeRequest({ model: 'o' }), sink, signal()))).code).toBe(
      'STREAM_TRUNCATED',
    );
    expect(sink.tokens.length).toBeGreaterThan(0);
  });

  it('a connection dropped mid-stream after tokens is STREAM_TRUNCATED', async () => {
    const g = gw({ targets: [oa('o', { headers: { 'x-mock-fault': 'drop=3' } })] });
    expect((await fail(g.complete(makeRequest({ model: 'o' }), recordingSink(), signal()))).code).toBe(
      'STREAM_TRUNCATED',
    );
  });

  it('a cut before the first token is retried transparently', async () => {
    const g = gw({ targets: [oa('o')], retry: { baseDelayMs: 1 } });
    mock.failNext('cut=1'); // only the role chunk, no text
    const sink = recordingSink();
    const r = await g.complete(makeRequest({ model: 'o' }), sink, signal());
    expect(sink.tokens.join('')).toBe(FIXTURE_TEXT);
    expect(r.finishReason).toBe('stop');
  });

  it('without a sink, a mid-stream stall restarts transparently within the deadline', async () => {
    const g = gw({ targets: [oa('o', { stallTimeoutMs: 100 })], retry: { baseDelayMs: 1 } });
    mock.failNext('stall-mid=3');
    const r = await g.complete(makeRequest({ model: 'o' }), null, signal());
    expect(r.text).toBe(FIXTURE_TEXT);
  });

  it('malformed SSE is not retried on the same target but fails over', async () => {
    const g = gw({
      targets: [oa('bad', { headers: { 'x-mock-fault': 'malformed-sse' } }), oa('ok')],
      aliases: [{ name: 'x', targets: ['bad', 'ok'] }],
    });
    const from = mock.requests.length;
    const r = await g.complete(makeRequest({ model: 'x' }), recordingSink(), signal());
    expect(r.text).toBe(FIXTURE_TEXT);
    expect(newRequests(from).map((q) => q.fault.kind)).toEqual(['malformed-sse', 'none']);
  });

  it('an invalid JSON body (non-streaming target) maps to UPSTREAM_ERROR', async () => {
    const g = gw({ targets: [oa('o', { stream: false, headers: { 'x-mock-fault': 'invalid-json' } })] });
    expect((await fail(g.complete(makeRequest({ model: 'o' }), null, signal()))).code).toBe('UPSTREAM_ERROR');
  });

  it('a slow drip below the stall timeout completes', async () => {
    const g = gw({ targets: [oa('o', { headers: { 'x-mock-fault': 'drip=15' }, stallTimeoutMs: 2000 })] });
    const r = await g.complete(makeRequest({ model: 'o' }), recordingSink(), signal());
    expect([r.text, r.finishReason]).toEqual([FIXTURE_TEXT, 'stop']);
  });

  it('a caller cancel mid-stream gives CANCELLED and aborts the upstream request', async () => {
    const g = gw({ targets: [oa('o', { headers: { 'x-mock-fault': 'drip=300' } })] });
    const ctl = new AbortController();
    const from = mock.requests.length;
    const sink = { onToken: () => ctl.abort() };
    expect((await fail(g.complete(makeRequest({ model: 'o' }), sink, ctl.signal))).code).toBe('CANCELLED');
    await newRequests(from)[0]!.closed;
    expect(newRequests(from)[0]!.aborted).toBe(true);
  });

  it('the breaker opens after repeated failures, fails fast, and recovers through one half-open probe', async () => {
    const g = gw({
      targets: [oa('o')],
      retry: { maxAttemptsPerTarget: 1 },
      breaker: { consecutiveFailures: 2, cooldownMs: 150 },
    });
    const cap = captureEvents();
    mock.setFault('500');
    for (let i = 0; i < 2; i++)
      expect((await fail(g.complete(makeRequest({ model: 'o' }), null, signal()))).code).toBe(
        'UPSTREAM_ERROR',
      );
    expect(g.stats().targets[0]!.breaker).toBe('open');
    const from = mock.requests.length;
    expect((await fail(g.complete(makeRequest({ model: 'o' }), null, signal()))).code).toBe('CIRCUIT_OPEN');
    expect(newRequests(from)).toHaveLength(0);
    mock.setFault('none');
    await until(() => g.canServe('o'), 'breaker cooldown');
    const r = await g.complete(makeRequest({ model: 'o' }), null, signal());
    expect(r.text).toBe(FIXTURE_TEXT);
    expect(g.stats().targets[0]!.breaker).toBe('closed');
    cap.stop();
    const transitions = cap.events
      .filter((e) => e.channel === 'colo:gateway:breaker')
      .map((e) => `${e.message.from}>${e.message.to}`);
    expect(transitions).toEqual(['closed>open', 'open>half-open', 'half-open>closed']);
  });

  it('never puts the provider key in errors or events, even when the upstream echoes it', async () => {
    const g = gw({ targets: [oa('o', { headers: { 'x-mock-fault': '401;echo-auth' } })] });
    const cap = captureEvents();
    const err = await fail(g.complete(makeRequest({ model: 'o' }), null, signal()));
    cap.stop();
    expect(err.code).toBe('UPSTREAM_ERROR');
    const everything = JSON.stringify([err.message, err.toJSON(), String(err.stack), cap.events, g.stats()]);
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain('gateway-SECRET');
  });
});
