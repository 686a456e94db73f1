/**
 * Small helpers that make uWebSockets.js's HTTP rules hard to break:
 * 1. register onAborted before any await (guard()),
 * 2. copy request data out synchronously (readBody copies every chunk),
 * 3. cork every write made from a callback or after an await (send* helpers),
 * 4. never touch a response after it was aborted or ended (Guard.done).
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { ColoError, toColoError } from '../core/errors';
import { errorBody } from '../api/openai';

export interface Guard {
  res: HttpResponse;
  /** True once the client went away or the response was ended. */
  done: boolean;
  aborted: boolean;
  onAbort?: (() => void) | undefined;
}

export function guard(res: HttpResponse): Guard {
  // Every field in the literal: a field added later (g.onAbort = ...) made V8 keep each
  // request's objects through young-generation GCs (bench/README.md, issue 16).
  const g: Guard = { res, done: false, aborted: false, onAbort: undefined };
  res.onAborted(() => {
    g.done = true;
    g.aborted = true;
    g.onAbort?.();
  });
  return g;
}

/** Headers copied out of the request synchronously (uWS reuses the request object). */
export function headers(req: HttpRequest, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = req.getHeader(n);
    if (v) out[n] = v;
  }
  return out;
}

/** Reads the whole body, bounded; rejects with FRAME_TOO_LARGE past maxBytes. */
export function readBody(g: Guard, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    g.res.onData((ab, isLast) => {
      if (failed) return;
      size += ab.byteLength;
      if (size > maxBytes) {
        failed = true;
        return reject(new ColoError('FRAME_TOO_LARGE', `request body is over ${maxBytes} bytes`));
      }
      chunks.push(Buffer.from(ab.slice(0)));
      if (!isLast) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      chunks = []; // the callback outlives the request (see guard); it keeps nothing
      resolve(body);
    });
  });
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON body → value. Invalid UTF-8 is refused, never replaced: INVALID_ARGUMENT naming
 * `prompt` when that is where it sits (as the WebSocket verifier reports it), else `body`.
 */
export function parseJson(buf: Buffer): unknown {
  let text: string;
  try {
    text = strictUtf8.decode(buf);
  } catch {
    let field = 'body';
    try {
      const lossy = JSON.parse(buf.toString('utf8')) as { prompt?: unknown };
      if (typeof lossy.prompt === 'string' && lossy.prompt.includes('\uFFFD')) field = 'prompt';
    } catch {
      // not JSON either: the body is at fault
    }
    throw new ColoError('INVALID_ARGUMENT', `${field}: is not valid UTF-8`, { field });
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ColoError('INVALID_ARGUMENT', 'request body is not valid JSON', { field: 'body' });
  }
}

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  429: '429 Too Many Requests',
  499: '499 Client Closed Request',
  500: '500 Internal Server Error',
  502: '502 Bad Gateway',
  503: '503 Service Unavailable',
  504: '504 Gateway Timeout',
};

export const statusLine = (status: number): string => STATUS_TEXT[status] ?? `${status} Status`;

export function sendJson(g: Guard, status: number, body: unknown, extra: Record<string, string> = {}): void {
  if (g.done) return;
  g.done = true;
  const text = JSON.stringify(body);
  g.res.cork(() => {
    g.res.writeStatus(statusLine(status)).writeHeader('content-type', 'application/json');
    for (const [k, v] of Object.entries(extra)) g.res.writeHeader(k, v);
    g.res.end(text);
  });
}

export function sendText(
  g: Guard,
  status: number,
  text: string,
  contentType = 'text/plain; charset=utf-8',
): void {
  if (g.done) return;
  g.done = true;
  g.res.cork(() => {
    g.res.writeStatus(statusLine(status)).writeHeader('content-type', contentType).end(text);
  });
}

