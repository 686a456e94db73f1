import { describe, expect, it } from 'vitest';
import { ColoError } from '../../src/core/errors';
import { DEFAULT_SAMPLING, type CompletionResult } from '../../src/core/types';
import {
  decodeClientFrame,
  decodeServerFrame,
  encodeAccepted,
  encodeCancel,
  encodeError,
  encodePing,
  encodePong,
  encodeRequest,
  encodeResult,
  encodeTokenChunk,
  requestIdOf,
  ServerFrameEncoder,
  type RequestInput,
  type Signal,
} from '../../src/protocol';
import { float32ToNumber } from '../../src/protocol/decode-client';
import { DEFAULT_CALL_LIMITS, validateCall, type CallLimits } from '../../src/api/validate';

/** The WebSocket path as the server runs it: decode the frame, then the one validator. */
function req(msg: ReturnType<typeof decodeClientFrame>, limits: CallLimits = DEFAULT_CALL_LIMITS) {
  if (msg.kind !== 'request') throw new Error(msg.kind);
  return validateCall(msg.input, 'ws', undefined, limits, {
    defaultModel: 'stories260K',
    kindOf: () => 'model',
    skillModel: () => '',
  });
}

const MAX = 1 << 20;

function decodeErr(bytes: Uint8Array, opts?: Parameters<typeof decodeClientFrame>[2]): ColoError {
  try {
    decodeClientFrame(bytes, MAX, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(ColoError);
    return e as ColoError;
  }
  throw new Error('expected decodeClientFrame to throw');
}

const result: CompletionResult = {
  id: 'req-1',
  text: 'Shares of ACME rose 4% — ünïcode ✓',
  finishReason: 'length',
  usage: { promptTokens: 12, completionTokens: 34, cachedTokens: 10 },
  route: { kind: 'remote', provider: 'openai', model: 'gpt-4o-mini', cached: true },
  timings: { queueUs: 15, ttftUs: 1234, totalUs: 98_765 },
};

const signals: Signal[] = [
  {
    entity: 'ACME Corp',
    ticker: 'ACME',
    direction: 1,
    score: 0.5,
    confidence: 0.75,
    label: 'bullish',
    rationale: 'beat',
    abstain: false,
  },
  {
    entity: 'Foo',
    ticker: '',
    direction: -1,
    score: -0.25,
    confidence: 0.125,
    label: 'bearish',
    rationale: '',
    abstain: true,
  },
];

describe('client frames round-trip', () => {
  it('a full prompt request keeps every field', () => {
    const input: RequestInput = {
      id: 'r1',
      model: 'stories260K',
      prompt: 'Once upon a time',
      sampling: { maxTokens: 64, temperature: 0.7, topP: 0.9, seed: 42, stop: ['\n', 'END'] },
      deadlineMs: 250,
      priority: 200,
      stream: false,
    };
    const r = req(decodeClientFrame(encodeRequest(input), MAX));
    expect(r).toMatchObject({
      id: 'r1',
      model: 'stories260K',
      prompt: 'Once upon a time',
      messages: undefined,
      sampling: { maxTokens: 64, temperature: 0.7, topP: 0.9, seed: 42, stop: ['\n', 'END'] },
      deadlineMs: 250,
      priority: 200,
      stream: false,
      skill: undefined,
    });
  });

  it('a minimal request gets DEFAULT_SAMPLING and the schema defaults', () => {
    const msg = decodeClientFrame(encodeRequest({ id: 'x', prompt: 'hi' }), MAX);
    if (msg.kind !== 'request') throw new Error(msg.kind);
    expect(msg.input).toMatchObject({ model: '', deadline_ms: 0, priority: 0, stream: true });
    const r = req(msg);
    expect(r.sampling).toEqual({ ...DEFAULT_SAMPLING, stop: [] });
    expect(r).toMatchObject({ model: 'stories260K', deadlineMs: DEFAULT_CALL_LIMITS.defaultDeadlineMs });
  });

  it('a sampling table with no max_tokens takes the default, capped by the limit', () => {
    const bytes = encodeRequest({ id: 'x', prompt: 'hi', sampling: { temperature: 0 } });
    const r = req(decodeClientFrame(bytes, MAX), { ...DEFAULT_CALL_LIMITS, maxTokens: 32 });
    expect(r.sampling.maxTokens).toBe(32);
    expect(r.sampling.temperature).toBe(0);
  });

  it('seed 0 survives (flatc 2.0.8 would drop it as a default)', () => {
    expect(
      req(decodeClientFrame(encodeRequest({ id: 'x', prompt: 'p', sampling: { seed: 0 } }), MAX)).sampling
        .seed,
    ).toBe(0);
  });

  it('chat messages and skill requests', () => {
    const chat = decodeClientFrame(
      encodeRequest({
        id: 'c',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hello' },
          { role: 'assistant', content: '' },
        ],
      }),
      MAX,
    );
    expect(req(chat).prompt).toBeUndefined();
    expect(req(chat).messages).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: '' },
    ]);
    const skill = decodeClientFrame(
      encodeRequest({ id: 's', skill: 'sentiment', prompt: 'ACME beats estimates' }),
      MAX,
    );
    expect(req(skill)).toMatchObject({ skill: 'sentiment', prompt: 'ACME beats estimates' });
  });

  it('cancel and ping', () => {
    expect(decodeClientFrame(encodeCancel('r9'), MAX)).toEqual({ kind: 'cancel', id: 'r9' });
    expect(decodeClientFrame(encodePing(2n ** 64n - 1n), MAX)).toEqual({
      kind: 'ping',
      nonce: 2n ** 64n - 1n,
    });
    expect(decodeClientFrame(encodePing(7), MAX)).toEqual({ kind: 'ping', nonce: 7n });
  });
});

