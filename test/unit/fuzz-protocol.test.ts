import { isDeepStrictEqual } from 'node:util';
import { DEFAULT_CALL_LIMITS, validateCall } from '../../src/api/validate';
import { describe, expect, it } from 'vitest';
import { ColoError, type ErrorCode } from '../../src/core/errors';
import {
  decodeClientFrame,
  decodeServerFrame,
  encodeCancel,
  encodePing,
  encodeRequest,
  ServerFrameEncoder,
  type ClientMessage,
} from '../../src/protocol';

// Fixed-seed PRNG (mulberry32): the same cases on every run, so a failure reproduces.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MAX = 4096;
const CLIENT_CODES: ReadonlySet<ErrorCode> = new Set([
  'MALFORMED_FRAME',
  'UNSUPPORTED_FRAME',
  'INVALID_ARGUMENT',
]);
const SERVER_CODES: ReadonlySet<ErrorCode> = new Set(['MALFORMED_FRAME', 'UNSUPPORTED_FRAME']);

const clientCorpus: Uint8Array[] = [
  encodeRequest({ id: 'r1', prompt: 'Once upon a time' }),
  encodeRequest({
    id: 'req-2',
    model: 'stories260K',
    messages: [
      { role: 'system', content: 'Answer in one word.' },
      { role: 'user', content: 'ACME beats Q3 estimates; shares +4% — ✓' },
    ],
    sampling: { maxTokens: 64, temperature: 0.2, topP: 0.9, seed: 7, stop: ['\n', 'END'] },
    deadlineMs: 250,
    priority: 9,
    stream: false,
  }),
  encodeRequest({ id: 's', skill: 'sentiment', prompt: 'Fed holds rates', sampling: { stop: [] } }),
  encodeCancel('req-2'),
  encodePing(0x0123456789abcdefn),
];

const enc = new ServerFrameEncoder();
const serverCorpus: Uint8Array[] = [
  enc.accepted('r1', 'local', { copy: true }),
  enc.tokenChunk('r1', 3, ' upon', { copy: true }),
  enc.result(
    {
      id: 'r1',
      text: 'Once upon a time there was',
      finishReason: 'length',
      usage: { promptTokens: 4, completionTokens: 6 },
      route: { kind: 'remote', provider: 'openai', model: 'gpt-4o-mini', cached: false },
      timings: { queueUs: 10, ttftUs: 900, totalUs: 5000 },
    },
    [
      {
        entity: 'ACME',
        ticker: 'ACME',
        direction: 1,
        score: 0.5,
        confidence: 0.9,
        label: 'bullish',
        rationale: 'beat',
        abstain: false,
      },
    ],
    { skill: 'sentiment', copy: true },
  ),
  enc.error(
    'r1',
    new ColoError('INVALID_ARGUMENT', 'top_p: bad', { field: 'sampling.top_p', retryAfterMs: 5 }),
    { copy: true },
  ),
  enc.pong(1n, 2n, { copy: true }),
];

/**
 * A decoded request, once through the one validator (as the server runs it), must
 * satisfy everything the Call promises the rest of Colo; the validator may refuse it
 * only with a ColoError (caught by the caller).
 */
function checkInvariants(m: ClientMessage): void {
  if (m.kind === 'cancel') {
    if (m.id.length < 1 || m.id.length > 128) throw new Error(`bad cancel id ${m.id}`);
    return;
  }
  if (m.kind === 'ping') {
    if (typeof m.nonce !== 'bigint' || m.nonce < 0n) throw new Error('bad nonce');
    return;
  }
  const r = validateCall(m.input, 'ws', undefined, DEFAULT_CALL_LIMITS, {
    defaultModel: 'm',
    kindOf: () => 'model',
    skillModel: () => '',
  });
  const s = r.sampling;
  const ok =
    r.id.length >= 1 &&
    r.id.length <= 128 &&
    (r.prompt !== undefined) !== (r.messages !== undefined) &&
    (r.prompt === undefined || r.prompt.length > 0) &&
    (r.messages ?? []).every(
      (x) => ['system', 'user', 'assistant'].includes(x.role) && typeof x.content === 'string',
    ) &&
    s.maxTokens >= 1 &&
    s.maxTokens <= 4096 &&
    s.temperature >= 0 &&
    s.temperature <= 2 &&
    s.topP > 0 &&
    s.topP <= 1 &&
    s.stop.every((x) => x.length > 0) &&
    Number.isInteger(r.priority) &&
    r.priority >= 0 &&
    r.priority <= 255 &&
    Number.isInteger(r.deadlineMs) &&
    r.deadlineMs > 0 &&
    r.deadlineAt > r.receivedAt;
  if (!ok) throw new Error(`decoded request breaks an invariant: ${JSON.stringify(r)}`);
}

