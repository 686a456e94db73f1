/**
 * The wire codec against the obvious alternative: FlatBuffers (src/protocol) vs
 * JSON.stringify/parse, for the three frames that matter: the request (decoded once per
 * request, verified and validated), the token chunk (encoded once per streamed token:
 * the hot path) and the final result. Also the verifier alone.
 *
 *   node bench/lib/run.mjs bench/micro/flatbuffers-vs-json.bench.ts   (BENCH_QUICK=1: short run)
 *
 * run.mjs bundles with esbuild like the production build; under tsx, ESM namespace
 * getters add ~100-300 ns per call and distort the small figures.
 *
 * JSON tasks include the UTF-8 step (TextEncoder / TextDecoder) that a binary WebSocket
 * frame needs; JSON decode does no validation, FlatBuffers decode verifies every offset
 * and validates every value, so JSON's figures are a floor it would not keep. Every pair
 * is checked to round-trip to the input before anything is timed. Figures are per op.
 */
import { isDeepStrictEqual } from 'node:util';
import type { CompletionResult } from '../../src/core/types';
import {
  decodeClientFrame,
  decodeServerFrame,
  encodeRequest,
  encodeResult,
  encodeTokenChunk,
  type RequestInput,
  type Signal,
} from '../../src/protocol';
import { verifyClientFrame } from '../../src/protocol/verify';
import { runMicro, type MicroTask } from '../lib';

const BATCH = 100;
const MAX = 1 << 20;

const requestInput = {
  id: 'req-000042',
  model: 'stories260K',
  prompt: 'Headline: ACME Corp beats Q3 estimates, raises full-year guidance; shares up 4% pre-market.',
  sampling: { maxTokens: 64, temperature: 0.7, topP: 0.9, seed: 7, stop: ['\n\n'] },
  deadlineMs: 250,
  priority: 9,
  stream: true,
} satisfies RequestInput;
const expectedRequest = { ...requestInput, messages: undefined, skill: undefined };

const token = { id: 'req-000042', index: 17, text: ' guidance' };

const result: CompletionResult = {
  id: 'req-000042',
  text: ' Bullish. The beat and raised guidance point to upward estimate revisions.',
  finishReason: 'stop',
  usage: { promptTokens: 31, completionTokens: 17 },
  route: { kind: 'local', provider: 'local', model: 'stories260K', cached: false },
  timings: { queueUs: 12, ttftUs: 640, totalUs: 9150 },
};
const signals: Signal[] = [
  {
    entity: 'ACME Corp',
    ticker: 'ACME',
    direction: 1,
    score: 0.62,
    confidence: 0.875,
    label: 'bullish',
    rationale: 'beat and raise',
    abstain: false,
  },
];

const te = new TextEncoder();
const td = new TextDecoder();
const jsonEncode = (v: unknown): Uint8Array => te.encode(JSON.stringify(v));
const jsonDecode = (b: Uint8Array): unknown => JSON.parse(td.decode(b));

const requestFrame = encodeRequest(requestInput);
const requestJson = jsonEncode(requestInput);
const resultFrame = encodeResult(result, signals, { copy: true });
const resultJson = jsonEncode({ ...result, signals });
const tokenFrame = encodeTokenChunk(token.id, token.index, token.text, { copy: true });
const tokenJson = jsonEncode(token);

// Signal floats travel as float32: compare against what a float32 can hold.
const f32Signals = signals.map((s) => ({
  ...s,
  score: Math.fround(s.score),
  confidence: Math.fround(s.confidence),
}));

const same = (got: unknown, want: unknown, what: string): void => {
  if (!isDeepStrictEqual(got, want))
    throw new Error(
      `${what}: ${JSON.stringify(got, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
    );
};

let sink: unknown;
const batched = (fn: () => unknown) => () => {
  for (let i = 0; i < BATCH; i++) sink = fn();
};

const tasks: MicroTask[] = (
  [
    {
      name: 'request fb decode (verify+validate)',
      check: () =>
        same(
          decodeClientFrame(requestFrame, MAX),
          { kind: 'request', request: expectedRequest },
          'request fb',
        ),
      fn: batched(() => decodeClientFrame(requestFrame, MAX)),
    },
    {
      name: 'request json decode (parse only)',
      check: () => same(jsonDecode(requestJson), requestInput, 'request json'),
      fn: batched(() => jsonDecode(requestJson)),
    },
    {
      name: 'request fb verify only',
      check: () => verifyClientFrame(requestFrame, MAX),
      fn: batched(() => verifyClientFrame(requestFrame, MAX)),
    },
    {
      name: 'request fb encode (client, copied)',
      check: () => same(encodeRequest(requestInput), requestFrame, 'request bytes'),
      fn: batched(() => encodeRequest(requestInput)),
    },
    { name: 'request json encode', fn: batched(() => jsonEncode(requestInput)) },
    {
      name: 'token fb encode (view)',
      check: () =>
        same(
          decodeServerFrame(encodeTokenChunk(token.id, token.index, token.text)),
          { kind: 'token', ...token },
          'token fb',
        ),
      fn: batched(() => encodeTokenChunk(token.id, token.index, token.text)),
    },
    {
      name: 'token json encode',
      check: () => same(jsonDecode(jsonEncode(token)), token, 'token json'),
      fn: batched(() => jsonEncode(token)),
    },
    { name: 'token fb decode (verify)', fn: batched(() => decodeServerFrame(tokenFrame)) },
    { name: 'token json decode', fn: batched(() => jsonDecode(tokenJson)) },
    {
      name: 'token fb encode+decode',
      fn: batched(() => decodeServerFrame(encodeTokenChunk(token.id, token.index, token.text))),
    },
    { name: 'token json encode+decode', fn: batched(() => jsonDecode(jsonEncode(token))) },
    {
      name: 'result fb encode (view)',
      check: () =>
        same(
          decodeServerFrame(encodeResult(result, signals)),
          { kind: 'result', result, skill: undefined, signals: f32Signals },
          'result fb',
        ),
      fn: batched(() => encodeResult(result, signals)),
    },
    {
      name: 'result json encode',
      check: () =>
        same(jsonDecode(jsonEncode({ ...result, signals })), { ...result, signals }, 'result json'),
      fn: batched(() => jsonEncode({ ...result, signals })),
    },
    { name: 'result fb decode (verify)', fn: batched(() => decodeServerFrame(resultFrame)) },
    { name: 'result json decode', fn: batched(() => jsonDecode(resultJson)) },
  ] satisfies MicroTask[]
).map((t) => ({ ...t, batch: BATCH }));

const out = await runMicro('flatbuffers-vs-json', tasks, {
  meta: {
    batch: BATCH,
    bytes: {
      request: { fb: requestFrame.length, json: requestJson.length },
      token: { fb: tokenFrame.length, json: tokenJson.length },
      result: { fb: resultFrame.length, json: resultJson.length },
    },
  },
});
console.log(JSON.stringify(out));
if (sink === undefined) console.log('(sink empty)');
