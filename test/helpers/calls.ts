/**
 * Fixtures for tests of the call path without a model: a catalogue for the validator
 * and the field an INVALID_ARGUMENT names.
 */
import { expect } from 'vitest';
import type { Catalogue } from '../../src/api/validate';

/** Model 'm', classifier 'clf', skills 'sentiment' and 'events' (on the default model). */
export const catalogue: Catalogue = {
  defaultModel: 'm',
  kindOf: (n) => (n === 'm' ? 'model' : n === 'clf' ? 'classifier' : undefined),
  skillModel: (n) => (n === 'sentiment' || n === 'events' ? '' : undefined),
};

/** The field `fn` refuses with INVALID_ARGUMENT; fails the test on any other outcome. */
export function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect((e as { code: string }).code).toBe('INVALID_ARGUMENT');
    return (e as { field?: string }).field;
  }
  throw new Error('expected INVALID_ARGUMENT');
}
