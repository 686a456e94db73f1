import { describe, expect, it } from 'vitest';
import { decide, type DecisionInput } from '../../src/router/decide';

const base: DecisionInput = {
  local: true,
  localFits: true,
  remote: false,
  remainingMs: 1000,
  policy: 'local-first',
};
const missesNow: Partial<DecisionInput> = {
  localFits: false,
  localCode: 'OVERLOADED',
  localRetryAfterMs: 40,
};
const neverFits: Partial<DecisionInput> = { localFits: false, localCode: 'DEADLINE' };
const full: Partial<DecisionInput> = { ...missesNow, localFull: true };

describe('decide', () => {
  it('serves locally when the local prediction fits the deadline', () => {
    expect(decide(base)).toEqual({ route: 'local' });
  });
  it('falls back to remote when the local prediction misses the deadline', () => {
    expect(decide({ ...base, ...missesNow, remote: true })).toEqual({ route: 'remote', reason: 'deadline' });
    expect(decide({ ...base, ...neverFits, remote: true })).toEqual({ route: 'remote', reason: 'deadline' });
  });
  // Regression: a rate probe (predicted to miss, admitted on an idle model) took the
  // request locally even with a remote target allowed; the skill then failed DEADLINE.
  it('prefers an allowed remote over a local rate probe, and probes when there is none', () => {
    const probe = { localFits: true, localProbe: true };
    expect(decide({ ...base, ...probe, remote: true })).toEqual({ route: 'remote', reason: 'deadline' });
    expect(decide({ ...base, ...probe, remote: false })).toEqual({ route: 'local' });
    expect(decide({ ...base, ...probe, remote: true, policy: 'local-only' })).toEqual({ route: 'local' });
  });
  it('falls back to remote when the local queue is full', () => {
    expect(decide({ ...base, ...full, remote: true })).toEqual({ route: 'remote', reason: 'capacity' });
  });
  it('refuses with OVERLOADED and a retry-after when local is busy and no remote is allowed', () => {
    expect(decide({ ...base, ...missesNow })).toMatchObject({
      route: 'reject',
      code: 'OVERLOADED',
      retryAfterMs: 40,
    });
    expect(decide({ ...base, ...full })).toMatchObject({ route: 'reject', code: 'OVERLOADED' });
  });
  it('regression: never admits locally what cannot fit just because no remote exists', () => {
    expect(decide({ ...base, ...neverFits })).toMatchObject({ route: 'reject', code: 'DEADLINE' });
    expect(decide({ ...base, ...missesNow }).route).toBe('reject');
  });
  it('says why a busy model refuses DEADLINE: when a sequence frees and what the request needs', () => {
    const busy = { localFits: false, localCode: 'DEADLINE' as const, localNeedMs: 900, localStartMs: 620 };
    const d = decide({ ...base, ...busy });
    expect(d).toMatchObject({ route: 'reject', code: 'DEADLINE' });
    expect((d as { message: string }).message).toContain('current load');
    expect((d as { message: string }).message).toContain('~620 ms');
    expect((d as { message: string }).message).toContain('900 ms alone');
    expect(d).not.toHaveProperty('retryAfterMs');
    // With a remote target it goes there instead, like any other miss.
    expect(decide({ ...base, ...busy, remote: true })).toEqual({ route: 'remote', reason: 'deadline' });
  });
  it('rejects an already expired deadline with DEADLINE', () => {
    expect(decide({ ...base, remainingMs: 0 })).toMatchObject({ route: 'reject', code: 'DEADLINE' });
  });
  it('answers MODEL_NOT_FOUND when nothing serves the model', () => {
    expect(decide({ ...base, local: false, remote: false })).toMatchObject({
      route: 'reject',
      code: 'MODEL_NOT_FOUND',
    });
  });
  it('goes remote for remote-only models and for remote-first policy', () => {
    expect(decide({ ...base, local: false, remote: true })).toEqual({ route: 'remote', reason: 'policy' });
    expect(decide({ ...base, remote: true, policy: 'remote-first' })).toEqual({
      route: 'remote',
      reason: 'policy',
    });
  });
  it('never leaves local under local-only policy: refuses instead', () => {
    expect(decide({ ...base, remote: true, policy: 'local-only' })).toEqual({ route: 'local' });
    expect(decide({ ...base, ...missesNow, remote: true, policy: 'local-only' })).toMatchObject({
      route: 'reject',
      code: 'OVERLOADED',
    });
  });
});
