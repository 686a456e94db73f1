/**
 * The hashing behind the featurizer. Any other implementation (Python, Rust) must
 * reproduce these exactly, so the algorithm is versioned in featurizer.json as
 * `fnv1a32-fmix32/v1`:
 *   1. h = seed XOR 2166136261; for each UTF-16 code unit u: h = (h XOR u) * 16777619 (mod 2^32).
 *   2. finish with murmur3's fmix32 so low bits (the bucket) are well mixed.
 *   3. bucket = h AND (dim - 1); sign = +1 when bit 31 is clear, else -1.
 * Bigrams combine the two finished token hashes with `combine` instead of hashing a
 * concatenated string, which saves an allocation per pair on the hot path.
 */

export const HASH_ALGORITHM = 'fnv1a32-fmix32/v1';

export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over the code units of `s[start, end)`, finished with fmix32. */
export function hashString(s: string, seed: number, start = 0, end = s.length): number {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = start; i < end; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** Order-sensitive combination of two finished hashes (for n-grams). */
export function combine(a: number, b: number): number {
  return fmix32((Math.imul(a, 0x9e3779b1) ^ ((b << 13) | (b >>> 19))) + 0x7f4a7c15);
}