describe('request validation (decode, then the one validator) names the field', () => {
  const cases: Array<[string, RequestInput, string]> = [
    ['empty id', { id: '', prompt: 'p' }, 'id'],
    ['id too long', { id: 'x'.repeat(129), prompt: 'p' }, 'id'],
    ['neither prompt nor messages', { id: 'a' }, 'prompt'],
    [
      'both prompt and messages',
      { id: 'a', prompt: 'p', messages: [{ role: 'user', content: 'm' }] },
      'prompt',
    ],
    ['empty prompt', { id: 'a', prompt: '' }, 'prompt'],
    [
      'skill with messages',
      { id: 'a', skill: 'sentiment', messages: [{ role: 'user', content: 'm' }] },
      'messages',
    ],
    ['max_tokens 0', { id: 'a', prompt: 'p', sampling: { maxTokens: 0 } }, 'max_tokens'],
    ['max_tokens over the limit', { id: 'a', prompt: 'p', sampling: { maxTokens: 4097 } }, 'max_tokens'],
    ['temperature > 2', { id: 'a', prompt: 'p', sampling: { temperature: 2.5 } }, 'temperature'],
    ['temperature < 0', { id: 'a', prompt: 'p', sampling: { temperature: -0.1 } }, 'temperature'],
    ['temperature NaN', { id: 'a', prompt: 'p', sampling: { temperature: NaN } }, 'temperature'],
    ['top_p 0', { id: 'a', prompt: 'p', sampling: { topP: 0 } }, 'top_p'],
    ['top_p > 1', { id: 'a', prompt: 'p', sampling: { topP: 1.5 } }, 'top_p'],
    ['empty stop sequence', { id: 'a', prompt: 'p', sampling: { stop: ['ok', ''] } }, 'stop'],
    [
      'too many stop sequences',
      { id: 'a', prompt: 'p', sampling: { stop: Array.from({ length: 17 }, (_, i) => `s${i}`) } },
      'stop',
    ],
  ];
  it.each(cases)('%s → INVALID_ARGUMENT on %s', (_name, input, field) => {
    let err: ColoError | undefined;
    try {
      req(decodeClientFrame(encodeRequest(input), MAX));
    } catch (e) {
      err = e as ColoError;
    }
    expect(err?.code).toBe('INVALID_ARGUMENT');
    expect(err?.field).toBe(field);
    expect(err?.message).toContain(field);
  });

  it('an unknown role names messages.role', () => {
    // Role 7 is not in the enum; the client encoder cannot produce it, so patch the cast.
    const err = decodeErr(
      encodeRequest({ id: 'a', messages: [{ role: 7 as unknown as 'user', content: 'x' }] }),
    );
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.field).toBe('messages.role');
    expect(requestIdOf(err)).toBe('a');
  });

  it('the client encoder refuses out-of-range integers before sending', () => {
    expect(() => encodeRequest({ id: 'a', prompt: 'p', priority: 256 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'priority' }),
    );
    expect(() => encodeRequest({ id: 'a', prompt: 'p', deadlineMs: -1 })).toThrow(
      expect.objectContaining({ field: 'deadline_ms' }),
    );
  });
});