/** Seconds for `retry-after`: the error's own hint, else 1 s for any retryable 429/503. */
export function retryAfterSeconds(e: ColoError): number | undefined {
  if (e.retryAfterMs !== undefined) return Math.max(1, Math.ceil(e.retryAfterMs / 1000));
  return e.retryable && (e.status === 429 || e.status === 503) ? 1 : undefined;
}

/** OpenAI-style error JSON with the status the error code maps to. */
export function sendError(g: Guard, err: unknown): void {
  const e = toColoError(err);
  const retry = e.clientMayRetry;
  const extra: Record<string, string> = { 'x-should-retry': retry ? 'true' : 'false' };
  const ra = retryAfterSeconds(e);
  if (ra !== undefined) extra['retry-after'] = String(ra);
  // The exact wait (retry-after is whole seconds): an OVERLOADED refusal's retry-after is
  // often tens of ms, and the OpenAI SDKs read this header before retry-after.
  if (retry && e.retryAfterMs !== undefined)
    extra['retry-after-ms'] = String(Math.max(1, Math.ceil(e.retryAfterMs)));
  sendJson(g, e.status, errorBody(e), extra);
}

/**
 * Server-sent events (WHATWG HTML §9.2): 1. status and headers once; 2. each event is
 * `data: <json>` + a blank line; 3. OpenAI streams end with `data: [DONE]`; an error
 * mid-stream is sent as a data event carrying `error` and no [DONE], so a truncated
 * answer never looks like a clean finish.
 *
 * Events produced in one event-loop turn go out in one corked write, flushed from
 * `setImmediate` (the check phase right after the I/O that produced them): an upstream
 * that delivers several tokens in one read costs one socket write, not one per token.
 *
 * Backpressure: once uWS reports a write it could not complete, later events wait in
 * `pending` (in order, coalesced into one write) until `onWritable`; past `maxPending`
 * bytes the client is not reading and the response is closed (the request is then
 * aborted like a disconnect: generation stops, usage is charged).
 */
export class SseWriter {
  /** Status and headers written. */
  private started = false;
  /** An event was accepted: errors from here on are events. */
  private accepted = false;
  private pending = '';
  private waiting = false;
  private scheduled = false;

  constructor(
    private readonly g: Guard,
    private readonly maxPending = 16 << 20,
  ) {}

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.g.res
      .writeStatus('200 OK')
      .writeHeader('content-type', 'text/event-stream')
      .writeHeader('cache-control', 'no-cache')
      .writeHeader('x-accel-buffering', 'no');
  }

  /** Writes one event (`data: <json>`). */
  event(obj: unknown): void {
    this.write(`data: ${JSON.stringify(obj)}\n\n`);
  }

  private write(text: string): void {
    if (this.g.done) return;
    this.accepted = true;
    this.pending += text;
    if (this.waiting) {
      if (this.pending.length > this.maxPending) {
        this.g.done = true;
        this.g.res.close();
        this.g.onAbort?.();
      }
      return;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.g.done || this.waiting || this.pending.length === 0) return;
    const out = this.pending;
    this.pending = '';
    let ok = true;
    this.g.res.cork(() => {
      this.start();
      ok = this.g.res.write(out);
    });
    if (!ok) {
      this.waiting = true;
      this.g.res.onWritable(() => {
        if (this.g.done || this.pending.length === 0) {
          this.waiting = false;
          return true;
        }
        const out = this.pending;
        this.pending = '';
        const done = this.g.res.write(out);
        if (done) this.waiting = false;
        return done;
      });
    }
  };

  /** An event was accepted: errors from here on must be written as events. */
  get committed(): boolean {
    return this.accepted;
  }

  /** The one way a stream ends: `[DONE]` after a result, nothing more after an error event. */
  end(done: boolean): void {
    if (this.g.done) return;
    const tail = this.pending + (done ? 'data: [DONE]\n\n' : '');
    this.pending = '';
    this.g.done = true;
    this.g.res.cork(() => {
      this.start();
      this.g.res.end(tail);
    });
  }
}
