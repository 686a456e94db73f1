/**
 * The life of one remote request, inside its one deadline:
 *   1. acquireHead: start the best target; if no token came after the hedge delay,
 *      start the next one too; the first to produce a token wins and the others are
 *      aborted. Failures before the first token fail over (or retry after backoff)
 *      transparently.
 *   2. stream: forward the winner's chunks to the sink. If it breaks after text reached
 *      the sink, the request ends with STREAM_TRUNCATED; if nothing reached a sink
 *      (no sink at all), it starts over at step 1 with what is left of the deadline.
 * The caller (Gateway) owns the deadline timer; `signal` aborts with DEADLINE or
 * CANCELLED as its reason.
 */
import { ColoError, type ErrorCode } from '../core/errors';
import type { FinishReason, TokenLogprob, TokenSink } from '../core/types';
import { Attempt, HEDGE_LOST, type HeadOutcome } from './attempt';
import { hedgeChannel, retryChannel } from './events';
import type { Planner } from './planner';
import { UpstreamFailure } from './providers/failure';
import type { ProviderChunk, UnifiedRequest } from './providers/types';
import type { Target } from './target';
import type { CancelSignal } from '../core/cancel';

export interface DispatchContext {
  requestId: string;
  req: UnifiedRequest;
  planner: Planner;
  hedgeDelayMs: number;
  maxHedges: number;
  sink: TokenSink | null;
  /** Aborts with the ColoError that ends the request (DEADLINE or CANCELLED). */
  signal: CancelSignal;
  deadlineAt: number;
  now: () => number;
}

export interface DispatchResult {
  target: Target;
  text: string;
  finishReason: FinishReason;
  promptTokens: number | undefined;
  completionTokens: number | undefined;
  textChunks: number;
  firstAttemptAt: number;
  firstTokenAt: number;
  /** The upstream's logprob entries, in order, when it sent any. */
  logprobs: TokenLogprob[] | undefined;
}

type Wake = HeadOutcome | 'hedge';

interface HeadState {
  firstAttemptAt: number;
  attemptNo: number;
  /** Code of the latest failure, reported with the retry it causes. */
  lastCode: ErrorCode;
  lastFailureAt: number;
}

export async function dispatch(ctx: DispatchContext): Promise<DispatchResult> {
  const state: HeadState = { firstAttemptAt: 0, attemptNo: 0, lastCode: 'UPSTREAM_ERROR', lastFailureAt: 0 };
  for (;;) {
    const head = await acquireHead(ctx, state);
    const a = head.attempt;
    let text = '';
    let sent = false;
    let finish: FinishReason | undefined;
    let promptTokens: number | undefined;
    let completionTokens: number | undefined;
    let textChunks = 0;
    let firstTokenAt = 0;
    let logprobs: TokenLogprob[] | undefined;
    const take = (c: ProviderChunk): void => {
      if (c.kind === 'text') {
        if (firstTokenAt === 0) firstTokenAt = ctx.now();
        text += c.text;
        textChunks++;
        if (c.logprobs) (logprobs ??= []).push(...c.logprobs);
        if (ctx.sink) {
          sent = true;
          if (c.logprobs) ctx.sink.onToken(c.text, c.logprobs);
          else ctx.sink.onToken(c.text);
        }
      } else if (c.kind === 'usage') {
        if (c.promptTokens !== undefined) promptTokens = c.promptTokens;
        if (c.completionTokens !== undefined) completionTokens = c.completionTokens;
      } else if (c.kind === 'finish') {
        finish = c.reason;
      }
    };
    try {
      for (const c of head.buffered) take(c);
      for (;;) {
        const r = await a.next();
        if (r.done) break;
        take(r.value);
      }
      if (finish === undefined) {
        throw new UpstreamFailure(
          'STREAM_TRUNCATED',
          `upstream ${a.target.name} ended the stream without finishing`,
        );
      }
      a.end('ok');
      return {
        target: a.target,
        text,
        finishReason: finish,
        promptTokens,
        completionTokens,
        textChunks,
        firstAttemptAt: state.firstAttemptAt,
        firstTokenAt,
        logprobs,
      };
    } catch (thrown) {
      const err = thrown instanceof ColoError ? thrown : a.toError(thrown);
      a.end('error', err);
      if (ctx.signal.aborted) throw ctx.signal.reason as ColoError;
      if (sent) {
        throw new ColoError(
          'STREAM_TRUNCATED',
          `stream from ${a.target.name} broke after ${textChunks} chunks (${err.code})`,
          { cause: err },
        );
      }
      // Nothing reached the caller yet: start over elsewhere, transparently.
      state.lastCode = err.code;
      state.lastFailureAt = ctx.now();
      ctx.planner.onFailure(a.target, err, ctx.now());
    }
  }
}

