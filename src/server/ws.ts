/**
 * The WebSocket endpoint /v1/ws: binary FlatBuffers frames only.
 * 1. Upgrade: copy headers synchronously, authenticate, then upgrade (or answer 401).
 * 2. Each message is verified and decoded synchronously (the ArrayBuffer is only
 *    valid inside the callback); a bad frame gets an Error frame and the connection
 *    stays open.
 * 3. Tokens are written corked, once per event-loop tick per connection: what the
 *    connection's streams produced in one tick (a worker's lane delivers a decode
 *    batch's tokens together) goes out in one cork, one frame per stream, one syscall
 *    instead of one per stream. Past the soft backpressure mark, a stream's tokens
 *    are coalesced and flushed as one chunk on drain: nothing is dropped, and the
 *    hard mark (uWS maxBackpressure) disconnects a client that stopped reading.
 * 4. Close aborts every in-flight request of the connection, freeing its sequence.
 * 5. Each request ends with exactly one Result or Error frame (respond()), including
 *    on drain: new upgrades get 503, open connections are told (an Error frame with
 *    id '' and SHUTTING_DOWN), new requests on them are refused, and requests still
 *    running when the grace period ends get SHUTTING_DOWN with their tokens so far.
 */
import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import { ColoError, toColoError } from '../core/errors';
import { busyPoll } from '../core/busy-poll';
import { Cancel } from '../core/cancel';
import type { CallInput } from '../core/call';
import type { CompletionResult, TokenSink } from '../core/types';
import {
  clientDecodeOptions,
  decodeClientFrame,
  encodeError,
  encodePong,
  encodeResult,
  encodeTokenChunk,
  requestIdOf,
} from '../protocol';
import { credentialOf, type Principal, type ServerContext } from './context';
import { retryAfterSeconds, statusLine } from './http';

interface Stream {
  id: string;
  abort: Cancel;
  index: number;
  /** Coalesced text waiting for drain. */
  pending: string;
}

export interface Conn {
  principal: Principal | undefined;
  streams: Map<string, Stream>;
  /** Streams with text written this tick, flushed together by one microtask. */
  ready: Set<Stream>;
  /** Whether that microtask is queued. */
  flushQueued: boolean;
  congested: Set<Stream>;
  closed: boolean;
}

export interface WsState {
  connections: Set<WebSocket<Conn>>;
  draining: boolean;
}

export function registerWebSocket(app: TemplatedApp, ctx: ServerContext, state: WsState): void {
  const cfg = ctx.config;
  const decodeOptions = clientDecodeOptions(ctx.protocol);
  app.ws<Conn>('/v1/ws', {
    compression: 0,
    // uWS drops the connection (1006) on frames above this, before JS sees them; Colo's own
    // limit (maxFrameBytes) is far below it and answers with an Error frame and a 1009 close.
    maxPayloadLength: Math.max(cfg.maxFrameBytes * 16, 16 << 20),
    maxBackpressure: cfg.maxBackpressureBytes,
    closeOnBackpressureLimit: 1,
    idleTimeout: cfg.idleTimeoutSec === 0 ? 0 : Math.max(8, cfg.idleTimeoutSec),
    sendPingsAutomatically: true,

    upgrade: (res, req, context) => {
      const h = { authorization: req.getHeader('authorization'), 'x-api-key': req.getHeader('x-api-key') };
      const query = req.getQuery() ?? '';
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      let aborted = false;
      res.onAborted(() => (aborted = true));
      if (state.draining) {
        res.cork(() =>
          res
            .writeStatus('503 Service Unavailable')
            .writeHeader('retry-after', '1')
            .writeHeader('content-type', 'application/json')
            .end(JSON.stringify({ error: { code: 'SHUTTING_DOWN', message: 'server is draining' } })),
        );
        return;
      }
      ctx.authenticate(credentialOf(h, query)).then(
        (principal) => {
          if (aborted) return;
          res.cork(() => {
            res.upgrade<Conn>(
              {
                principal,
                streams: new Map(),
                ready: new Set(),
                flushQueued: false,
                congested: new Set(),
                closed: false,
              },
              key,
              protocol,
              extensions,
              context,
            );
          });
        },
        (err) => {
          if (aborted) return;
          const e = toColoError(err);
          const ra = retryAfterSeconds(e);
          res.cork(() => {
            res.writeStatus(statusLine(e.status)).writeHeader('content-type', 'application/json');
            if (ra !== undefined) res.writeHeader('retry-after', String(ra));
            res.end(JSON.stringify({ error: { code: e.code, message: e.message } }));
          });
        },
      );
    },

    open: (ws) => {
      state.connections.add(ws);
    },

    message: (ws, message, isBinary) => {
      busyPoll.touch(true);
      const conn = ws.getUserData();
      if (!isBinary) {
        send(
          ws,
          encodeError('', new ColoError('UNSUPPORTED_FRAME', 'only binary FlatBuffers frames are accepted')),
        );
        return;
      }
      const receivedAt = performance.now();
      if (message.byteLength > cfg.maxFrameBytes) {
        // RFC 6455 §7.4.1: 1009, message too big. The Error frame says which limit, first.
        send(
          ws,
          encodeError(
            '',
            new ColoError(
              'FRAME_TOO_LARGE',
              `frame of ${message.byteLength} bytes exceeds the limit of ${cfg.maxFrameBytes}`,
            ),
          ),
        );
        ws.end(1009, 'frame too large');
        return;
      }
      let msg: ReturnType<typeof decodeClientFrame>;
      try {
        msg = decodeClientFrame(new Uint8Array(message), cfg.maxFrameBytes, decodeOptions, receivedAt);
      } catch (err) {
        const e = toColoError(err);
        send(ws, encodeError(requestIdOf(err) ?? '', e));
        return;
      }
      switch (msg.kind) {
        case 'ping':
          send(ws, encodePong(msg.nonce, process.hrtime.bigint()));
          return;
        case 'cancel':
          conn.streams.get(msg.id)?.abort.abort();
          return;
        case 'request':
          if (state.draining) {
            send(
              ws,
              encodeError(
                msg.input.id,
                new ColoError('SHUTTING_DOWN', 'server is draining', { retryAfterMs: 1000 }),
              ),
            );
            return;
          }
          startRequest(ws, conn, ctx, msg.input);
          return;
      }
    },

    drain: (ws) => {
      const conn = ws.getUserData();
      if (conn.congested.size === 0 || ws.getBufferedAmount() > cfg.softBackpressureBytes) return;
      ws.cork(() => {
        for (const s of conn.congested) flushPending(ws, s);
      });
      conn.congested.clear();
    },

    close: (ws) => {
      const conn = ws.getUserData();
      conn.closed = true;
      state.connections.delete(ws);
      for (const s of conn.streams.values()) s.abort.abort();
      conn.streams.clear();
    },
  });
}

