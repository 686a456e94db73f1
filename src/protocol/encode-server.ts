/**
 * Outbound, server side: the frames Colo sends. encodeTokenChunk runs once per
 * streamed token, so every encoder reuses one Builder (clear() between frames) and
 * returns a view into it.
 *
 * The returned Uint8Array is valid only until the next encode call on the same
 * encoder: send it synchronously (ws.send copies it) or pass `copy: true`.
 */
import * as flatbuffers from 'flatbuffers';
import type { ColoError } from '../core/errors';
import type { CompletionResult, RouteKind, TickerDecision } from '../core/types';
import { errorCodeToWire, finishReasonToWire, routeKindToWire } from './enums';
import * as fb from './generated/colo_generated';
import type { Signal } from './signal';
import { WIRE_SPEC } from './generated/spec';
import { writeString } from './strings';

const FILE_IDENTIFIER = WIRE_SPEC.fileIdentifier;

export interface EncodeOptions {
  /** Return a fresh copy instead of a view into the reused builder. Default false. */
  copy?: boolean;
}

export interface ResultEncodeOptions extends EncodeOptions {
  /** Skill name, for skill requests. */
  skill?: string | undefined;
}

const U32_MAX = 0xffffffff;
/** Clamps to the uint range of the wire; NaN and negatives become 0. */
const u32 = (x: number): number => (x > 0 ? (x >= U32_MAX ? U32_MAX : Math.floor(x)) : 0);
const u64 = (x: number): bigint => (x > 0 && Number.isFinite(x) ? BigInt(Math.round(x)) : 0n);

export class ServerFrameEncoder {
  private readonly b: flatbuffers.Builder;

  /** @param initialBytes starting builder size; it grows as needed and keeps its size. Default 1024. */
  constructor(initialBytes = 1024) {
    this.b = new flatbuffers.Builder(initialBytes);
  }

  accepted(id: string, route: RouteKind, opts?: EncodeOptions): Uint8Array {
    const b = this.begin();
    const idOff = writeString(b, id);
    fb.Accepted.startAccepted(b);
    fb.Accepted.addId(b, idOff);
    fb.Accepted.addRoute(b, routeKindToWire(route));
    return this.finish(fb.ServerBody.Accepted, fb.Accepted.endAccepted(b), opts);
  }

  /** The per-token hot path. */
  tokenChunk(id: string, index: number, text: string, opts?: EncodeOptions): Uint8Array {
    const b = this.begin();
    const idOff = writeString(b, id);
    const textOff = writeString(b, text);
    fb.TokenChunk.startTokenChunk(b);
    fb.TokenChunk.addId(b, idOff);
    fb.TokenChunk.addIndex(b, u32(index));
    fb.TokenChunk.addText(b, textOff);
    return this.finish(fb.ServerBody.TokenChunk, fb.TokenChunk.endTokenChunk(b), opts);
  }

  result(r: CompletionResult, signals?: readonly Signal[], opts?: ResultEncodeOptions): Uint8Array {
    const b = this.begin();
    // Children first: FlatBuffers cannot nest table construction.
    const idOff = writeString(b, r.id);
    const textOff = writeString(b, r.text);
    const skillOff = opts?.skill ? writeString(b, opts.skill) : 0;
    const signalsOff = signals && signals.length > 0 ? this.signals(signals) : 0;
    const choiceOff = r.choice !== undefined ? writeString(b, r.choice) : 0;
    const probsOff = r.choiceProbs ? fb.Result.createChoiceProbsVector(b, r.choiceProbs) : 0;
    const decisionsOff = r.decisions ? this.decisions(r.decisions) : 0;
    const usageOff = fb.Usage.createUsage(
      b,
      u32(r.usage.promptTokens),
      u32(r.usage.completionTokens),
      u32(r.usage.cachedTokens ?? 0),
    );
    const providerOff = writeString(b, r.route.provider);
    const modelOff = writeString(b, r.route.model);
    const routeOff = fb.Route.createRoute(
      b,
      routeKindToWire(r.route.kind),
      providerOff,
      modelOff,
      r.route.cached,
    );
    const timingsOff = fb.Timings.createTimings(
      b,
      u64(r.timings.queueUs),
      u64(r.timings.ttftUs),
      u64(r.timings.totalUs),
    );
    fb.Result.startResult(b);
    fb.Result.addId(b, idOff);
    fb.Result.addText(b, textOff);
    fb.Result.addFinishReason(b, finishReasonToWire(r.finishReason));
    fb.Result.addUsage(b, usageOff);
    fb.Result.addRoute(b, routeOff);
    fb.Result.addTimings(b, timingsOff);
    if (skillOff) fb.Result.addSkill(b, skillOff);
    if (signalsOff) fb.Result.addSignals(b, signalsOff);
    if (choiceOff) fb.Result.addChoice(b, choiceOff);
    if (probsOff) fb.Result.addChoiceProbs(b, probsOff);
    if (r.costMicros) fb.Result.addCostMicros(b, u64(r.costMicros));
    if (decisionsOff) fb.Result.addDecisions(b, decisionsOff);
    return this.finish(fb.ServerBody.Result, fb.Result.endResult(b), opts);
  }

