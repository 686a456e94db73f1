/**
 * The client's side of the wire: encode ClientFrames, decode ServerFrames. Used by
 * tests, benches and the replay tool, and the reference for client authors. Not on
 * the server's hot path, so these return fresh buffers the caller may keep.
 */
import * as flatbuffers from 'flatbuffers';
import { ColoError } from '../core/errors';
import type { CompletionResult, InferenceRequest, RouteKind, SamplingParams } from '../core/types';
import { errorCodeFromWire, finishReasonFromWire, roleToWire, routeKindFromWire } from './enums';
import * as fb from './generated/colo_generated';
import type { Signal, SignalDirection } from './signal';
import { verifyServerFrame } from './verify';

export type RequestInput = Partial<
  Omit<InferenceRequest, 'sampling' | 'tenant' | 'keyId' | 'deadlineAt' | 'inputs' | 'receivedAt'>
> & {
  id: string;
  /** Only the fields given are written; the server applies defaults to the rest. */
  sampling?: Partial<SamplingParams> | undefined;
};

export type ServerMessage =
  | { kind: 'accepted'; id: string; route: RouteKind }
  | { kind: 'token'; id: string; index: number; text: string }
  | { kind: 'result'; result: CompletionResult; skill: string | undefined; signals: Signal[] }
  | { kind: 'error'; id: string; error: ColoError }
  | { kind: 'pong'; nonce: bigint; serverTimeNs: bigint };

const builder = new flatbuffers.Builder(1024);

const uint = (field: string, x: number, max: number): number => {
  if (!Number.isInteger(x) || x < 0 || x > max)
    throw new ColoError('INVALID_ARGUMENT', `${field}: must be an integer in 0..${max}`, { field });
  return x;
};

function finishClient(type: fb.ClientBody, body: flatbuffers.Offset): Uint8Array {
  fb.ClientFrame.startClientFrame(builder);
  fb.ClientFrame.addBodyType(builder, type);
  fb.ClientFrame.addBody(builder, body);
  fb.ClientFrame.finishClientFrameBuffer(builder, fb.ClientFrame.endClientFrame(builder));
  return builder.asUint8Array().slice();
}

/** Encodes an InferenceRequest frame. Range errors throw INVALID_ARGUMENT before anything is sent. */
export function encodeRequest(req: RequestInput): Uint8Array {
  const b = builder;
  b.clear();
  const id = b.createString(req.id);
  const model = req.model !== undefined ? b.createString(req.model) : 0;
  const prompt = req.prompt !== undefined ? b.createString(req.prompt) : 0;
  const skill = req.skill !== undefined ? b.createString(req.skill) : 0;
  let messages = 0;
  if (req.messages !== undefined) {
    const offs = req.messages.map((m) => {
      const content = b.createString(m.content);
      fb.Message.startMessage(b);
      fb.Message.addRole(b, roleToWire(m.role));
      fb.Message.addContent(b, content);
      return fb.Message.endMessage(b);
    });
    messages = fb.InferenceRequest.createMessagesVector(b, offs);
  }
  const sampling = req.sampling ? encodeSampling(b, req.sampling) : 0;
  const strs = (xs: readonly string[]) => xs.map((x) => b.createString(x));
  const choices = req.choices ? fb.InferenceRequest.createChoicesVector(b, strs(req.choices)) : 0;
  const tickers = req.tickers ? fb.InferenceRequest.createTickersVector(b, strs(req.tickers)) : 0;
  const schema = req.responseSchema !== undefined ? b.createString(req.responseSchema) : 0;

  fb.InferenceRequest.startInferenceRequest(b);
  fb.InferenceRequest.addId(b, id);
  if (model) fb.InferenceRequest.addModel(b, model);
  if (prompt) fb.InferenceRequest.addPrompt(b, prompt);
  if (messages) fb.InferenceRequest.addMessages(b, messages);
  if (sampling) fb.InferenceRequest.addSampling(b, sampling);
  if (req.deadlineMs !== undefined)
    fb.InferenceRequest.addDeadlineMs(b, uint('deadline_ms', req.deadlineMs, 0xffffffff));
  if (req.priority !== undefined) fb.InferenceRequest.addPriority(b, uint('priority', req.priority, 255));
  if (req.stream !== undefined) fb.InferenceRequest.addStream(b, req.stream);
  if (skill) fb.InferenceRequest.addSkill(b, skill);
  if (choices) fb.InferenceRequest.addChoices(b, choices);
  if (tickers) fb.InferenceRequest.addTickers(b, tickers);
  if (schema) fb.InferenceRequest.addResponseSchema(b, schema);
  return finishClient(fb.ClientBody.InferenceRequest, fb.InferenceRequest.endInferenceRequest(b));
}

function encodeSampling(b: flatbuffers.Builder, s: Partial<SamplingParams>): flatbuffers.Offset {
  const stop =
    s.stop !== undefined
      ? fb.Sampling.createStopVector(
          b,
          s.stop.map((x) => b.createString(x)),
        )
      : 0;
  fb.Sampling.startSampling(b);
  if (s.maxTokens !== undefined)
    fb.Sampling.addMaxTokens(b, uint('sampling.max_tokens', s.maxTokens, 0xffffffff));
  if (s.temperature !== undefined) fb.Sampling.addTemperature(b, s.temperature);
  if (s.topP !== undefined) fb.Sampling.addTopP(b, s.topP);
  if (s.seed !== undefined) {
    // `seed: uint = null` is an optional scalar, but flatc 2.0.8's TS addSeed passes
    // default 0, which would drop seed 0. Forcing defaults writes it whatever its value.
    b.forceDefaults(true);
    fb.Sampling.addSeed(b, uint('sampling.seed', s.seed, 0xffffffff));
    b.forceDefaults(false);
  }
  if (stop) fb.Sampling.addStop(b, stop);
  return fb.Sampling.endSampling(b);
}

