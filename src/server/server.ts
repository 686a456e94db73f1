/**
 * ColoServer: one uWS app serving HTTP and /v1/ws. Keeps the listen socket so
 * shutdown can stop accepting, drain in-flight work within a bound, and close.
 */
import uWS from 'uWebSockets.js';
import { ColoError } from '../core/errors';
import type { ServerContext } from './context';
import { registerHttpRoutes } from './routes';
import { registerWebSocket, type WsState } from './ws';

export class ColoServer {
  private listenSocket: uWS.us_listen_socket | null = null;
  private readonly app: uWS.TemplatedApp;
  private readonly ws: WsState = { connections: new Set() };
  private readonly httpInflight = new Set<AbortController>();
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
    registerHttpRoutes(this.app, ctx, this.httpInflight);
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

  get connections(): number {
    return this.ws.connections.size;
  }

  /** Requests accepted and not yet answered, on HTTP and every WebSocket. */
  get inflight(): number {
    let n = this.httpInflight.size;
    for (const ws of this.ws.connections) n += ws.getUserData().streams.size;
    return n;
  }

  /** Resolves when every accepted request is answered, or after graceMs; returns what is left. */
  async drain(graceMs: number): Promise<number> {
    const until = Date.now() + graceMs;
    while (this.inflight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    return this.inflight;
  }

  /** Stops accepting new connections; in-flight requests continue. */
  stopAccepting(): void {
    if (this.listenSocket) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
  }

  /** Ends every remaining request and connection. */
  closeAll(): void {
    for (const a of this.httpInflight) a.abort();
    for (const ws of [...this.ws.connections]) ws.end(1001, 'server shutting down');
    (this.app as { close?: () => void }).close?.();
  }
}