  /** `id` is '' when the offending frame could not be read that far. */
  error(id: string, err: ColoError, opts?: EncodeOptions): Uint8Array {
    const b = this.begin();
    const idOff = writeString(b, id);
    const messageOff = writeString(b, err.message);
    const fieldOff = err.field ? writeString(b, err.field) : 0;
    const u = err.usage;
    const partialOff = u?.text ? writeString(b, u.text) : 0;
    const usageOff = u ? fb.Usage.createUsage(b, u32(u.promptTokens), u32(u.completionTokens), 0) : 0;
    fb.Error.startError(b);
    fb.Error.addId(b, idOff);
    fb.Error.addCode(b, errorCodeToWire(err.code));
    fb.Error.addMessage(b, messageOff);
    if (fieldOff) fb.Error.addField(b, fieldOff);
    if (err.retryAfterMs !== undefined) fb.Error.addRetryAfterMs(b, u32(Math.ceil(err.retryAfterMs)));
    if (usageOff) fb.Error.addUsage(b, usageOff);
    if (partialOff) fb.Error.addPartialText(b, partialOff);
    return this.finish(fb.ServerBody.Error, fb.Error.endError(b), opts);
  }

  pong(nonce: bigint, serverTimeNs: bigint, opts?: EncodeOptions): Uint8Array {
    const b = this.begin();
    fb.Pong.startPong(b);
    fb.Pong.addNonce(b, BigInt.asUintN(64, nonce));
    fb.Pong.addServerTimeNs(b, BigInt.asUintN(64, serverTimeNs));
    return this.finish(fb.ServerBody.Pong, fb.Pong.endPong(b), opts);
  }

  private signals(signals: readonly Signal[]): flatbuffers.Offset {
    const b = this.b;
    const offs = new Array<flatbuffers.Offset>(signals.length);
    for (let i = 0; i < signals.length; i++) {
      const s = signals[i]!;
      const entity = writeString(b, s.entity);
      const ticker = writeString(b, s.ticker);
      const label = writeString(b, s.label);
      const rationale = writeString(b, s.rationale);
      offs[i] = fb.Signal.createSignal(
        b,
        entity,
        ticker,
        s.direction as number as fb.Direction,
        s.score,
        s.confidence,
        label,
        rationale,
        s.abstain,
      );
    }
    return fb.Result.createSignalsVector(b, offs);
  }

  private decisions(decisions: readonly TickerDecision[]): flatbuffers.Offset {
    const b = this.b;
    const offs = new Array<flatbuffers.Offset>(decisions.length);
    for (let i = 0; i < decisions.length; i++) {
      const d = decisions[i]!;
      const ticker = writeString(b, d.ticker);
      const choice = writeString(b, d.choice);
      const probs = fb.Decision.createChoiceProbsVector(b, d.probs);
      fb.Decision.startDecision(b);
      fb.Decision.addTicker(b, ticker);
      fb.Decision.addChoice(b, choice);
      fb.Decision.addChoiceProbs(b, probs);
      offs[i] = fb.Decision.endDecision(b);
    }
    return fb.Result.createDecisionsVector(b, offs);
  }

  private begin(): flatbuffers.Builder {
    this.b.clear();
    return this.b;
  }

  private finish(type: fb.ServerBody, body: flatbuffers.Offset, opts: EncodeOptions | undefined): Uint8Array {
    const b = this.b;
    fb.ServerFrame.startServerFrame(b);
    fb.ServerFrame.addBodyType(b, type);
    fb.ServerFrame.addBody(b, body);
    // Only the schema's root_type (ClientFrame) gets a finish helper; same identifier.
    b.finish(fb.ServerFrame.endServerFrame(b), FILE_IDENTIFIER);
    const view = b.asUint8Array();
    return opts?.copy ? view.slice() : view;
  }
}

/** The process-wide encoder the server's single uWS thread uses. */
const shared = new ServerFrameEncoder();

export const encodeAccepted = (id: string, route: RouteKind, opts?: EncodeOptions): Uint8Array =>
  shared.accepted(id, route, opts);
export const encodeTokenChunk = (id: string, index: number, text: string, opts?: EncodeOptions): Uint8Array =>
  shared.tokenChunk(id, index, text, opts);
export const encodeResult = (
  result: CompletionResult,
  signals?: readonly Signal[],
  opts?: ResultEncodeOptions,
): Uint8Array => shared.result(result, signals, opts);
export const encodeError = (id: string, err: ColoError, opts?: EncodeOptions): Uint8Array =>
  shared.error(id, err, opts);
export const encodePong = (nonce: bigint, serverTimeNs: bigint, opts?: EncodeOptions): Uint8Array =>
  shared.pong(nonce, serverTimeNs, opts);
