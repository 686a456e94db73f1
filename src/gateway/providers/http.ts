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

export type ResponseData = Dispatcher.ResponseData;

/** POSTs `body` as JSON to `baseUrl + path`; resolves once a 2xx status and headers arrived. */
export async function postJson(
  call: ProviderCall,
  path: string,
  headers: Record<string, string>,
  body: unknown,
): Promise<ResponseData> {
  const { target, http, signal } = call;
  if (http === null)
    throw new UpstreamFailure('INTERNAL', `target ${target.name} has no HTTP pool`, { transient: false });
  let res: ResponseData;
  try {
    res = await http.request({
      method: 'POST',
      path: basePath(target.baseUrl) + path,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...target.headers,
        ...headers,
      },
      body: JSON.stringify(body),
      // undici takes any signal with aborted, reason and add/removeEventListener
      // (its util.addAbortListener); a Cancel is one, though not typed as an AbortSignal.
      signal: signal as unknown as AbortSignal,
      // The gateway's own watchdog owns time-to-first-byte and stall timeouts (it
      // must also cover providers without HTTP), so undici's are off.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  } catch (err) {
    throw transportFailure(call, err);
  }
  if (res.statusCode >= 200 && res.statusCode < 300) return res;
  const text = await readLimited(res.body, ERROR_BODY_LIMIT).catch(() => '');
  throw statusFailure(target.name, res.statusCode, res.headers, scrub(text, target.apiKey));
}

/** Reads a whole 2xx body as JSON (non-streaming answers). */
export async function readJsonBody(call: ProviderCall, res: ResponseData): Promise<unknown> {
  let text: string;
  try {
    text = await res.body.text();
  } catch (err) {
    throw transportFailure(call, err);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw malformed(call.target.name, 'JSON body');
  }
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

async function readLimited(body: AsyncIterable<Buffer | Uint8Array>, limit: number): Promise<string> {
  let out = '';
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    if (out.length < limit) out += decoder.decode(chunk, { stream: true });
  }
  return out.slice(0, limit);
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

/**
 * Unified chunks from a 2xx SSE body. One generator does the reading, the (synchronous)
 * SSE parsing and the provider's event translation, because every async layer a
 * token passes through costs microtasks on the hot path. `translate` appends chunks
 * to `out` and returns true at the provider's terminator; the body is still read to
 * its end afterwards so the connection goes back to the keep-alive pool. Transport
 * errors mid-body become UpstreamFailures.
 */
export async function* sseChunks(
  call: ProviderCall,
  res: ResponseData,
  translate: (ev: SseEvent, out: ProviderChunk[]) => boolean,
): AsyncGenerator<ProviderChunk> {
  const parser = new SseParser({ maxLineChars: call.target.maxSseLineChars });
  const out: ProviderChunk[] = [];
  let done = false;
  try {
    for await (const bytes of res.body) {
      if (done) continue;
      let events: SseEvent[];
      try {
        events = parser.push(bytes as Uint8Array);
      } catch (err) {
        if (!(err instanceof SseProtocolError)) throw err;
        // Not retried on this target (it would do it again); counts against its breaker.
        throw new UpstreamFailure(
          'UPSTREAM_ERROR',
          `upstream ${call.target.name} broke the SSE protocol: ${err.message}`,
          {
            transient: false,
            breaker: true,
          },
        );
      }
      for (let i = 0; i < events.length && !done; i++) done = translate(events[i]!, out);
      for (let i = 0; i < out.length; i++) yield out[i]!;
      out.length = 0;
    }
  } catch (err) {
    throw transportFailure(call, err);
  }
  parser.end();
}
