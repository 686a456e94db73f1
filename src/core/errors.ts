/**
 * One error base for all of Colo. Callers branch on `code`, never on message text.
 * The edge (src/server) maps a ColoError to an HTTP status, an SSE error event or an
 * Error frame through `errorInfo`; nothing else decides statuses.
 */

/** Every stable error code. The wire enum in schemas/colo.fbs carries the same names. */
export const ERROR_CODES = [
  'INTERNAL',
  'INVALID_ARGUMENT',
  'MALFORMED_FRAME',
  'FRAME_TOO_LARGE',
  'UNSUPPORTED_FRAME',
  'DUPLICATE_ID',
  'MODEL_NOT_FOUND',
  'SKILL_NOT_FOUND',
  'NOT_FOUND',
  'OVERLOADED',
  'DEADLINE',
  'CANCELLED',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'SUBSCRIPTION_REQUIRED',
  'SUBSCRIPTION_PENDING',
  'RATE_LIMITED',
  'QUOTA_EXCEEDED',
  'UPSTREAM_ERROR',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_UNAVAILABLE',
  'CIRCUIT_OPEN',
  'STREAM_TRUNCATED',
  'SCHEMA_VIOLATION',
  'WORKER_CRASHED',
  'NOT_READY',
  'SHUTTING_DOWN',
  'MODEL_LOAD_FAILED',
  'CHECKSUM_MISMATCH',
  'PREEMPTED',
  'UNAVAILABLE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorInfo {
  /** HTTP status at the edge. */
  status: number;
  /** Whether the same request may succeed if sent again later. */
  retryable: boolean;
  /** OpenAI-style `error.type` for the HTTP API. */
  type: string;
}

const info = (status: number, retryable: boolean, type: string): ErrorInfo => ({ status, retryable, type });

export const ERROR_INFO: Readonly<Record<ErrorCode, ErrorInfo>> = Object.freeze({
  INTERNAL: info(500, false, 'server_error'),
  INVALID_ARGUMENT: info(400, false, 'invalid_request_error'),
  MALFORMED_FRAME: info(400, false, 'invalid_request_error'),
  FRAME_TOO_LARGE: info(413, false, 'invalid_request_error'),
  UNSUPPORTED_FRAME: info(400, false, 'invalid_request_error'),
  DUPLICATE_ID: info(409, false, 'invalid_request_error'),
  MODEL_NOT_FOUND: info(404, false, 'invalid_request_error'),
  SKILL_NOT_FOUND: info(404, false, 'invalid_request_error'),
  NOT_FOUND: info(404, false, 'invalid_request_error'),
  OVERLOADED: info(503, true, 'server_error'),
  DEADLINE: info(504, true, 'timeout_error'),
  CANCELLED: info(499, false, 'cancelled'),
  UNAUTHENTICATED: info(401, false, 'authentication_error'),
  PERMISSION_DENIED: info(403, false, 'permission_error'),
  SUBSCRIPTION_REQUIRED: info(403, false, 'permission_error'),
  SUBSCRIPTION_PENDING: info(403, true, 'permission_error'),
  RATE_LIMITED: info(429, true, 'rate_limit_error'),
  QUOTA_EXCEEDED: info(429, false, 'insufficient_quota'),
  UPSTREAM_ERROR: info(502, true, 'upstream_error'),
  UPSTREAM_TIMEOUT: info(504, true, 'timeout_error'),
  UPSTREAM_UNAVAILABLE: info(503, true, 'upstream_error'),
  CIRCUIT_OPEN: info(503, true, 'upstream_error'),
  STREAM_TRUNCATED: info(502, true, 'upstream_error'),
  SCHEMA_VIOLATION: info(502, false, 'upstream_error'),
  WORKER_CRASHED: info(500, true, 'server_error'),
  NOT_READY: info(503, true, 'server_error'),
  SHUTTING_DOWN: info(503, true, 'server_error'),
  MODEL_LOAD_FAILED: info(500, false, 'server_error'),
  CHECKSUM_MISMATCH: info(502, false, 'upstream_error'),
  PREEMPTED: info(503, true, 'server_error'),
  UNAVAILABLE: info(503, true, 'server_error'),
});

