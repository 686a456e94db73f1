/**
 * SCHEMA_VIOLATION with the evidence attached. The model's raw text never goes to the
 * client in the message (it can be long, or echo the input); it stays on the error for
 * the audit record.
 */
import { ColoError } from '../core/errors';

export class SchemaViolationError extends ColoError {
  /** The model's output exactly as received, for the audit record. */
  readonly rawOutput: string;
  /** What failed: "not JSON", "truncated", or ajv's "/path: message" lines. */
  readonly violations: readonly string[];
  readonly skill: string;
  readonly version: string;

  constructor(skill: string, version: string, rawOutput: string, violations: string[]) {
    super(
      'SCHEMA_VIOLATION',
      `skill ${skill}@${version}: output does not match its schema (${violations.slice(0, 3).join('; ')})`,
    );
    this.rawOutput = rawOutput;
    this.violations = violations;
    this.skill = skill;
    this.version = version;
  }
}
