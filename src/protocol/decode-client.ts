/**
 * Inbound, server side: one binary WebSocket frame → a plain ClientMessage. The frame
 * is verified in full before any generated accessor reads it. A request becomes a
 * `CallInput` (raw values); its limits and defaults are the one validator's
 * (src/api/validate.ts), the same as for HTTP. Every failure here is a ColoError about
 * the frame itself (size, structure, UTF-8, id).
 */
import * as flatbuffers from 'flatbuffers';
import { ColoError, type ColoErrorOptions, type ErrorCode } from '../core/errors';
import type { CallInput } from '../core/call';
import type { ChatMessage } from '../core/types';
import type { ProtocolConfig } from './config';
import { roleFromWire } from './enums';
import * as fb from './generated/colo_generated';
import { WIRE_SPEC } from './generated/spec';
import { DEFAULT_VERIFY_LIMITS, verifyClientFrame, type VerifyLimits } from './verify';

export type ClientMessage =
  { kind: 'request'; input: CallInput } | { kind: 'cancel'; id: string } | { kind: 'ping'; nonce: bigint };

/** Builds the verifier limits once, at start-up, from the composed config. */
export const clientDecodeOptions = (protocol: ProtocolConfig): VerifyLimits =>
  Object.freeze({
    maxDepth: protocol.maxDepth,
    maxTables: protocol.maxTables,
    checkUtf8: protocol.checkUtf8,
  });

/** Longest request id, in UTF-16 code units. */
export const MAX_ID_LENGTH = 128;

/**
 * A decode failure that happened after the request id was read, so the server can
 * echo the id on its Error frame. Still a ColoError; branch on `.code` as usual.
 */
export class RequestFrameError extends ColoError {
  constructor(
    code: ErrorCode,
    message: string,
    opts: ColoErrorOptions,
    readonly requestId: string,
  ) {
    super(code, message, opts);
  }
}

/** The request id a decode error carries, if the frame got that far. */
export const requestIdOf = (err: unknown): string | undefined =>
  err instanceof RequestFrameError ? err.requestId : undefined;

const invalid = (field: string, message: string, id?: string): ColoError =>
  id === undefined
    ? new ColoError('INVALID_ARGUMENT', `${field}: ${message}`, { field })
    : new RequestFrameError('INVALID_ARGUMENT', `${field}: ${message}`, { field }, id);

/**
 * Verifies, then decodes one client frame. Throws ColoError: FRAME_TOO_LARGE,
 * MALFORMED_FRAME (truncated, corrupt, wrong identifier, no body), UNSUPPORTED_FRAME
 * (unknown body type) or INVALID_ARGUMENT (a RequestFrameError once the id is known).
 */
export function decodeClientFrame(
  bytes: Uint8Array,
  maxBytes: number,
  opts: VerifyLimits = DEFAULT_VERIFY_LIMITS,
  receivedAt = performance.now(),
): ClientMessage {
  const root = verifyClientFrame(bytes, maxBytes, opts);
  const frame = new fb.ClientFrame().__init(root, new flatbuffers.ByteBuffer(bytes));
  switch (frame.bodyType()) {
    case fb.ClientBody.InferenceRequest:
      return {
        kind: 'request',
        input: decodeRequest(frame.body(new fb.InferenceRequest()) as fb.InferenceRequest, receivedAt),
      };
    case fb.ClientBody.Cancel: {
      const cancel = frame.body(new fb.Cancel()) as fb.Cancel;
      return { kind: 'cancel', id: checkId(cancel.id()) };
    }
    case fb.ClientBody.Ping:
      return { kind: 'ping', nonce: (frame.body(new fb.Ping()) as fb.Ping).nonce() };
    default:
      // The verifier rejects unknown types, so this is a frame without a body.
      throw new ColoError('MALFORMED_FRAME', 'malformed frame: ClientFrame has no body');
  }
}

function checkId(id: string | null): string {
  // `id` is required, so the verifier has proved it present; null cannot happen.
  if (!id) throw invalid('id', 'must not be empty');
  if (id.length > MAX_ID_LENGTH) throw invalid('id', `must be at most ${MAX_ID_LENGTH} characters`);
  return id;
}

function decodeRequest(r: fb.InferenceRequest, receivedAt: number): CallInput {
  const id = checkId(r.id());
  const nMessages = r.messagesLength();
  let messages: ChatMessage[] | undefined;
  if (nMessages > 0) {
    messages = new Array<ChatMessage>(nMessages);
    const m = new fb.Message();
    for (let i = 0; i < nMessages; i++) {
      r.messages(i, m);
      const role = roleFromWire(m.role());
      if (role === undefined)
        throw invalid('messages.role', `messages[${i}] has unknown role ${m.role()}`, id);
      messages[i] = { role, content: m.content() ?? '' };
    }
  }
  const schema = r.responseSchema();
  const input: CallInput = {
    id,
    model: r.model() ?? '',
    prompt: r.prompt() ?? undefined,
    messages,
    skill: r.skill() || undefined,
    deadline_ms: r.deadlineMs(),
    // A ubyte cannot leave 0..255: nothing to check.
    priority: r.priority(),
    stream: r.stream(),
    choices: strings(r.choicesLength(), (i) => r.choices(i)),
    tickers: strings(r.tickersLength(), (i) => r.tickers(i)),
    response_format: schema ? { type: 'json_schema', schema } : undefined,
    receivedAt,
  };
  const s = r.sampling();
  if (s !== null) {
    // An omitted max_tokens takes the validator's default (capped by the limit).
    if (s.bb!.__offset(s.bb_pos, MAX_TOKENS_SLOT) !== 0) input.max_tokens = s.maxTokens();
    input.temperature = float32ToNumber(s.temperature());
    input.top_p = float32ToNumber(s.topP());
    input.seed = s.seed() ?? undefined;
    input.stop = strings(s.stopLength(), (i) => s.stop(i)) ?? [];
  }
  return input;
}

const MAX_TOKENS_SLOT = WIRE_SPEC.tables['Sampling']!.find((f) => f.name === 'max_tokens')!.slot;

/** A vector of strings, or undefined when absent or empty (the validator checks entries). */
function strings(n: number, at: (i: number) => string | null): string[] | undefined {
  if (n === 0) return undefined;
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = at(i) ?? '';
  return out;
}

/**
 * The shortest decimal that rounds to the same float32, so a client's 0.7 reads back
 * as 0.7 and not 0.699999988079071 (the wire carries `float`).
 */
export function float32ToNumber(x: number): number {
  if (!Number.isFinite(x)) return x;
  // Fast path: sampling values are short decimals; 6 places settle nearly all of them.
  const r = Math.round(x * 1e6) / 1e6;
  if (Math.fround(r) === x) return r;
  for (let p = 1; p <= 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x) return y;
  }
  return x;
}
