import { describe, expect, it } from 'vitest';
import { ColoError, toColoError } from '../../src/core/errors';

const frames = (e: Error) =>
  (e.stack ?? '').split('\n').filter((l) => l.trimStart().startsWith('at ')).length;

describe('ColoError', () => {
  it('keeps a stack only for faults in the server; outcomes are cheap to raise', () => {
    const limit = Error.stackTraceLimit;
    expect(frames(new ColoError('INTERNAL', 'bug'))).toBeGreaterThan(0);
    expect(frames(new ColoError('WORKER_CRASHED', 'lost'))).toBeGreaterThan(0);
    for (const code of [
      'DEADLINE',
      'OVERLOADED',
      'CANCELLED',
      'INVALID_ARGUMENT',
      'UPSTREAM_ERROR',
    ] as const) {
      const e = new ColoError(code, 'refused', { retryAfterMs: 5 });
      expect(frames(e)).toBe(0);
      expect(e.message).toBe('refused');
      expect(e.retryAfterMs).toBe(5);
    }
    // The limit is the process's own again, for every other Error.
    expect(Error.stackTraceLimit).toBe(limit);
    expect(frames(new Error('plain'))).toBeGreaterThan(0);
    // An upstream failure's cause keeps its own stack.
    const cause = new Error('socket hang up');
    expect(frames(new ColoError('UPSTREAM_ERROR', 'upstream x', { cause }).cause as Error)).toBeGreaterThan(
      0,
    );
    // Something thrown that is not a ColoError becomes INTERNAL, with a stack.
    expect(frames(toColoError(new TypeError('x is undefined')))).toBeGreaterThan(0);
  });

  it('tells a client library to retry what waiting can fix, never a DEADLINE refusal', () => {
    expect(new ColoError('OVERLOADED', 'busy').clientMayRetry).toBe(true);
    expect(new ColoError('DEADLINE', 'too long').retryable).toBe(true);
    expect(new ColoError('DEADLINE', 'too long').clientMayRetry).toBe(false);
    expect(new ColoError('QUOTA_EXCEEDED', 'spent').clientMayRetry).toBe(false);
  });
});