export function encodeCancel(id: string): Uint8Array {
  builder.clear();
  const idOff = builder.createString(id);
  return finishClient(fb.ClientBody.Cancel, fb.Cancel.createCancel(builder, idOff));
}

export function encodePing(nonce: bigint | number): Uint8Array {
  builder.clear();
  return finishClient(fb.ClientBody.Ping, fb.Ping.createPing(builder, BigInt.asUintN(64, BigInt(nonce))));
}

/** Clients accept bigger frames than the server does: a Result can carry a long text. */
export const DEFAULT_MAX_SERVER_FRAME_BYTES = 64 << 20;

const unsupported = (what: string): ColoError =>
  new ColoError('UNSUPPORTED_FRAME', `unsupported ${what} (newer server?)`);

/** Verifies, then decodes one server frame. Throws ColoError like decodeClientFrame. */
export function decodeServerFrame(
  bytes: Uint8Array,
  maxBytes = DEFAULT_MAX_SERVER_FRAME_BYTES,
): ServerMessage {
  const root = verifyServerFrame(bytes, maxBytes);
  const frame = new fb.ServerFrame().__init(root, new flatbuffers.ByteBuffer(bytes));
  switch (frame.bodyType()) {
    case fb.ServerBody.Accepted: {
      const a = frame.body(new fb.Accepted()) as fb.Accepted;
      const route = routeKindFromWire(a.route());
      if (route === undefined) throw unsupported(`route kind ${a.route()}`);
      return { kind: 'accepted', id: a.id() ?? '', route };
    }
    case fb.ServerBody.TokenChunk: {
      const t = frame.body(new fb.TokenChunk()) as fb.TokenChunk;
      return { kind: 'token', id: t.id() ?? '', index: t.index(), text: t.text() ?? '' };
    }
    case fb.ServerBody.Result:
      return decodeResult(frame.body(new fb.Result()) as fb.Result);
    case fb.ServerBody.Error: {
      const e = frame.body(new fb.Error()) as fb.Error;
      const u = e.usage();
      const error = new ColoError(errorCodeFromWire(e.code()), e.message() ?? '', {
        field: e.field() || undefined,
        retryAfterMs: e.retryAfterMs() || undefined,
        usage: u
          ? {
              promptTokens: u.promptTokens(),
              completionTokens: u.completionTokens(),
              text: e.partialText() || undefined,
            }
          : undefined,
      });
      return { kind: 'error', id: e.id() ?? '', error };
    }
    case fb.ServerBody.Pong: {
      const p = frame.body(new fb.Pong()) as fb.Pong;
      return { kind: 'pong', nonce: p.nonce(), serverTimeNs: p.serverTimeNs() };
    }
    default:
      throw new ColoError('MALFORMED_FRAME', 'malformed frame: ServerFrame has no body');
  }
}

function decodeResult(r: fb.Result): ServerMessage {
  const finishReason = finishReasonFromWire(r.finishReason());
  if (finishReason === undefined) throw unsupported(`finish reason ${r.finishReason()}`);
  const usage = r.usage();
  const route = r.route();
  const kind = routeKindFromWire(route?.kind() ?? 0);
  if (kind === undefined) throw unsupported(`route kind ${route?.kind()}`);
  const timings = r.timings();
  const signals: Signal[] = [];
  const s = new fb.Signal();
  for (let i = 0; i < r.signalsLength(); i++) {
    r.signals(i, s);
    signals.push({
      entity: s.entity() ?? '',
      ticker: s.ticker() ?? '',
      direction: Math.sign(s.direction()) as SignalDirection,
      score: s.score(),
      confidence: s.confidence(),
      label: s.label() ?? '',
      rationale: s.rationale() ?? '',
      abstain: s.abstain(),
    });
  }
  const result: CompletionResult = {
    id: r.id() ?? '',
    text: r.text() ?? '',
    finishReason,
    usage: {
      promptTokens: usage?.promptTokens() ?? 0,
      completionTokens: usage?.completionTokens() ?? 0,
      cachedTokens: usage?.cachedTokens() ?? 0,
    },
    route: {
      kind,
      provider: route?.provider() ?? '',
      model: route?.model() ?? '',
      cached: route?.cached() ?? false,
    },
    timings: {
      queueUs: Number(timings?.queueUs() ?? 0n),
      ttftUs: Number(timings?.ttftUs() ?? 0n),
      totalUs: Number(timings?.totalUs() ?? 0n),
    },
  };
  const choice = r.choice();
  if (choice !== null) {
    result.choice = choice;
    result.choiceProbs = Array.from(r.choiceProbsArray() ?? []);
  }
  if (r.decisionsLength() > 0) {
    const d = new fb.Decision();
    result.decisions = [];
    for (let i = 0; i < r.decisionsLength(); i++) {
      r.decisions(i, d);
      // The wire carries probabilities (float32) only; log-probabilities stay on HTTP.
      const probs = Array.from(d.choiceProbsArray() ?? []);
      result.decisions.push({ ticker: d.ticker() ?? '', choice: d.choice() ?? '', probs });
    }
  }
  const cost = Number(r.costMicros());
  if (cost > 0) result.costMicros = cost;
  return { kind: 'result', result, skill: r.skill() || undefined, signals };
}
