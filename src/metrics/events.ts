/**
 * Events other modules publish for metrics and audit to subscribe to, over
 * node:diagnostics_channel, so the core never imports metrics. Publishing with no
 * subscriber costs a property read.
 */
import diagnostics_channel from 'node:diagnostics_channel';
import type { ErrorCode } from '../core/errors';
import type { CompletionResult, RouteKind } from '../core/types';

export interface RequestDoneEvent {
  /** 'ws' | 'http' | 'skill' ... where the request came in. */
  api: string;
  model: string;
  /** Client-chosen request id (joins gateway attempt events for traces). */
  id?: string | undefined;
  /** The caller's tenant, when auth filled it in. */
  tenant?: string | undefined;
  /** performance.now() ms when the request arrived; span start times count from here. */
  receivedAt?: number | undefined;
  maxTokens?: number | undefined;
  temperature?: number | undefined;
  /** Chat messages (true) or a completion prompt. */
  chat?: boolean | undefined;
  route: RouteKind | 'none';
  provider: string;
  result?: CompletionResult | undefined;
  errorCode?: ErrorCode | undefined;
  /** Timings in microseconds; present for errors too where known. */
  queueUs: number;
  ttftUs: number;
  totalUs: number;
  /** Inter-token gaps in microseconds. */
  gapsUs: readonly number[];
}

export const requestDone = diagnostics_channel.channel('colo:request:done');
export const requestStart = diagnostics_channel.channel('colo:request:start');
