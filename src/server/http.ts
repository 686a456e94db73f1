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
  onAbort?: () => void;
}

export function guard(res: HttpResponse): Guard {
  const g: Guard = { res, done: false, aborted: false };
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
    const chunks: Buffer[] = [];
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
      if (isLast) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
  });
}

export function parseJson(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
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

/** OpenAI-style error JSON with the status the error code maps to. */
export function sendError(g: Guard, err: unknown): void {
  const e = toColoError(err);
  const extra: Record<string, string> = {};
  if (e.retryAfterMs !== undefined)
    extra['retry-after'] = String(Math.max(1, Math.ceil(e.retryAfterMs / 1000)));
  sendJson(g, e.status, errorBody(e), extra);
}

/**
 * Server-sent events (WHATWG HTML §9.2): 1. status and headers once; 2. each event is
 * `data: <json>` + a blank line; 3. OpenAI streams end with `data: [DONE]`; an error
 * mid-stream is sent as a data event carrying `error` and no [DONE], so a truncated
 * answer never looks like a clean finish.
 */
export class SseWriter {
  private started = false;

  constructor(private readonly g: Guard) {}

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.g.res
      .writeStatus('200 OK')
      .writeHeader('content-type', 'text/event-stream')
      .writeHeader('cache-control', 'no-cache')
      .writeHeader('x-accel-buffering', 'no');
  }

  event(obj: unknown): void {
    if (this.g.done) return;
    const line = `data: ${JSON.stringify(obj)}\n\n`;
    this.g.res.cork(() => {
      this.start();
      this.g.res.write(line);
    });
  }

  /** Headers are committed: errors from here on must be written as events. */
  get committed(): boolean {
    return this.started;
  }

  end(done: boolean): void {
    if (this.g.done) return;
    this.g.done = true;
    this.g.res.cork(() => {
      this.start();
      this.g.res.end(done ? 'data: [DONE]\n\n' : '');
    });
  }
}
