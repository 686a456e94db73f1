/**
 * Upstream failures. They are ColoErrors (callers branch on `.code`), plus two facts
 * the gateway needs and the edge does not: whether the same target may succeed if
 * asked again (`transient`), and whether the failure says the target is unhealthy
 * (`breaker`: counts toward opening its circuit breaker).
 */
import { ColoError, type ErrorCode } from '../../core/errors';

export interface UpstreamFailureOptions {
  /** HTTP status from the upstream, when there was one. */
  upstreamStatus?: number | undefined;
  /** Retrying the same target may succeed. Default: from the code (see below). */
  transient?: boolean | undefined;
  /** Counts as a failure for the target's breaker. Default: same as transient. */
  breaker?: boolean | undefined;
  retryAfterMs?: number | undefined;
  cause?: unknown;
}

const TRANSIENT_BY_DEFAULT: ReadonlySet<ErrorCode> = new Set([
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_TIMEOUT',
  'RATE_LIMITED',
  'STREAM_TRUNCATED',
]);

export class UpstreamFailure extends ColoError {
  readonly upstreamStatus: number | undefined;
  readonly transient: boolean;
  readonly breaker: boolean;

  constructor(code: ErrorCode, message: string, opts: UpstreamFailureOptions = {}) {
    super(code, message, { retryAfterMs: opts.retryAfterMs, cause: opts.cause });
    this.upstreamStatus = opts.upstreamStatus;
    this.transient = opts.transient ?? TRANSIENT_BY_DEFAULT.has(code);
    this.breaker = opts.breaker ?? this.transient;
  }
}

/** A response the adapter could not understand (bad JSON, bad SSE). Not retried on the same target. */
export const malformed = (target: string, what: string): UpstreamFailure =>
  new UpstreamFailure('UPSTREAM_ERROR', `upstream ${target} sent a malformed ${what}`, {
    transient: false,
    breaker: true,
  });
