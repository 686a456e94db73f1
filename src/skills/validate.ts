/**
 * Output validation with ajv against a skill's (normalized) JSON Schema. Local output is
 * grammar-constrained and should always pass; remote output is not, so this is where a
 * provider's free-form answer is caught before it becomes a signal.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { JsonSchema } from './types';

// One instance for every skill: compiled validators are cached per schema object.
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: false });

export type OutputValidator = (value: unknown) => string[];

/** Compiles a validator that returns [] for a valid value, else one line per violation ("/path: message"). */
export function compileValidator(schema: JsonSchema): OutputValidator {
  const fn: ValidateFunction = ajv.compile(schema);
  return (value) => {
    if (fn(value)) return [];
    return (fn.errors ?? []).slice(0, 10).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}`);
  };
}