function send(ws: WebSocket<Conn>, bytes: Uint8Array): void {
  ws.send(bytes, true);
}

/** The tick's tokens of every ready stream in one cork; past the soft mark they wait for drain. */
function flushReady(ws: WebSocket<Conn>, conn: Conn, softBackpressureBytes: number): void {
  conn.flushQueued = false;
  if (conn.closed || conn.ready.size === 0) return;
  if (ws.getBufferedAmount() > softBackpressureBytes) {
    for (const s of conn.ready) conn.congested.add(s);
  } else {
    ws.cork(() => {
      for (const s of conn.ready) flushPending(ws, s);
    });
  }
  conn.ready.clear();
}

function flushPending(ws: WebSocket<Conn>, s: Stream): void {
  if (s.pending.length === 0) return;
  send(ws, encodeTokenChunk(s.id, s.index++, s.pending));
  s.pending = '';
}

function startRequest(ws: WebSocket<Conn>, conn: Conn, ctx: ServerContext, input: CallInput): void {
  const cfg = ctx.config;
  if (conn.streams.has(input.id)) {
    send(
      ws,
      encodeError(
        input.id,
        new ColoError('DUPLICATE_ID', `request id "${input.id}" is already in flight on this connection`, {
          field: 'id',
        }),
      ),
    );
    return;
  }
  if (conn.streams.size >= cfg.maxInflightPerConnection) {
    send(
      ws,
      encodeError(
        input.id,
        new ColoError(
          'OVERLOADED',
          `at most ${cfg.maxInflightPerConnection} requests in flight per connection`,
          {
            retryAfterMs: 100,
          },
        ),
      ),
    );
    return;
  }
  const s: Stream = { id: input.id, abort: new Cancel(), index: 0, pending: '' };
  conn.streams.set(input.id, s);

  const sink: TokenSink | null = input.stream
    ? {
        onToken: (text) => {
          if (conn.closed) return;
          s.pending += text;
          if (conn.congested.has(s)) return;
          conn.ready.add(s);
          if (!conn.flushQueued) {
            conn.flushQueued = true;
            queueMicrotask(() => flushReady(ws, conn, cfg.softBackpressureBytes));
          }
        },
      }
    : null;

  ctx.execute(input, 'ws', conn.principal, sink, s.abort.signal).then(
    (result: CompletionResult) =>
      respond(
        ws,
        conn,
        s,
        encodeResult(result, result.signals, result.skill ? { skill: result.skill } : undefined),
      ),
    (err: unknown) => respond(ws, conn, s, encodeError(s.id, toColoError(err))),
  );
}

/** The one way a WebSocket request ends: pending tokens, then its Result or Error frame. */
function respond(ws: WebSocket<Conn>, conn: Conn, s: Stream, final: Uint8Array): void {
  conn.streams.delete(s.id);
  if (conn.closed) return;
  ws.cork(() => {
    if (s.pending.length > 0) {
      // The final frame is a view into the shared encoder: copy it before encoding the chunk.
      const last = final.slice();
      flushPending(ws, s);
      send(ws, last);
    } else send(ws, final);
    conn.congested.delete(s);
    conn.ready.delete(s);
  });
}
