/**
 * ColoServer: one uWS app serving HTTP and /v1/ws. Keeps the listen socket so
 * shutdown can stop accepting, drain in-flight work within a bound, and close.
 */
import uWS from 'uWebSockets.js';
import { ColoError } from '../core/errors';
import type { ServerContext } from './context';
import { encodeError } from '../protocol';
import { registerObserveRoutes } from './observe';
import { callRoutes, registerHttpRoutes, type HttpState } from './routes';
import type { CallRoute } from './context';
import { registerWebSocket, type WsState } from './ws';

export class ColoServer {
  private listenSocket: uWS.us_listen_socket | null = null;
  private readonly app: uWS.TemplatedApp;
  private readonly ws: WsState = { connections: new Set(), draining: false };
  private readonly http: HttpState = { inflight: new Set(), draining: false };
  port = 0;

  constructor(private readonly ctx: ServerContext) {
    // When its native binary cannot load, the uWebSockets.js package falls back to a JS
    // implementation after a console warning. That fallback is slower and mangles POST
    // bodies, so Colo refuses to run on it. getParts exists only in the native build.
    if (typeof (uWS as unknown as { getParts?: unknown }).getParts !== 'function') {
      throw new ColoError(
        'INTERNAL',
        `uWebSockets.js native binary did not load for Node ABI ${process.versions.modules} on ${process.platform}-${process.arch}; ` +
          'refusing to run on its JS fallback (see README, Deploy: uWebSockets.js)',
      );
    }
    this.app = uWS.App();
    registerWebSocket(this.app, ctx, this.ws);
    registerObserveRoutes(this.app, ctx);
    registerHttpRoutes(this.app, ctx, this.http);
  }

  listen(): Promise<number> {
    const { host, port } = this.ctx.config;
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (socket) => {
        if (!socket) return reject(new Error(`cannot listen on ${host}:${port}`));
        this.listenSocket = socket;
        this.port = uWS.us_socket_local_port(socket);
        resolve(this.port);
      });
    });
  }

  /** Every HTTP route that runs a model (each goes through the pipeline), for the conformance test. */
  callRoutes(): readonly CallRoute[] {
    return callRoutes(this.ctx);
  }

  get connections(): number {
    return this.ws.connections.size;
  }

  /** Requests accepted and not yet answered, on HTTP and every WebSocket. */
  get inflight(): number {
    let n = this.http.inflight.size;
    for (const ws of this.ws.connections) n += ws.getUserData().streams.size;
    return n;
  }

  /** Resolves when every accepted request is answered, or after graceMs; returns what is left. */
  async drain(graceMs: number): Promise<number> {
    const until = Date.now() + graceMs;
    while (this.inflight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    return this.inflight;
  }

  /**
   * Starts draining: new HTTP requests get 503 SHUTTING_DOWN with retry-after, new
   * WebSocket upgrades 503, new requests on open sockets an Error frame; open sockets
   * are told with an Error frame (id '', SHUTTING_DOWN). In-flight requests continue.
   */
  stopAccepting(): void {
    this.http.draining = true;
    this.ws.draining = true;
    const notice = encodeError(
      '',
      new ColoError(
        'SHUTTING_DOWN',
        'server is draining: in-flight requests finish, send new ones elsewhere',
        { retryAfterMs: 1000 },
      ),
      { copy: true },
    );
    for (const ws of this.ws.connections) ws.send(notice, true);
  }

  /**
   * Ends what is still running with SHUTTING_DOWN (each request gets its error, with
   * the tokens so far, and is charged and audited), waits up to `settleMs` for those
   * answers to go out, then closes every connection and the listener.
   */
  async closeAll(settleMs = 2000): Promise<void> {
    const reason = new ColoError('SHUTTING_DOWN', 'server shut down before the request finished', {
      retryAfterMs: 1000,
    });
    for (const a of this.http.inflight) a.abort(reason);
    for (const ws of this.ws.connections)
      for (const s of ws.getUserData().streams.values()) s.abort.abort(reason);
    await this.drain(settleMs);
    for (const ws of [...this.ws.connections]) ws.end(1001, 'server shutting down');
    if (this.listenSocket) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
    (this.app as { close?: () => void }).close?.();
  }
}
