/**
 * Hedging: when the first token is late, a second target is asked; the first to
 * produce a token wins and the loser's HTTP request is really cancelled (the mock
 * upstream sees the client go away).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Gateway, type GatewayConfigInput } from '../../src/gateway';
import { FIXTURE_TEXT } from '../mocks/upstream/fixtures';
import { captureEvents, makeRequest, recordingSink } from '../mocks/upstream/requests';
import { type MockUpstream, startMockUpstream } from '../mocks/upstream/server';

let mock: MockUpstream;
const gateways: Gateway[] = [];
beforeAll(async () => {
  mock = await startMockUpstream();
});
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});
afterAll(async () => {
  await mock.close();
});

const oa = (name: string, fault: string, over: object = {}) => ({
  name,
  provider: 'openai',
  baseUrl: mock.baseUrl.openai,
  model: `model-${name}`,
  headers: { 'x-mock-fault': fault },
  ...over,
});
const gw = (cfg: GatewayConfigInput) => {
  const g = Gateway.create(cfg);
  gateways.push(g);
  return g;
};

describe('hedging', () => {
  it('sends a hedge when the first token is late, keeps the winner and cancels the loser upstream', async () => {
    const g = gw({
      targets: [oa('slow', 'delay=5000'), oa('fast', 'none')],
      aliases: [{ name: 'h', targets: ['slow', 'fast'], hedgeDelayMs: 50 }],
    });
    const cap = captureEvents();
    const from = mock.requests.length;
    const sink = recordingSink();
    const r = await g.complete(makeRequest({ model: 'h' }), sink, new AbortController().signal);
    cap.stop();
    expect(r.route.model).toBe('model-fast');
    expect(sink.tokens.join('')).toBe(FIXTURE_TEXT);
    const [slow, fast] = mock.requests.slice(from);
    expect(slow!.fault.kind).toBe('delay');
    await slow!.closed;
    expect(slow!.aborted).toBe(true);
    expect(fast!.aborted).toBe(false);
    expect(cap.events.find((e) => e.channel === 'colo:gateway:hedge')?.message).toMatchObject({
      primary: 'slow',
      hedge: 'fast',
    });
    const slowAttempt = cap.events.find(
      (e) => e.channel === 'colo:gateway:attempt' && e.message.target === 'slow',
    );
    expect(slowAttempt?.message).toMatchObject({ outcome: 'aborted', hedge: false });
    // A hedge loser says nothing about the target's health.
    expect(g.stats().targets.find((t) => t.name === 'slow')).toMatchObject({
      breaker: 'closed',
      consecutiveFailures: 0,
      inFlight: 0,
    });
  });

  it('keeps the primary when it answers before the hedge delay (no hedge sent)', async () => {
    const g = gw({
      targets: [oa('a', 'none'), oa('b', 'none')],
      aliases: [{ name: 'h', targets: ['a', 'b'], hedgeDelayMs: 2000 }],
    });
    const from = mock.requests.length;
    const r = await g.complete(makeRequest({ model: 'h' }), null, new AbortController().signal);
    expect(r.route.model).toBe('model-a');
    expect(mock.requests.slice(from)).toHaveLength(1);
  });

  it('when the hedge fails, the primary still wins', async () => {
    const g = gw({
      targets: [oa('a', 'delay=200'), oa('b', '500')],
      aliases: [{ name: 'h', targets: ['a', 'b'], hedgeDelayMs: 20 }],
      retry: { maxAttemptsPerTarget: 1 },
    });
    const r = await g.complete(makeRequest({ model: 'h' }), null, new AbortController().signal);
    expect(r.route.model).toBe('model-a');
    expect(r.text).toBe(FIXTURE_TEXT);
  });
});
