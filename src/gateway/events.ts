/**
 * Gateway events on `node:diagnostics_channel`, so metrics and tracing subscribe
 * without the gateway importing them. Publishers check `hasSubscribers` first, so an
 * unobserved gateway builds no event objects. Messages never carry secrets or text.
 */
import diagnostics from 'node:diagnostics_channel';
import type { ErrorCode } from '../core/errors';
import type { BreakerState } from './breaker';

/** One upstream attempt ended (won, failed, or aborted as a hedge loser / by the caller). */
export interface AttemptEvent {
  requestId: string;
  target: string;
  provider: string;
  model: string;
  /** 1-based attempt number within the request. */
  attempt: number;
  hedge: boolean;
  outcome: 'ok' | 'error' | 'aborted';
  code?: ErrorCode | undefined;
  upstreamStatus?: number | undefined;
  /** Milliseconds from attempt start to its first token, when it produced one. */
  ttftMs?: number | undefined;
  durationMs: number;
}

export interface BreakerEvent {
  target: string;
  from: BreakerState;
  to: BreakerState;
}

/** The gateway tries again (same target after backoff, or failover) after a failure with `code`. */
export interface RetryEvent {
  requestId: string;
  /** The target tried now. */
  target: string;
  code: ErrorCode;
  /** Milliseconds waited since the failure (0-ish for an immediate failover). */
  delayMs: number;
}

/** A hedge was sent because the first token was late. */
export interface HedgeEvent {
  requestId: string;
  primary: string;
  hedge: string;
  afterMs: number;
}

/** One `complete` call ended. */
export interface RequestEvent {
  requestId: string;
  model: string;
  outcome: 'ok' | 'error';
  code?: ErrorCode | undefined;
  target?: string | undefined;
  attempts: number;
  ttftMs?: number | undefined;
  durationMs: number;
}

export const CHANNELS = Object.freeze({
  attempt: 'colo:gateway:attempt',
  breaker: 'colo:gateway:breaker',
  retry: 'colo:gateway:retry',
  hedge: 'colo:gateway:hedge',
  request: 'colo:gateway:request',
});

export const attemptChannel = diagnostics.channel(CHANNELS.attempt);
export const breakerChannel = diagnostics.channel(CHANNELS.breaker);
export const retryChannel = diagnostics.channel(CHANNELS.retry);
export const hedgeChannel = diagnostics.channel(CHANNELS.hedge);
export const requestChannel = diagnostics.channel(CHANNELS.request);
