/**
 * The HTTP half every HTTP provider shares: send one JSON POST through the target's
 * keep-alive pool, turn transport errors and non-2xx statuses into UpstreamFailures,
 * and keep the API key out of every message. Status mapping lives here, once, so no
 * provider branches on another provider's quirks.
 */
import type { Dispatcher } from 'undici';
import type { ErrorCode } from '../../core/errors';
import { UpstreamFailure, malformed } from './failure';
import { parseRetryAfter, upstreamSaysRetry } from './retry-after';
import { type SseEvent, SseParser, SseProtocolError } from './sse';
import type { ProviderCall, ProviderChunk } from './types';

/** Most bytes of an upstream error body kept for the message. */
const ERROR_BODY_LIMIT = 512;

/**
 * One provider call over HTTP, as unified chunks: `open` once a 2xx status arrived, then
 * the answer. A non-streaming target's body is read whole (`parse` turns the JSON into
 * chunks); a streaming target's SSE events go through `translate`, which appends
 * chunks to `out` and returns true at the provider's terminator (the body is still read
 * to its end, so the connection goes back to the keep-alive pool).
 */
export async function* httpCall(
  call: ProviderCall,
  req: { path: string; headers: Record<string, string>; body: unknown },
  parse: (json: unknown) => Iterable<ProviderChunk>,
  translate: (ev: SseEvent, out: ProviderChunk[]) => boolean,
): AsyncGenerator<ProviderChunk> {
  if (!call.target.stream) {
    const x = sendJson(call, req.path, req.headers, req.body);
    try {
      await x.opened;
      yield { kind: 'open' };
      yield* parse(await x.json);
    } finally {
      x.stop();
    }
    return;
  }
  const x = streamSse(call, req.path, req.headers, req.body, translate);
  try {
    await x.opened;
    yield { kind: 'open' };
    for (;;) {
      const chunks = x.take();
      for (let i = 0; i < chunks.length; i++) yield chunks[i]!;
      if (chunks.length > 0) continue;
      if (x.failure) throw x.failure;
      if (x.complete) return;
      await x.more();
    }
  } finally {
    // The caller stopped reading (a cancel, a hedge that lost): free the connection.
    x.stop();
  }
}

/**
 * A non-streaming exchange: POSTs `body` as JSON; `opened` settles when a 2xx status
 * arrived (or rejects with the failure), `json` with the parsed body.
 *
 * Why not undici's `request()` and `body.text()`: `request()` wraps every answer in a
 * Readable stream and parses every response header into an object, and `text()` reads
 * the stream back through it: ~20 µs of CPU a request (11–76 per round) on the 2-vCPU
 * box for a 200-byte body (bench/README.md, "The upstream answer without a stream"). This is
 * undici's own dispatch API (the layer `request()` is built on: same pool, parser and
 * diagnostics channels) with a handler that collects the body's buffers and parses the
 * headers only for a failure.
 */
export function sendJson(
  call: ProviderCall,
  path: string,
  headers: Record<string, string>,
  body: unknown,
): JsonExchange {
  const x = new JsonExchange(call);
  dispatchJson(call, path, headers, body, 'application/json', x);
  return x;
}

const noop = (): void => undefined;

/** Chunks a stream may hold unread before the upstream socket is paused. */
const SSE_QUEUE_LIMIT = 256;

/**
 * A streaming exchange through undici's dispatch API, for the reason sendJson gives:
 * each body chunk is parsed as SSE and translated into unified chunks in the socket's
 * own callback, and waits in a queue for the caller (`take`, `more`); no Readable
 * stream, no async iterator per chunk. The socket is paused while the caller has
 * SSE_QUEUE_LIMIT chunks unread (a slow client downstream), and resumed as it reads.
 */
export function streamSse(
  call: ProviderCall,
  path: string,
  headers: Record<string, string>,
  body: unknown,
  translate: (ev: SseEvent, out: ProviderChunk[]) => boolean,
): SseExchange {
  const x = new SseExchange(call, translate);
  dispatchJson(call, path, headers, body, 'application/json, text/event-stream', x);
  return x;
}

