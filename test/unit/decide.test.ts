import { describe, expect, it } from 'vitest';
import { decide, type DecisionInput } from '../../src/router/decide';

const base: DecisionInput = {
  local: true,
  localCapacity: true,
  localWaitMs: 0,
  localServiceMs: 10,
  remote: false,
  remainingMs: 1000,
  policy: 'local-first',
};

describe('decide', () => {
  it('serves locally when the local estimate fits the deadline', () => {
    expect(decide(base)).toEqual({ route: 'local' });
  });
  it('falls back to remote when the local estimate misses the deadline', () => {
    expect(decide({ ...base, remote: true, localWaitMs: 990, localServiceMs: 20 })).toEqual({
      route: 'remote',
      reason: 'deadline',
    });
  });
  it('falls back to remote when the local queue is full', () => {
    expect(decide({ ...base, remote: true, localCapacity: false })).toEqual({
      route: 'remote',
      reason: 'capacity',
    });
  });
  it('rejects with OVERLOADED when local is full and no remote is allowed', () => {
    expect(decide({ ...base, localCapacity: false })).toMatchObject({ route: 'reject', code: 'OVERLOADED' });
  });
  it('tries locally with no remote even if the estimate misses (the deadline timer still applies)', () => {
    expect(decide({ ...base, localWaitMs: 5000 })).toEqual({ route: 'local' });
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
  it('never leaves local under local-only policy', () => {
    expect(decide({ ...base, remote: true, policy: 'local-only', localWaitMs: 5000 })).toEqual({
      route: 'local',
    });
  });
});
