/** Input checks shared by every classifier: what a caller sends must be real, bounded UTF-8 text. */
import { ColoError } from '../core/errors';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export type TextInput = string | Uint8Array;

/**
 * Returns the text as a string or throws INVALID_ARGUMENT (field = `field`) when it is
 * empty or blank, longer than `maxBytes` of UTF-8, or (for bytes) not valid UTF-8.
 */
export function validateText(input: TextInput, maxBytes: number, field = 'text'): string {
  let text: string;
  let bytes: number;
  if (typeof input === 'string') {
    text = input;
    bytes = Buffer.byteLength(text, 'utf8');
  } else if (input instanceof Uint8Array) {
    bytes = input.byteLength;
    if (bytes > maxBytes) throw tooLong(field, bytes, maxBytes);
    try {
      text = utf8.decode(input);
    } catch {
      throw new ColoError('INVALID_ARGUMENT', `${field}: not valid UTF-8`, { field });
    }
  } else {
    throw new ColoError('INVALID_ARGUMENT', `${field}: must be a string or UTF-8 bytes`, { field });
  }
  if (bytes > maxBytes) throw tooLong(field, bytes, maxBytes);
  if (text.trim().length === 0)
    throw new ColoError('INVALID_ARGUMENT', `${field}: must not be empty`, { field });
  return text;
}

const tooLong = (field: string, bytes: number, max: number): ColoError =>
  new ColoError('INVALID_ARGUMENT', `${field}: ${bytes} bytes is over the limit of ${max}`, { field });
