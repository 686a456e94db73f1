/**
 * API key material: generation, hashing and constant-time checking.
 *
 * Keys are `colo_` + 32 base62 characters (~190 bits from the CSPRNG). The key id is
 * the key's first 13 characters (`colo_` + 8), shown in lists and logs and used to
 * find the stored record in O(1); the rest never leaves the request.
 *
 * Hash choice: HMAC-SHA-256 with a server-side pepper, not scrypt. The check runs on
 * every request and upgrade; scrypt's cost (tens of ms per check at safe parameters)
 * only buys protection for low-entropy secrets such as passwords. These keys carry
 * ~190 random bits, so a stolen hash table cannot be brute-forced either way, and the
 * pepper (kept outside the store) makes a leaked store alone useless for an offline
 * guess. Measured figures are in README.md.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const KEY_PREFIX = 'colo_';
const SECRET_CHARS = 32;
const KEY_ID_CHARS = 8;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_RE = /^colo_[0-9A-Za-z]{32}$/;

/** Uniform base62 via rejection sampling (bytes >= 248 are dropped to avoid modulo bias). */
function randomBase62(n: number): string {
  let out = '';
  while (out.length < n) {
    const buf = randomBytes(n * 2);
    for (const b of buf) {
      if (b >= 248) continue;
      out += ALPHABET[b % 62];
      if (out.length === n) break;
    }
  }
  return out;
}

/** A fresh plaintext key. Shown to its owner once, never stored. */
export function generateApiKey(): string {
  return KEY_PREFIX + randomBase62(SECRET_CHARS);
}

/** Whether the string has the shape of a Colo key (cheap pre-check before any lookup). */
export function isApiKeyShape(key: string): boolean {
  return KEY_RE.test(key);
}

/** The public short id of a key: `colo_` + its first 8 random characters. */
export function keyIdOf(key: string): string {
  return key.slice(0, KEY_PREFIX.length + KEY_ID_CHARS);
}

/** Hex HMAC-SHA-256 of the key under the pepper: what stores and config hold. */
export function hashApiKey(key: string, pepper: string): string {
  return createHmac('sha256', pepper).update(key).digest('hex');
}

/** Constant-time comparison of a presented key against a stored hex hash. */
export function verifyApiKey(key: string, pepper: string, storedHashHex: string): boolean {
  const stored = Buffer.from(storedHashHex, 'hex');
  const actual = createHmac('sha256', pepper).update(key).digest();
  // Length differs only for a malformed stored hash; still compare to keep timing flat.
  if (stored.length !== actual.length) {
    timingSafeEqual(actual, actual);
    return false;
  }
  return timingSafeEqual(stored, actual);
}

/**
 * Pulls the key out of an `Authorization` / `x-api-key` header value:
 * `Bearer colo_...`, or the bare key. Returns undefined when none is present.
 */
export function extractKey(headerValue: string | undefined | null): string | undefined {
  if (!headerValue) return undefined;
  const v = headerValue.trim();
  const m = /^bearer\s+(\S+)$/i.exec(v);
  const key = m ? m[1] : v;
  return key && key.length > 0 ? key : undefined;
}
