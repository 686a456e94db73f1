/**
 * Inbound, server side: one binary WebSocket frame → a plain, validated ClientMessage.
 * The frame is verified in full before any generated accessor reads it; values are
 * then checked and defaults applied, so the rest of Colo sees only sound requests.
 * Every failure is a ColoError; INVALID_ARGUMENT names the field by its wire name.
 */
import * as flatbuffers from 'flatbuffers';
import { ColoError, type ColoErrorOptions, type ErrorCode } from '../core/errors';
import {
  DEFAULT_SAMPLING,
  type ChatMessage,
  type InferenceRequest,
  type SamplingParams,
} from '../core/types';
import type { ProtocolConfig } from './config';
import { roleFromWire } from './enums';
import * as fb from './generated/colo_generated';
import { WIRE_SPEC } from './generated/spec';
import { DEFAULT_VERIFY_LIMITS, verifyClientFrame, type VerifyLimits } from './verify';

export type ClientMessage =
  | { kind: 'request'; request: InferenceRequest }
  | { kind: 'cancel'; id: string }
  | { kind: 'ping'; nonce: bigint };

export interface ClientDecodeOptions extends VerifyLimits {
  /** Largest sampling.max_tokens accepted (server.maxTokensLimit). */
  maxTokens: number;
  maxStopSequences: number;
  maxMessages: number;
}

export const DEFAULT_CLIENT_DECODE_OPTIONS: Readonly<ClientDecodeOptions> = Object.freeze({
  ...DEFAULT_VERIFY_LIMITS,
  maxTokens: 4096,
  maxStopSequences: 16,
  maxMessages: 1024,
});

/** Builds the decode options once, at start-up, from the composed config. */
export const clientDecodeOptions = (protocol: ProtocolConfig, maxTokensLimit: number): ClientDecodeOptions =>
  Object.freeze({
    maxDepth: protocol.maxDepth,
    maxTables: protocol.maxTables,
    checkUtf8: protocol.checkUtf8,
    maxTokens: maxTokensLimit,
    maxStopSequences: protocol.maxStopSequences,
    maxMessages: protocol.maxMessages,
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
  opts: ClientDecodeOptions = DEFAULT_CLIENT_DECODE_OPTIONS,
): ClientMessage {
  const root = verifyClientFrame(bytes, maxBytes, opts);
  const frame = new fb.ClientFrame().__init(root, new flatbuffers.ByteBuffer(bytes));
  switch (frame.bodyType()) {
    case fb.ClientBody.InferenceRequest:
      return {
        kind: 'request',
        request: decodeRequest(frame.body(new fb.InferenceRequest()) as fb.InferenceRequest, opts),
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

function decodeRequest(r: fb.InferenceRequest, opts: ClientDecodeOptions): InferenceRequest {
  const id = checkId(r.id());
  const prompt = r.prompt();
  const skill = r.skill() || undefined;
  const nMessages = r.messagesLength();

  // Exactly one of prompt and messages; a skill takes its input text in prompt.
  if (prompt !== null && nMessages > 0) throw invalid('prompt', 'set exactly one of prompt and messages', id);
  if (skill !== undefined && nMessages > 0)
    throw invalid('messages', 'a skill request takes its input in prompt', id);
  if (prompt === null && nMessages === 0)
    throw invalid('prompt', 'one of prompt and messages is required', id);
  if (prompt === '') throw invalid('prompt', 'must not be empty', id);

  let messages: ChatMessage[] | undefined;
  if (nMessages > 0) {
    if (nMessages > opts.maxMessages) throw invalid('messages', `at most ${opts.maxMessages} messages`, id);
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

  return {
    id,
    model: r.model() ?? '',
    prompt: prompt ?? undefined,
    messages,
    sampling: decodeSampling(r.sampling(), opts, id),
    deadlineMs: r.deadlineMs(),
    // A ubyte cannot leave 0..255: nothing to check.
    priority: r.priority(),
    stream: r.stream(),
    skill,
  };
}

const MAX_TOKENS_SLOT = WIRE_SPEC.tables['Sampling']!.find((f) => f.name === 'max_tokens')!.slot;

function decodeSampling(s: fb.Sampling | null, opts: ClientDecodeOptions, id: string): SamplingParams {
  if (s === null) {
    return { ...DEFAULT_SAMPLING, maxTokens: Math.min(DEFAULT_SAMPLING.maxTokens, opts.maxTokens), stop: [] };
  }
  // An omitted max_tokens takes the default, capped by the limit rather than rejected by it.
  const maxTokens =
    s.bb!.__offset(s.bb_pos, MAX_TOKENS_SLOT) === 0
      ? Math.min(DEFAULT_SAMPLING.maxTokens, opts.maxTokens)
      : s.maxTokens();
  if (maxTokens < 1 || maxTokens > opts.maxTokens)
    throw invalid('sampling.max_tokens', `must be in 1..${opts.maxTokens}`, id);
  const temperature = float32ToNumber(s.temperature());
  if (!(temperature >= 0 && temperature <= 2)) throw invalid('sampling.temperature', 'must be in [0, 2]', id);
  const topP = float32ToNumber(s.topP());
  if (!(topP > 0 && topP <= 1)) throw invalid('sampling.top_p', 'must be in (0, 1]', id);
  const nStop = s.stopLength();
  if (nStop > opts.maxStopSequences)
    throw invalid('sampling.stop', `at most ${opts.maxStopSequences} stop sequences`, id);
  const stop = new Array<string>(nStop);
  for (let i = 0; i < nStop; i++) {
    const seq = s.stop(i);
    if (!seq) throw invalid('sampling.stop', `stop[${i}] must not be empty`, id);
    stop[i] = seq;
  }
  return { maxTokens, temperature, topP, seed: s.seed() ?? undefined, stop };
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
