/** Skill input checks: real, bounded UTF-8 text, or INVALID_ARGUMENT naming the field. */
import { ColoError } from '../core/errors';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function validateInput(input: unknown, maxBytes: number, field = 'input'): string {
  let text: string;
  if (typeof input === 'string') {
    // A lone surrogate (e.g. "\ud800" in JSON) has no UTF-8 encoding: it would reach the model as U+FFFD.
    if (LONE_SURROGATE.test(input))
      throw new ColoError('INVALID_ARGUMENT', `${field}: not valid UTF-8 (lone surrogate)`, { field });
    text = input;
  } else if (input instanceof Uint8Array) {
    if (input.byteLength > maxBytes) throw tooLong(field, input.byteLength, maxBytes);
    try {
      text = utf8.decode(input);
    } catch {
      throw new ColoError('INVALID_ARGUMENT', `${field}: not valid UTF-8`, { field });
    }
  } else {
    throw new ColoError('INVALID_ARGUMENT', `${field}: must be a string`, { field });
  }
  if (text.trim().length === 0)
    throw new ColoError('INVALID_ARGUMENT', `${field}: must not be empty`, { field });
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) throw tooLong(field, bytes, maxBytes);
  return text;
}

const tooLong = (field: string, bytes: number, max: number) =>
  new ColoError('INVALID_ARGUMENT', `${field}: ${bytes} bytes is over this skill's limit of ${max}`, {
    field,
  });
