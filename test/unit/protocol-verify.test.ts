import { readFileSync } from 'node:fs';
import * as flatbuffers from 'flatbuffers';
import { describe, expect, it } from 'vitest';
import { ColoError } from '../../src/core/errors';
import { decodeClientFrame, encodeCancel, encodeRequest } from '../../src/protocol';
import * as fb from '../../src/protocol/generated/colo_generated';
import { WIRE_SPEC } from '../../src/protocol/generated/spec';
import { DEFAULT_VERIFY_LIMITS, verifyClientFrame, type VerifyLimits } from '../../src/protocol/verify';

const MAX = 1 << 20;

function verifyError(bytes: Uint8Array, limits: VerifyLimits = DEFAULT_VERIFY_LIMITS): ColoError {
  try {
    verifyClientFrame(bytes, MAX, limits);
  } catch (e) {
    expect(e).toBeInstanceOf(ColoError);
    return e as ColoError;
  }
  throw new Error('expected the verifier to reject the frame');
}

const indexOf = (bytes: Uint8Array, ascii: string): number =>
  Buffer.from(bytes).indexOf(Buffer.from(ascii, 'latin1'));

/** Builds a ClientFrame by hand, so tests can leave out what the typed encoders always write. */
function frame(build: (b: flatbuffers.Builder) => { type?: number; body?: number }): Uint8Array {
  const b = new flatbuffers.Builder(256);
  const { type, body } = build(b);
  fb.ClientFrame.startClientFrame(b);
  if (type !== undefined) fb.ClientFrame.addBodyType(b, type);
  if (body !== undefined) fb.ClientFrame.addBody(b, body);
  fb.ClientFrame.finishClientFrameBuffer(b, fb.ClientFrame.endClientFrame(b));
  return b.asUint8Array().slice();
}

const ping = (b: flatbuffers.Builder): number => fb.Ping.createPing(b, 1n);

describe('verifier accepts what the encoders produce', () => {
  it('returns the root table position', () => {
    const bytes = encodeRequest({
      id: 'a',
      messages: [{ role: 'user', content: 'hi' }],
      sampling: { stop: ['x'] },
    });
    const root = verifyClientFrame(bytes, MAX);
    expect(root).toBe(new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true));
  });
});

