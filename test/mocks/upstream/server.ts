/**
 * A real HTTP server on port 0 that speaks the OpenAI, Anthropic and Gemini
 * streaming formats (chosen by path), replays recorded fixtures, injects faults and
 * records every request it receives (headers, body, and whether the client aborted).
 */
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Fault, NO_FAULT, parseFault } from './faults';
import { type Flavor, fixture, route } from './fixtures';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  fault: Fault;
  flavor: Flavor | null;
  /** The client went away before the response was complete. */
  aborted: boolean;
  /** Resolves when the exchange is over (finished or aborted). */
  closed: Promise<void>;
}

export interface MockUpstream {
  /** `http://127.0.0.1:PORT` (no path). */
  url: string;
  /** Base URLs per provider, ready for gateway target config. */
  baseUrl: { openai: string; anthropic: string; gemini: string };
  requests: RecordedRequest[];
  /** Fault for every request without a header or queued fault. */
  setFault(fault: Fault | string): void;
  /** Faults for the next requests, in order, before the server fault applies again. */
  failNext(...faults: (Fault | string)[]): void;
  /** Resolves once `n` requests have arrived. */
  waitForRequests(n: number): Promise<void>;
  close(): Promise<void>;
}

export interface MockOptions {
  fault?: Fault | string;
  /** Keep the request log (disable for load benches). Default true. */
  record?: boolean;
}

const asFault = (f: Fault | string): Fault => (typeof f === 'string' ? parseFault(f) : f);

export async function startMockUpstream(opts: MockOptions = {}): Promise<MockUpstream> {
  let serverFault = asFault(opts.fault ?? NO_FAULT);
  const queue: Fault[] = [];
  const requests: RecordedRequest[] = [];
  const record = opts.record ?? true;
  let count = 0;
  const waiters: { n: number; resolve: () => void }[] = [];

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (process.env.MOCK_DEBUG) console.error(err);
      res.destroy();
    });
  });
  server.keepAliveTimeout = 60_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // keep raw text
    }
    const header = req.headers['x-mock-fault'];
    const fault = typeof header === 'string' ? parseFault(header) : (queue.shift() ?? serverFault);
    const r = route(req.url ?? '', body);
    let resolveClosed!: () => void;
    const rec: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body,
      fault,
      flavor: r?.flavor ?? null,
      aborted: false,
      closed: new Promise((resolve) => (resolveClosed = resolve)),
    };
    res.on('close', () => {
      if (!res.writableFinished) rec.aborted = true;
      resolveClosed();
    });
    if (record) requests.push(rec);
    count++;
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (count >= waiters[i]!.n) waiters.splice(i, 1)[0]!.resolve();
    }

    if (!r)
      return void res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"error":{"message":"no such route"}}');
    await respond(req, res, r.flavor, r.stream, fault);
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    baseUrl: { openai: `${url}/v1`, anthropic: `${url}/v1`, gemini: `${url}/v1beta` },
    requests,
    setFault: (f) => void (serverFault = asFault(f)),
    failNext: (...fs) => void queue.push(...fs.map(asFault)),
    waitForRequests: (n) =>
      count >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function respond(
  req: IncomingMessage,
  res: ServerResponse,
  flavor: Flavor,
  stream: boolean,
  fault: Fault,
): Promise<void> {
  const fx = fixture(flavor);
  switch (fault.kind) {
    case 'status':
      return void res
        .writeHead(fault.status, {
          'content-type': 'application/json',
          ...(fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {}),
          ...(fault.shouldRetry !== undefined ? { 'x-should-retry': fault.shouldRetry } : {}),
        })
        .end(errorBody(fault.status, fault.echoAuth ? JSON.stringify(req.headers) : undefined));
    case 'reset':
      return void req.socket.destroy();
    case 'stall-headers':
      return; // never answer; the client must give up
    case 'delay':
      await sleep(fault.ms);
      if (res.destroyed) return;
      break;
    case 'invalid-json':
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices": [{"message": ');
    default:
      break;
  }
  if (!stream) {
    if (fault.kind === 'drop') {
      // Half the body of a declared length, then the connection closes.
      const body = Buffer.from(fx.json, 'utf8');
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      await new Promise<void>((resolve) => res.write(body.subarray(0, body.length >> 1), () => resolve()));
      return void res.destroy();
    }
    return void res.writeHead(200, { 'content-type': 'application/json' }).end(fx.json);
  }

  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
  const events =
    fault.kind === 'malformed-sse'
      ? [fx.events[0]!, 'data: {"choices": [{"delta": {"content": "x"\n\n', ...fx.events.slice(1)]
      : fx.events;
  for (let i = 0; i < events.length; i++) {
    if (res.destroyed) return;
    if ((fault.kind === 'stall-mid' || fault.kind === 'cut' || fault.kind === 'drop') && i === fault.after) {
      if (fault.kind === 'cut') return void res.end();
      if (fault.kind === 'drop') {
        // Let what was written reach the socket first, so the client really saw tokens.
        await new Promise<void>((resolve) => res.write('', () => resolve()));
        return void res.destroy();
      }
      return; // stall-mid: hang with the connection open
    }
    if (fault.kind === 'drip' && i > 0) await sleep(fault.ms);
    if (fault.kind === 'fragment') {
      const bytes = Buffer.from(events[i]!, 'utf8');
      for (let off = 0; off < bytes.length && !res.destroyed; off += fault.bytes) {
        res.write(bytes.subarray(off, off + fault.bytes));
        await new Promise((resolve) => setImmediate(resolve));
      }
    } else {
      res.write(events[i]!);
    }
  }
  res.end();
}

function errorBody(status: number, echo?: string): string {
  const type = status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return JSON.stringify({
    error: { message: echo ? `bad credentials: ${echo}` : `mock status ${status}`, type, code: status },
  });
}

/** A URL on 127.0.0.1 where nothing listens (connection refused). */
export async function refusedUrl(): Promise<string> {
  const s = http.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