describe('frame-level errors', () => {
  it('oversize frames are FRAME_TOO_LARGE', () => {
    const bytes = encodeRequest({ id: 'a', prompt: 'x'.repeat(500) });
    const err = (() => {
      try {
        decodeClientFrame(bytes, 100);
      } catch (e) {
        return e as ColoError;
      }
      throw new Error('no throw');
    })();
    expect(err.code).toBe('FRAME_TOO_LARGE');
  });

  it('a wrong file identifier is MALFORMED_FRAME and says so', () => {
    const bytes = encodeRequest({ id: 'a', prompt: 'p' });
    bytes.set([0x4e, 0x4f, 0x50, 0x45], 4); // "NOPE"
    const err = decodeErr(bytes);
    expect(err.code).toBe('MALFORMED_FRAME');
    expect(err.message).toMatch(/file identifier/);
  });
});

describe('server frames round-trip', () => {
  it('accepted, token, pong', () => {
    expect(decodeServerFrame(encodeAccepted('r1', 'cache'))).toEqual({
      kind: 'accepted',
      id: 'r1',
      route: 'cache',
    });
    expect(decodeServerFrame(encodeTokenChunk('r1', 0, ' Once'))).toEqual({
      kind: 'token',
      id: 'r1',
      index: 0,
      text: ' Once',
    });
    expect(decodeServerFrame(encodeTokenChunk('r1', 4_000_000_000, 'é✓𝄞'))).toEqual({
      kind: 'token',
      id: 'r1',
      index: 4_000_000_000,
      text: 'é✓𝄞',
    });
    const long = 'y'.repeat(5000);
    expect(decodeServerFrame(encodeTokenChunk('r1', 3, long))).toMatchObject({ text: long });
    expect(decodeServerFrame(encodePong(99n, 123_456_789_012n))).toEqual({
      kind: 'pong',
      nonce: 99n,
      serverTimeNs: 123_456_789_012n,
    });
  });

  it('result with usage, route, timings, skill and signals', () => {
    const msg = decodeServerFrame(encodeResult(result, signals, { skill: 'sentiment' }));
    expect(msg).toEqual({ kind: 'result', result, skill: 'sentiment', signals });
    const plain = decodeServerFrame(
      encodeResult({ ...result, route: { ...result.route, kind: 'local' }, finishReason: 'stop' }),
    );
    expect(plain).toMatchObject({
      kind: 'result',
      skill: undefined,
      signals: [],
      result: { finishReason: 'stop', route: { kind: 'local' } },
    });
  });

  it('error frames carry code, message, field and retry-after', () => {
    const err = new ColoError('RATE_LIMITED', 'slow down', { retryAfterMs: 1500 });
    const msg = decodeServerFrame(encodeError('r2', err));
    if (msg.kind !== 'error') throw new Error(msg.kind);
    expect(msg.id).toBe('r2');
    expect(msg.error).toBeInstanceOf(ColoError);
    expect(msg.error.toJSON()).toEqual({
      code: 'RATE_LIMITED',
      message: 'slow down',
      field: undefined,
      retryAfterMs: 1500,
    });
    const inv = decodeServerFrame(
      encodeError('', new ColoError('INVALID_ARGUMENT', 'top_p: bad', { field: 'sampling.top_p' })),
    );
    expect(inv).toMatchObject({
      kind: 'error',
      id: '',
      error: { code: 'INVALID_ARGUMENT', field: 'sampling.top_p' },
    });
  });

  it('the shared encoder returns a view that the next encode overwrites; copy keeps it', () => {
    const enc = new ServerFrameEncoder(64);
    const view = enc.tokenChunk('a', 1, 'first');
    const copy = enc.tokenChunk('a', 1, 'first', { copy: true });
    expect(copy).toEqual(view);
    enc.tokenChunk('b', 2, 'second-and-longer');
    expect(decodeServerFrame(copy)).toMatchObject({ text: 'first' });
    expect(view).not.toEqual(copy);
  });

  it('the ASCII fast path writes the same bytes as flatbuffers createString', async () => {
    const flatbuffers = await import('flatbuffers');
    const { writeString } = await import('../../src/protocol/strings');
    for (const s of ['', 'a', ' the', 'x'.repeat(64), 'x'.repeat(65), 'naïve', '\u{1F600}', 'a\0b']) {
      const a = new flatbuffers.Builder(16);
      const b = new flatbuffers.Builder(16);
      a.finish(a.createString(s));
      b.finish(writeString(b, s));
      expect(b.asUint8Array()).toEqual(a.asUint8Array());
    }
  });
});

describe('float32 fields read back as the decimal that was sent', () => {
  it.each([0, 0.1, 0.7, 0.8, 0.95, 1, 1.3, 2])('%f', (x) => {
    expect(float32ToNumber(Math.fround(x))).toBe(x);
  });
});