describe('verifier rejects', () => {
  it('buffers shorter than the header', () => {
    for (const n of [0, 1, 7]) expect(verifyError(new Uint8Array(n)).code).toBe('MALFORMED_FRAME');
  });

  it('a root offset of 0, past the end, or misaligned', () => {
    const good = encodeCancel('abcd');
    for (const root of [0, good.length + 4, 0x7ffffff0, 0xfffffff0, 5]) {
      const bytes = good.slice();
      new DataView(bytes.buffer).setUint32(0, root, true);
      expect(verifyError(bytes).code).toBe('MALFORMED_FRAME');
    }
  });

  it('a missing required field, naming it', () => {
    const noId = frame((b) => {
      fb.InferenceRequest.startInferenceRequest(b);
      // endObject, not endInferenceRequest: the generated end refuses a missing required field.
      return { type: fb.ClientBody.InferenceRequest, body: b.endObject() };
    });
    expect(verifyError(noId).message).toMatch(/required field InferenceRequest\.id/);
    const noCancelId = frame((b) => {
      fb.Cancel.startCancel(b);
      return { type: fb.ClientBody.Cancel, body: b.endObject() };
    });
    expect(verifyError(noCancelId).message).toMatch(/required field Cancel\.id/);
  });

  it('a union type without a value and a value without a type', () => {
    expect(verifyError(frame(() => ({ type: fb.ClientBody.Ping }))).message).toMatch(/type but no value/);
    expect(verifyError(frame((b) => ({ body: ping(b) }))).message).toMatch(/type NONE/);
  });

  it('an unknown union type as UNSUPPORTED_FRAME', () => {
    const err = verifyError(frame((b) => ({ type: 9, body: ping(b) })));
    expect(err.code).toBe('UNSUPPORTED_FRAME');
  });

  it('a frame with no body at all (verifies, but the decoder refuses it)', () => {
    const bytes = frame(() => ({}));
    expect(() => verifyClientFrame(bytes, MAX)).not.toThrow();
    expect(() => decodeClientFrame(bytes, MAX)).toThrow(expect.objectContaining({ code: 'MALFORMED_FRAME' }));
  });

  it('a string without its NUL terminator', () => {
    const bytes = encodeCancel('abcd');
    bytes[indexOf(bytes, 'abcd\0') + 4] = 0x78;
    expect(verifyError(bytes).message).toMatch(/NUL/);
  });

  it('a string whose length runs past the end', () => {
    const bytes = encodeCancel('abcd');
    new DataView(bytes.buffer).setUint32(indexOf(bytes, 'abcd') - 4, 1000, true);
    expect(verifyError(bytes).message).toMatch(/out of bounds/);
  });

  it('invalid UTF-8, unless the check is off', () => {
    const bytes = encodeCancel('abcd');
    bytes[indexOf(bytes, 'abcd')] = 0xff;
    expect(verifyError(bytes).message).toMatch(/UTF-8/);
    expect(() => verifyClientFrame(bytes, MAX, { ...DEFAULT_VERIFY_LIMITS, checkUtf8: false })).not.toThrow();
  });

  it('a vector whose count runs past the end', () => {
    const bytes = encodeRequest({ id: 'a', prompt: 'p', sampling: { stop: ['zz'] } });
    // The stop vector's count (1) sits 8 bytes before the string it points to: [count][offset][len]"zz".
    const vecCount = indexOf(bytes, 'zz') - 12;
    expect(new DataView(bytes.buffer).getUint32(vecCount, true)).toBe(1);
    new DataView(bytes.buffer).setUint32(vecCount, 0x40000000, true);
    expect(verifyError(bytes).message).toMatch(/vector out of bounds/);
  });

  it('a vtable with an odd size, or one entry pointing outside its table', () => {
    const good = encodeCancel('abcd');
    const dv = new DataView(good.buffer);
    const root = dv.getUint32(0, true);
    const vt = root - dv.getInt32(root, true);
    const odd = good.slice();
    new DataView(odd.buffer).setUint16(vt, dv.getUint16(vt, true) + 1, true);
    expect(verifyError(odd).message).toMatch(/vtable has a bad size/);
    const outside = good.slice();
    new DataView(outside.buffer).setUint16(vt + 6, 200, true); // ClientFrame.body slot
    expect(verifyError(outside).message).toMatch(/outside its table/);
  });

  it('nesting deeper than maxDepth', () => {
    const bytes = encodeRequest({ id: 'a', messages: [{ role: 'user', content: 'x' }] }); // ClientFrame > InferenceRequest > Message
    expect(() => verifyClientFrame(bytes, MAX, { ...DEFAULT_VERIFY_LIMITS, maxDepth: 3 })).not.toThrow();
    expect(verifyError(bytes, { ...DEFAULT_VERIFY_LIMITS, maxDepth: 2 }).message).toMatch(/too deep/);
  });

  it('more tables than maxTables, even when they are one table referenced many times', () => {
    // A small frame that makes the verifier visit 5,000 tables: the DAG the table count bounds.
    const bytes = frame((b) => {
      const id = b.createString('a');
      const content = b.createString('x');
      const msg = fb.Message.createMessage(b, fb.Role.User, content);
      const vec = fb.InferenceRequest.createMessagesVector(b, new Array<number>(5000).fill(msg));
      fb.InferenceRequest.startInferenceRequest(b);
      fb.InferenceRequest.addId(b, id);
      fb.InferenceRequest.addMessages(b, vec);
      return { type: fb.ClientBody.InferenceRequest, body: fb.InferenceRequest.endInferenceRequest(b) };
    });
    expect(bytes.length).toBeLessThan(21_000);
    expect(() => verifyClientFrame(bytes, MAX)).not.toThrow();
    expect(verifyError(bytes, { ...DEFAULT_VERIFY_LIMITS, maxTables: 4000 }).message).toMatch(
      /too many tables/,
    );
  });
});

describe('the generated spec matches schemas/colo.fbs', () => {
  // An independent reading of the .fbs (our subset): table fields in order, with a union
  // expanding to <name>_type then <name>, and the required attribute. The spec itself
  // comes from flatc; this catches a spec.ts not regenerated after a schema edit.
  const src = readFileSync(new URL('../../schemas/colo.fbs', import.meta.url), 'utf8').replace(
    /\/\/.*$/gm,
    '',
  );
  const unions = new Set([...src.matchAll(/union\s+(\w+)/g)].map((m) => m[1]!));
  const tables = [...src.matchAll(/table\s+(\w+)\s*\{([^}]*)\}/g)].map((m) => {
    const fields = [...m[2]!.matchAll(/(\w+)\s*:\s*([\w.[\]]+)[^;]*?(\(([^)]*)\))?\s*;/g)].flatMap((f) => {
      const required = /\brequired\b/.test(f[4] ?? '');
      return unions.has(f[2]!)
        ? [
            { name: `${f[1]}_type`, required: false },
            { name: f[1]!, required },
          ]
        : [{ name: f[1]!, required }];
    });
    return [m[1]!, fields] as const;
  });

  it('has the same tables', () => {
    expect(Object.keys(WIRE_SPEC.tables).sort()).toEqual(tables.map(([t]) => t).sort());
  });

  it.each(tables)('%s has the same fields, ids and required flags', (name, fields) => {
    const spec = WIRE_SPEC.tables[name]!;
    expect(spec.map((f) => ({ name: f.name, required: f.required === true }))).toEqual(fields);
    expect(spec.map((f) => f.id)).toEqual(fields.map((_, i) => i));
    expect(spec.every((f) => f.slot === 4 + 2 * f.id)).toBe(true);
  });
});