type Outcome = 'ok' | ErrorCode;

/** Runs one client frame; anything but a decoded message or an allowed ColoError is a failure. */
function runClient(bytes: Uint8Array, failures: string[], label: string): Outcome {
  try {
    checkInvariants(decodeClientFrame(bytes, MAX, undefined, 0));
    return 'ok';
  } catch (e) {
    if (e instanceof ColoError && CLIENT_CODES.has(e.code)) return e.code;
    failures.push(
      `${label}: ${e instanceof ColoError ? e.code : String(e)} for ${Buffer.from(bytes).toString('hex')}`,
    );
    return 'INTERNAL';
  }
}

function runServer(bytes: Uint8Array, failures: string[], label: string): Outcome {
  try {
    decodeServerFrame(bytes, MAX);
    return 'ok';
  } catch (e) {
    if (e instanceof ColoError && SERVER_CODES.has(e.code)) return e.code;
    failures.push(
      `${label}: ${e instanceof ColoError ? e.code : String(e)} for ${Buffer.from(bytes).toString('hex')}`,
    );
    return 'INTERNAL';
  }
}

const tally = (outcomes: Outcome[]): Record<string, number> =>
  outcomes.reduce<Record<string, number>>((t, o) => ((t[o] = (t[o] ?? 0) + 1), t), {});