export interface ColoErrorOptions {
  /** The request field at fault, for INVALID_ARGUMENT. */
  field?: string;
  /** When a retry may succeed, in milliseconds from now. */
  retryAfterMs?: number;
  cause?: unknown;
  /**
   * What the request consumed before it failed (cancel, deadline, disconnect, preemption,
   * shutdown, upstream error): the pipeline charges and audits it. Undefined when nothing ran.
   */
  usage?: PartialUsage | undefined;
}

/** Tokens (and text) a request had produced when it ended without a result. */
export interface PartialUsage {
  promptTokens: number;
  completionTokens: number;
  /** Text streamed so far, where the code promises it (PREEMPTED, SHUTTING_DOWN). */
  text?: string | undefined;
}

/** Codes that mean a fault in the server itself: their errors keep a stack trace. */
const KEEPS_STACK: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'INTERNAL',
  'WORKER_CRASHED',
  'MODEL_LOAD_FAILED',
]);

export class ColoError extends Error {
  override readonly name = 'ColoError';
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly retryAfterMs: number | undefined;
  /** Mutable so the layer that counted the tokens can attach them on the way up. */
  usage: PartialUsage | undefined;

  constructor(code: ErrorCode, message: string, opts: ColoErrorOptions = {}) {
    // Only a server fault keeps a stack. Refusals, client errors, cancels and upstream
    // failures are outcomes, raised at request rate (a burst refused at once), and
    // capturing 10 frames costs ~15 µs on the 2-vCPU dev VM against ~1 µs without
    // (bench/README.md, "What a refusal costs"); an upstream failure's cause keeps its own.
    const limit = Error.stackTraceLimit;
    if (!KEEPS_STACK.has(code)) Error.stackTraceLimit = 0;
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    Error.stackTraceLimit = limit;
    this.code = code;
    this.field = opts.field;
    this.retryAfterMs = opts.retryAfterMs;
    this.usage = opts.usage;
  }

  get status(): number {
    return ERROR_INFO[this.code].status;
  }

  get retryable(): boolean {
    return ERROR_INFO[this.code].retryable;
  }

  /**
   * Whether a client library may send the request again unchanged by itself (HTTP
   * `x-should-retry`, which the official OpenAI SDKs obey; without it they retry every
   * 5xx, 0.5–8 s later). DEADLINE is retryable for the caller, who may send it again with
   * more time, but not for a library repeating it: it was refused because it cannot
   * finish inside its deadline, and the OpenAI SDK's two retries turned a refusal in
   * under a millisecond into three refusals over ~1.5 s.
   */
  get clientMayRetry(): boolean {
    return this.retryable && this.code !== 'DEADLINE';
  }

  /** Plain-data form that crosses worker boundaries (structured clone drops class identity). */
  toJSON(): SerializedError {
    return {
      code: this.code,
      message: this.message,
      field: this.field,
      retryAfterMs: this.retryAfterMs,
      usage: this.usage,
    };
  }
}

export interface SerializedError {
  code: ErrorCode;
  message: string;
  field?: string | undefined;
  retryAfterMs?: number | undefined;
  usage?: PartialUsage | undefined;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** Turns anything thrown into a ColoError; unknown failures become INTERNAL without leaking detail. */
export function toColoError(err: unknown): ColoError {
  if (err instanceof ColoError) return err;
  if (err && typeof err === 'object' && isErrorCode((err as SerializedError).code)) {
    const e = err as SerializedError;
    return new ColoError(e.code, e.message, { field: e.field, retryAfterMs: e.retryAfterMs, usage: e.usage });
  }
  if (err instanceof Error && err.name === 'AbortError')
    return new ColoError('CANCELLED', 'request cancelled');
  return new ColoError('INTERNAL', 'internal error', { cause: err });
}

export const invalidArgument = (field: string, message: string): ColoError =>
  new ColoError('INVALID_ARGUMENT', `${field}: ${message}`, { field });

/** A schema library's `safeParse` result (zod's shape), typed here without importing it. */
export type Parsed<T> =
  | { success: true; data: T }
  | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };

/** The parsed value, or INVALID_ARGUMENT naming the first issue's field (`body` at the root). */
export function parsedOrInvalid<T>(r: Parsed<T>): T {
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw invalidArgument(issue.path.map(String).join('.') || 'body', issue.message);
}