/** Sends the POST through the call's pool; a failure to send reaches the handler's onError. */
function dispatchJson(
  call: ProviderCall,
  path: string,
  headers: Record<string, string>,
  body: unknown,
  accept: string,
  handler: Dispatcher.DispatchHandler & { onError(err: Error): void },
): void {
  const { target, http } = call;
  if (http === null) {
    handler.onError(
      new UpstreamFailure('INTERNAL', `target ${target.name} has no HTTP pool`, { transient: false }),
    );
    return;
  }
  try {
    http.dispatch(
      {
        method: 'POST',
        path: basePath(target.baseUrl) + path,
        headers: { 'content-type': 'application/json', accept, ...target.headers, ...headers },
        body: JSON.stringify(body),
        // The gateway's own watchdog owns time-to-first-byte and stall timeouts (it must
        // also cover providers without HTTP), so undici's are off.
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      handler,
    );
  } catch (err) {
    handler.onError(err as Error);
  }
}

/**
 * What both exchanges share as undici dispatch handlers: the call's cancel wired to the
 * request's abort, `opened` for the 2xx status, a failure's status and headers, and
 * `stop` for a caller that leaves before the body ended.
 */
abstract class Exchange {
  /** Settles when a 2xx status arrived; rejects with the call's UpstreamFailure. */
  readonly opened: Promise<void>;
  protected resolveOpened!: () => void;
  protected rejectOpened!: (err: unknown) => void;
  protected status = 0;
  /** A non-2xx answer's headers; null while the answer is a success. */
  protected rawHeaders: Buffer[] | null = null;
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  /** Aborts the request; undefined before undici connects it and once it ended. */
  protected abort: ((err?: Error) => void) | undefined;
  private readonly onAbort = (): void => {
    const r = this.call.signal.reason;
    this.abort?.(r instanceof Error ? r : new Error('aborted'));
  };

  constructor(protected readonly call: ProviderCall) {
    this.opened = new Promise<void>((res, rej) => {
      this.resolveOpened = res;
      this.rejectOpened = rej;
    });
    this.opened.catch(noop); // unread when the caller left first
  }

  /** Whether the body ended or the request failed. */
  protected abstract get finished(): boolean;

  /** The caller is done reading: aborts the request if the body has not ended. */
  stop(): void {
    if (!this.finished && this.abort) this.abort(new Error('stopped'));
    this.detach();
  }

  onConnect(abort: (err?: Error) => void): void {
    const { signal } = this.call;
    if (signal.aborted) {
      abort(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      return;
    }
    this.abort = abort;
    signal.addEventListener('abort', this.onAbort);
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void): boolean {
    this.status = status;
    if (status >= 200 && status < 300) {
      this.resolveOpened();
      this.opening(resume);
    } else this.rawHeaders = rawHeaders;
    return true;
  }

  /** A 2xx status arrived; `resume` restarts a socket paused by onData returning false. */
  protected opening(_resume: () => void): void {}

  /**
   * Keeps a body chunk: all of a JSON answer's, and of a failure only what its message
   * uses (the first ERROR_BODY_LIMIT bytes, chunk granular).
   */
  protected keep(chunk: Buffer): void {
    if (this.rawHeaders !== null && this.keptBytes >= ERROR_BODY_LIMIT) return;
    this.kept.push(chunk);
    this.keptBytes += chunk.length;
  }

  /** The kept chunks as text. */
  protected keptText(): string {
    const { kept } = this;
    return (kept.length === 1 ? kept[0]! : Buffer.concat(kept)).toString('utf8');
  }

  /** The failure a non-2xx answer's status, headers and kept body say. */
  protected statusFailure(): UpstreamFailure {
    const { target } = this.call;
    const text = this.keptText();
    return statusFailure(
      target.name,
      this.status,
      headerRecord(this.rawHeaders ?? []),
      scrub(text.slice(0, ERROR_BODY_LIMIT), target.apiKey),
    );
  }

  protected detach(): void {
    if (this.abort) this.call.signal.removeEventListener('abort', this.onAbort);
    this.abort = undefined;
  }
}

/** undici's dispatch handler for one SSE answer (see streamSse). */
export class SseExchange extends Exchange implements Dispatcher.DispatchHandler {
  /** Set when the exchange failed; chunks queued before it are still taken first. */
  failure: Error | undefined;
  /** The body ended (the stream's end: a finish chunk tells whether it was on purpose). */
  complete = false;
  private readonly parser: SseParser;
  private queue: ProviderChunk[] = [];
  /** The provider's terminator was seen: the rest of the body is read and dropped. */
  private ended = false;
  private wake: (() => void) | undefined;
  private resume: (() => void) | undefined;
  private paused = false;

  constructor(
    call: ProviderCall,
    private readonly translate: (ev: SseEvent, out: ProviderChunk[]) => boolean,
  ) {
    super(call);
    this.parser = new SseParser({ maxLineChars: call.target.maxSseLineChars });
  }

  protected get finished(): boolean {
    return this.complete || this.failure !== undefined;
  }

  protected override opening(resume: () => void): void {
    this.resume = resume;
  }

  /** The chunks queued so far (the caller owns the array). */
  take(): ProviderChunk[] {
    if (this.queue.length === 0) return this.queue;
    const out = this.queue;
    this.queue = [];
    if (this.paused) {
      this.paused = false;
      this.resume?.();
    }
    return out;
  }

  /** Resolves when there is something new: chunks, the end or a failure. */
  more(): Promise<void> {
    return new Promise<void>((res) => (this.wake = res));
  }

  onData(chunk: Buffer): boolean {
    if (this.rawHeaders !== null) {
      this.keep(chunk);
      return true;
    }
    if (this.ended || this.failure) return true;
    let events: SseEvent[];
    // Taken first: failing detaches the exchange from its request.
    const abort = this.abort;
    try {
      events = this.parser.push(chunk);
    } catch (err) {
      this.fail(
        err instanceof SseProtocolError
          ? // Not retried on this target (it would do it again); counts against its breaker.
            new UpstreamFailure(
              'UPSTREAM_ERROR',
              `upstream ${this.call.target.name} broke the SSE protocol: ${err.message}`,
              { transient: false, breaker: true },
            )
          : transportFailure(this.call, err),
      );
      abort?.(new Error('SSE protocol error'));
      return true;
    }
    try {
      for (let i = 0; i < events.length && !this.ended; i++)
        this.ended = this.translate(events[i]!, this.queue);
    } catch (err) {
      this.fail(transportFailure(this.call, err));
      abort?.(err as Error);
      return true;
    }
    this.signal();
    if (this.queue.length >= SSE_QUEUE_LIMIT) {
      this.paused = true;
      return false;
    }
    return true;
  }

  onComplete(): void {
    if (this.rawHeaders !== null) {
      this.fail(this.statusFailure());
      return;
    }
    this.parser.end();
    this.complete = true;
    this.detach();
    this.signal();
  }

  onError(err: Error): void {
    if (this.failure) return;
    this.fail(transportFailure(this.call, err));
  }

  private fail(failure: Error): void {
    if (this.failure) return;
    this.failure = failure;
    this.rejectOpened(failure);
    this.detach();
    this.signal();
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

/** undici's dispatch handler (its request-level interface) for one JSON answer. */
export class JsonExchange extends Exchange implements Dispatcher.DispatchHandler {
  /** The parsed body; rejects as `opened` does, or when the body is not JSON. */
  readonly json: Promise<unknown>;
  private resolveJson!: (v: unknown) => void;
  private rejectJson!: (err: unknown) => void;
  /** The body ended or the request failed. */
  private done = false;

  constructor(call: ProviderCall) {
    super(call);
    this.json = new Promise<unknown>((res, rej) => {
      this.resolveJson = res;
      this.rejectJson = rej;
    });
    this.json.catch(noop); // unread when `opened` failed first
  }

  protected get finished(): boolean {
    return this.done;
  }

  onData(chunk: Buffer): boolean {
    this.keep(chunk);
    return true;
  }

  onComplete(): void {
    this.done = true;
    this.detach();
    if (this.rawHeaders !== null) {
      const failure = this.statusFailure();
      this.rejectOpened(failure);
      this.rejectJson(failure);
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(this.keptText()) as unknown;
    } catch {
      this.rejectJson(malformed(this.call.target.name, 'JSON body'));
      return;
    }
    this.resolveJson(json);
  }

  onError(err: Error): void {
    this.done = true;
    this.detach();
    const failure = transportFailure(this.call, err);
    this.rejectOpened(failure);
    this.rejectJson(failure);
  }
}

/** undici's raw header list (name, value, name, value…) as a record with lower-case names. */
function headerRecord(raw: Buffer[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2)
    out[raw[i]!.toString('latin1').toLowerCase()] = raw[i + 1]!.toString('latin1');
  return out;
}

/** Parses one JSON document received inside a stream (an SSE data field). */
export function parseStreamJson(target: string, data: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    throw malformed(target, 'stream event');
  }
}

/** Connection-level errors: the upstream could not be reached or dropped the connection. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/** Maps an error thrown by undici (request or body read) to an UpstreamFailure. */
export function transportFailure(call: ProviderCall, err: unknown): Error {
  // An abort is the gateway's own decision; let it keep its reason.
  if (call.signal.aborted)
    return call.signal.reason instanceof Error ? call.signal.reason : new Error('aborted');
  if (err instanceof UpstreamFailure) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const name = call.target.name;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) {
    // Only the code goes into the message: undici messages may carry the URL, never the key,
    // but keeping messages uniform keeps them greppable.
    return new UpstreamFailure('UPSTREAM_UNAVAILABLE', `upstream ${name} unreachable (${code})`, {
      cause: err,
    });
  }
  return new UpstreamFailure(
    'UPSTREAM_ERROR',
    `upstream ${name} transport error${typeof code === 'string' ? ` (${code})` : ''}`,
    {
      transient: true,
      cause: err,
    },
  );
}

/** Maps a non-2xx status. Which failures are transient follows RFC 9110 semantics, unless the upstream says (`x-should-retry`). */
export function statusFailure(
  target: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  detail: string,
): UpstreamFailure {
  const suffix = detail ? `: ${detail}` : '';
  const msg = `upstream ${target} answered ${status}${suffix}`;
  const says = upstreamSaysRetry(headers);
  if (status === 429) {
    return new UpstreamFailure('RATE_LIMITED', msg, {
      upstreamStatus: status,
      transient: says ?? true,
      retryAfterMs: says === false ? undefined : parseRetryAfter(headers),
      breaker: false,
    });
  }
  let code: ErrorCode = 'UPSTREAM_ERROR';
  let transient = false;
  let breaker = false;
  if (status === 503 || status === 529) {
    // 529 is Anthropic's "overloaded".
    code = 'UPSTREAM_UNAVAILABLE';
    transient = breaker = true;
  } else if (status === 408 || status === 504) {
    code = 'UPSTREAM_TIMEOUT';
    transient = breaker = true;
  } else if (status >= 500) {
    transient = breaker = true;
  } else if (status === 401 || status === 403) {
    // A rejected key is the target's problem, not the request's: it trips the breaker.
    breaker = true;
  }
  // The upstream's word on retrying this request wins over the status's default; whether
  // the status says the target is unhealthy (the breaker) does not change.
  if (says !== undefined) transient = says;
  return new UpstreamFailure(code, msg, {
    upstreamStatus: status,
    transient,
    breaker,
    retryAfterMs: transient ? parseRetryAfter(headers) : undefined,
  });
}

/** Removes the secret (and anything that looks like a bearer token) from upstream text. */
export function scrub(text: string, secret: string | undefined): string {
  let out = text.replace(/\s+/g, ' ').trim();
  if (secret && secret.length > 0) out = out.split(secret).join('[secret]');
  return out.replace(/(sk-|Bearer\s+)[A-Za-z0-9_\-.*]{6,}/g, '$1[secret]').slice(0, ERROR_BODY_LIMIT);
}

const pathCache = new Map<string, string>();
/** The path part of a base URL without a trailing slash (`http://h/v1/` → `/v1`). */
export function basePath(baseUrl: string): string {
  let p = pathCache.get(baseUrl);
  if (p === undefined) {
    p = new URL(baseUrl).pathname.replace(/\/+$/, '');
    pathCache.set(baseUrl, p);
  }
  return p;
}