describe('fuzz: client frames', () => {
  it('the corpus itself decodes', () => {
    for (const f of clientCorpus)
      expect(() => checkInvariants(decodeClientFrame(f, MAX, undefined, 0))).not.toThrow();
  });

  it('every strict prefix of every valid frame is MALFORMED_FRAME, or the same message when only padding was cut', () => {
    // The builder's first bytes written (the buffer's tail) can be alignment padding, so a
    // prefix that loses only those is still a complete, valid buffer.
    const failures: string[] = [];
    let n = 0;
    let rejected = 0;
    for (const [i, f] of clientCorpus.entries()) {
      const whole = decodeClientFrame(f, MAX, undefined, 0);
      for (let len = 0; len < f.length; len++) {
        n++;
        const prefix = f.subarray(0, len);
        const out = runClient(prefix, failures, `prefix ${i}/${len}`);
        if (out === 'MALFORMED_FRAME') rejected++;
        else if (out !== 'ok') failures.push(`prefix ${i}/${len}: ${out}`);
        else if (f.subarray(len).some((x) => x !== 0))
          failures.push(`prefix ${i}/${len}: accepted though non-zero bytes were cut`);
        else expect(decodeClientFrame(prefix, MAX, undefined, 0)).toEqual(whole);
      }
    }
    expect(n).toBeGreaterThan(300);
    expect(rejected).toBeGreaterThan(n - 4 * clientCorpus.length);
    expect(failures).toEqual([]);
  });

  it('every single-bit flip of every valid frame decodes or fails with a ColoError', () => {
    const failures: string[] = [];
    const outcomes: Outcome[] = [];
    for (const [i, f] of clientCorpus.entries()) {
      for (let bit = 0; bit < f.length * 8; bit++) {
        const m = f.slice();
        m[bit >> 3]! ^= 1 << (bit & 7);
        outcomes.push(runClient(m, failures, `flip ${i}/${bit}`));
      }
    }
    expect(failures).toEqual([]);
    const t = tally(outcomes);
    // Flips in payload bytes still decode; flips in offsets are caught.
    expect(t['ok']).toBeGreaterThan(100);
    expect(t['MALFORMED_FRAME']).toBeGreaterThan(100);
    expect(outcomes.length).toBeGreaterThan(4000);
  });

  it('random multi-byte mutations, splices and random bytes never escape as other exceptions', () => {
    const rnd = prng(0xc010);
    const int = (n: number) => Math.floor(rnd() * n);
    const interesting = [0, 1, 0x7f, 0x80, 0xff, 4, 8, 0xfe];
    const failures: string[] = [];
    const outcomes: Outcome[] = [];
    for (let c = 0; c < 6000; c++) {
      let m: Uint8Array;
      const mode = c % 3;
      if (mode === 0) {
        m = clientCorpus[int(clientCorpus.length)]!.slice();
        for (let k = 1 + int(8); k > 0; k--)
          m[int(m.length)] = rnd() < 0.5 ? int(256) : interesting[int(interesting.length)]!;
      } else if (mode === 1) {
        // Splice: head of one frame, tail of another; keeps the identifier most of the time.
        const a = clientCorpus[int(clientCorpus.length)]!;
        const b = clientCorpus[int(clientCorpus.length)]!;
        const cut = int(Math.min(a.length, b.length));
        m = new Uint8Array([...a.subarray(0, cut), ...b.subarray(cut)]);
      } else {
        m = new Uint8Array(int(300));
        for (let i = 0; i < m.length; i++) m[i] = int(256);
        if (m.length >= 8 && rnd() < 0.8) m.set([0x43, 0x4f, 0x4c, 0x4f], 4); // "COLO": get past the identifier
      }
      outcomes.push(runClient(m, failures, `case ${c}`));
    }
    expect(failures).toEqual([]);
    const t = tally(outcomes);
    expect(t['ok']).toBeGreaterThan(0);
    expect(t['MALFORMED_FRAME']).toBeGreaterThan(1000);
  });

  it('oversize frames are FRAME_TOO_LARGE before anything is read', () => {
    const rnd = prng(7);
    for (let c = 0; c < 200; c++) {
      const m = new Uint8Array(MAX + 1 + Math.floor(rnd() * 1000)).map(() => Math.floor(rnd() * 256));
      expect(() => decodeClientFrame(m, MAX, undefined, 0)).toThrow(
        expect.objectContaining({ code: 'FRAME_TOO_LARGE' }),
      );
    }
  });
});

describe('fuzz: server frames (the client side)', () => {
  it('prefixes, bit flips and mutations of server frames fail only with ColoError', () => {
    const rnd = prng(0x5e);
    const failures: string[] = [];
    const outcomes: Outcome[] = [];
    for (const [i, f] of serverCorpus.entries()) {
      const whole = decodeServerFrame(f, MAX);
      for (let len = 0; len < f.length; len++) {
        const out = runServer(f.subarray(0, len), failures, `prefix ${i}/${len}`);
        if (
          out === 'ok' &&
          (f.subarray(len).some((x) => x !== 0) ||
            !isDeepStrictEqual(decodeServerFrame(f.subarray(0, len), MAX), whole))
        ) {
          failures.push(`prefix ${i}/${len}: accepted but not just padding cut`);
        } else if (out !== 'ok' && out !== 'MALFORMED_FRAME') failures.push(`prefix ${i}/${len}: ${out}`);
      }
      for (let bit = 0; bit < f.length * 8; bit++) {
        const m = f.slice();
        m[bit >> 3]! ^= 1 << (bit & 7);
        outcomes.push(runServer(m, failures, `flip ${i}/${bit}`));
      }
      for (let c = 0; c < 500; c++) {
        const m = f.slice();
        for (let k = 1 + Math.floor(rnd() * 6); k > 0; k--)
          m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
        outcomes.push(runServer(m, failures, `mutation ${i}/${c}`));
      }
    }
    expect(failures).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(5000);
    expect(tally(outcomes)['ok']).toBeGreaterThan(0);
  });
});