async function acquireHead(
  ctx: DispatchContext,
  state: HeadState,
): Promise<{ attempt: Attempt; buffered: ProviderChunk[] }> {
  const { planner, now } = ctx;
  const running: Attempt[] = [];
  let hedgeTimer: NodeJS.Timeout | null = null;
  let hedgeWake: Promise<'hedge'> | null = null;

  const start = (target: Target, hedge: boolean): Attempt => {
    const a = new Attempt(target, ctx.requestId, ++state.attemptNo, hedge, ctx.req, ctx.signal, now);
    if (state.firstAttemptAt === 0) state.firstAttemptAt = a.startedAt;
    running.push(a);
    return a;
  };
  const armHedge = (): void => {
    if (ctx.hedgeDelayMs <= 0 || running.length > ctx.maxHedges) return;
    hedgeWake = new Promise((resolve) => {
      hedgeTimer = setTimeout(() => resolve('hedge'), ctx.hedgeDelayMs);
    });
  };
  const disarmHedge = (): void => {
    if (hedgeTimer) clearTimeout(hedgeTimer);
    hedgeTimer = null;
    hedgeWake = null;
  };
  const abortAll = (reason: ColoError): void => {
    for (const a of running) {
      a.abort(reason);
      planner.onAborted(a.target);
    }
    running.length = 0;
  };

  try {
    for (;;) {
      if (ctx.signal.aborted) throw ctx.signal.reason as ColoError;
      if (running.length === 0) {
        const plan = planner.next(now());
        if (plan.kind === 'none') throw planner.finalError(now());
        if (plan.kind === 'wait') {
          // Waiting past the deadline only to fail then helps nobody: fail now with the cause.
          if (now() + plan.ms >= ctx.deadlineAt) throw planner.finalError(now());
          await sleep(plan.ms, ctx.signal);
          continue;
        }
        if (state.attemptNo > 0) publishRetry(ctx, plan.target, state.lastCode, now() - state.lastFailureAt);
        start(plan.target, false);
        disarmHedge();
        armHedge();
      }
      // Every running attempt listens to ctx.signal, so a deadline or cancel settles
      // their heads: no separate abort waker is needed. One attempt and no hedge timer
      // (the common case) needs no race at all.
      let wake: Wake;
      if (running.length === 1 && hedgeWake === null) {
        wake = await running[0]!.head;
      } else {
        const wakers: Promise<Wake>[] = running.map((a) => a.head);
        if (hedgeWake) wakers.push(hedgeWake);
        wake = await Promise.race(wakers);
      }
      if (wake === 'hedge') {
        disarmHedge();
        const plan = planner.next(now(), true);
        if (plan.kind === 'start') {
          const primary = running[0]!;
          start(plan.target, true);
          if (hedgeChannel.hasSubscribers) {
            hedgeChannel.publish({
              requestId: ctx.requestId,
              primary: primary.target.name,
              hedge: plan.target.name,
              afterMs: now() - primary.startedAt,
            });
          }
          armHedge();
        }
        continue;
      }
      const idx = running.indexOf(wake.attempt);
      if (idx < 0) continue; // an attempt already aborted; its late outcome means nothing
      running.splice(idx, 1);
      if (wake.ok) {
        abortAll(HEDGE_LOST);
        return { attempt: wake.attempt, buffered: wake.buffered };
      }
      wake.attempt.end('error', wake.error);
      if (ctx.signal.aborted) throw ctx.signal.reason as ColoError;
      state.lastCode = wake.error.code;
      state.lastFailureAt = now();
      planner.onFailure(wake.attempt.target, wake.error, now());
    }
  } catch (err) {
    abortAll(err instanceof ColoError ? err : new ColoError('CANCELLED', 'request ended'));
    throw err;
  } finally {
    disarmHedge();
  }
}

function publishRetry(ctx: DispatchContext, target: Target, code: ErrorCode, delayMs: number): void {
  if (retryChannel.hasSubscribers)
    retryChannel.publish({ requestId: ctx.requestId, target: target.name, code, delayMs });
}

function sleep(ms: number, signal: CancelSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as ColoError);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
