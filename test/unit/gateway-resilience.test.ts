import { describe, expect, it } from 'vitest';
import { backoffMs } from '../../src/gateway/backoff';
import { CircuitBreaker, type BreakerState } from '../../src/gateway/breaker';
import { breakerSchema, retrySchema } from '../../src/gateway/config';
import { parseRetryAfter } from '../../src/gateway/providers/retry-after';
import { statusFailure } from '../../src/gateway/providers/http';

describe('parseRetryAfter', () => {
  it('reads delay-seconds, HTTP-dates and retry-after-ms', () => {
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(parseRetryAfter({ 'retry-after': '3' }, now)).toBe(3000);
    expect(parseRetryAfter({ 'retry-after': 'Wed, 21 Oct 2015 07:28:02 GMT' }, now)).toBe(2000);
    expect(parseRetryAfter({ 'retry-after': 'Wed, 21 Oct 2015 07:27:00 GMT' }, now)).toBe(0);
    expect(parseRetryAfter({ 'retry-after': '3', 'retry-after-ms': '250' }, now)).toBe(250);
    expect(parseRetryAfter({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(parseRetryAfter({ 'retry-after': '-1' }, now)).toBeUndefined();
    expect(parseRetryAfter({}, now)).toBeUndefined();
  });
});

describe('statusFailure', () => {
  it("follows the upstream's x-should-retry over the status's default, and keeps the breaker's reading", () => {
    const f = (status: number, headers: Record<string, string> = {}) =>
      statusFailure('t', status, headers, '');
    expect(f(503)).toMatchObject({ transient: true, breaker: true });
    // A refusal the upstream says no retry can fix (Colo's DEADLINE: 504, false).
    expect(f(504, { 'x-should-retry': 'false', 'retry-after': '1' })).toMatchObject({
      transient: false,
      breaker: true,
      retryAfterMs: undefined,
    });
    // A 429 the upstream says not to retry (an exhausted quota, say) is not a rate limit to wait out.
    expect(f(429, { 'x-should-retry': 'false', 'retry-after': '2' })).toMatchObject({
      code: 'RATE_LIMITED',
      transient: false,
      retryAfterMs: undefined,
    });
    expect(f(429, { 'retry-after-ms': '40' })).toMatchObject({ transient: true, retryAfterMs: 40 });
    // A status not retried by default is, when the upstream says so.
    expect(f(409, { 'x-should-retry': 'true' })).toMatchObject({ transient: true });
    expect(f(409)).toMatchObject({ transient: false });
  });
});

describe('backoffMs (full jitter)', () => {
  const cfg = retrySchema.parse({ baseDelayMs: 100, maxDelayMs: 1000 });
  it('is uniform below min(cap, base·2^n)', () => {
    expect(backoffMs(cfg, 0, () => 0.999)).toBe(99);
    expect(backoffMs(cfg, 2, () => 0.5)).toBe(200);
    expect(backoffMs(cfg, 10, () => 0.999)).toBe(999);
    expect(backoffMs(cfg, 3, () => 0)).toBe(0);
  });
});

describe('CircuitBreaker', () => {
  const make = (over: object = {}) => {
    let t = 0;
    const changes: [BreakerState, BreakerState][] = [];
    const b = new CircuitBreaker(
      breakerSchema.parse({ consecutiveFailures: 3, cooldownMs: 1000, ...over }),
      () => t,
      (f, to) => changes.push([f, to]),
    );
    return { b, changes, advance: (ms: number) => (t += ms) };
  };

  it('opens after N consecutive failures, half-opens after the cooldown with one probe, closes on its success', () => {
    const { b, changes, advance } = make();
    b.onFailure();
    b.onSuccess(); // resets the streak
    b.onFailure();
    b.onFailure();
    expect(b.state).toBe('closed');
    b.onFailure();
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
    expect(b.retryInMs()).toBe(1000);
    advance(1000);
    expect(b.tryAcquire()).toBe(true); // the probe
    expect(b.state).toBe('half-open');
    expect(b.tryAcquire()).toBe(false); // only one probe at a time
    b.onSuccess();
    expect(b.state).toBe('closed');
    expect(changes).toEqual([
      ['closed', 'open'],
      ['open', 'half-open'],
      ['half-open', 'closed'],
    ]);
  });

  it('re-opens when the probe fails, and a released probe frees the slot without a verdict', () => {
    const { b, advance } = make();
    for (let i = 0; i < 3; i++) b.onFailure();
    advance(1000);
    expect(b.tryAcquire()).toBe(true);
    b.release();
    expect(b.state).toBe('half-open');
    expect(b.tryAcquire()).toBe(true);
    b.onFailure();
    expect(b.state).toBe('open');
    expect(b.retryInMs()).toBe(1000);
  });

  it('opens on the failure rate over the window even without a long streak', () => {
    const { b } = make({ consecutiveFailures: 100, failureRate: 0.5, window: 10, minRequests: 10 });
    for (let i = 0; i < 5; i++) {
      b.onSuccess();
      expect(b.state).toBe('closed');
      b.onFailure();
    }
    expect(b.state).toBe('open');
  });
});
