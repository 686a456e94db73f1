/**
 * String writing for the encoders. Builder.createString allocates a Uint8Array per
 * call (TextEncoder.encode); a streamed token is usually a few ASCII bytes, so those
 * are written byte by byte through the builder's public API, and anything else is
 * encoded into one reused scratch buffer.
 */
import type * as flatbuffers from 'flatbuffers';

const encoder = new TextEncoder();
let scratch = new Uint8Array(1024);

/** Longest string tried on the ASCII path; longer ones go through encodeInto. */
const ASCII_FAST_MAX = 64;
const SCRATCH_KEEP_MAX = 256 << 10;

/** Same bytes as builder.createString(s), without the per-call allocation. */
export function writeString(b: flatbuffers.Builder, s: string): flatbuffers.Offset {
  const n = s.length;
  if (n <= ASCII_FAST_MAX) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      // The layout createString produces: bytes, then a NUL, behind a uint32 length.
      b.addInt8(0);
      b.startVector(1, n, 1);
      for (let i = n - 1; i >= 0; i--) b.writeInt8(s.charCodeAt(i));
      return b.endVector();
    }
  }
  const max = n * 3;
  // Do not keep a huge scratch buffer alive for one big result text.
  if (max > SCRATCH_KEEP_MAX) return b.createString(s);
  if (scratch.length < max) scratch = new Uint8Array(Math.max(max, scratch.length * 2));
  const { written } = encoder.encodeInto(s, scratch);
  return b.createString(scratch.subarray(0, written));
}
