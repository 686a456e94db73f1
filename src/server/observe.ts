/**
 * Observability routes on the main port: `GET /metrics` (Prometheus text) and the
 * live dashboard (`GET /dashboard`, its assets, and `GET /dashboard/events`, a stream
 * of server-sent events, one JSON snapshot per period).
 *
 * Access is decided by the composition root: 'open', 'admin' (an admin key as
 * `Authorization: Bearer`, `x-admin-key`, or HTTP Basic's password, so a browser can
 * log in with its own prompt), or 'off' (not served here, e.g. metrics on a separate
 * listener). The event stream skips snapshots while the socket is backpressured.
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { ColoError } from '../core/errors';
import { errorBody } from '../api/openai';
import type { ServerContext } from './context';
import { guard, headers, sendError, sendJson, sendText, type Guard } from './http';

export type ObserveAccess = 'open' | 'admin' | 'off';

export interface ObserveRoutes {
  metricsAccess: ObserveAccess;
  dashboardAccess: ObserveAccess;
  /** Whether `key` is an admin key. */
  isAdmin(key: string | undefined): boolean;
  /** Dashboard files by name ('index.html', 'uPlot.min.js', ...). */
  asset(name: string): { body: string | Buffer; contentType: string } | undefined;
  /** Calls `push` with a JSON snapshot now and once per period; returns unsubscribe. */
  subscribe(push: (json: string) => void): () => void;
}

const KEY_HEADERS = ['authorization', 'x-admin-key', 'x-api-key'] as const;

/** The admin key a request carries: Bearer token, x-admin-key, x-api-key, or Basic's password. */
export function adminKeyOf(h: Record<string, string>): string | undefined {
  const auth = h['authorization'];
  if (auth) {
    const [scheme, value = ''] = auth.trim().split(/\s+/, 2);
    if (scheme?.toLowerCase() === 'bearer') return value;
    if (scheme?.toLowerCase() === 'basic') {
      const text = Buffer.from(value, 'base64').toString('utf8');
      const i = text.indexOf(':');
      return i < 0 ? text : text.slice(i + 1) || text.slice(0, i);
    }
  }
  return h['x-admin-key'] ?? h['x-api-key'];
}

export function registerObserveRoutes(app: TemplatedApp, ctx: ServerContext): void {
  const obs = ctx.observe;
  const metricsAccess = obs?.metricsAccess ?? 'open';
  // Copies headers synchronously; answers 401 itself and returns undefined when refused.
  const admit = (res: HttpResponse, req: HttpRequest, access: ObserveAccess, browser: boolean) => {
    const g = guard(res);
    if (access === 'open') return g;
    const key = adminKeyOf(headers(req, KEY_HEADERS));
    if (obs?.isAdmin(key)) return g;
    const err = new ColoError('UNAUTHENTICATED', 'admin key required');
    const extra: Record<string, string> = browser
      ? { 'www-authenticate': 'Basic realm="Colo dashboard"' }
      : {};
    sendJson(g, 401, errorBody(err), extra);
    return undefined;
  };

  if (metricsAccess !== 'off') {
    app.get('/metrics', (res, req) => {
      const g = admit(res, req, metricsAccess, false);
      if (g) sendText(g, 200, ctx.metricsText(), 'text/plain; version=0.0.4; charset=utf-8');
    });
  }
  if (!obs || obs.dashboardAccess === 'off') return;
  const access = obs.dashboardAccess;

  const sendAsset = (g: Guard, name: string) => {
    const a = obs.asset(name);
    if (!a) return sendError(g, new ColoError('NOT_FOUND', `no dashboard file ${name}`));
    g.done = true;
    g.res.cork(() => {
      g.res.writeStatus('200 OK').writeHeader('content-type', a.contentType);
      g.res.writeHeader('cache-control', 'no-cache').end(a.body);
    });
  };
  app.get('/dashboard', (res, req) => {
    const g = admit(res, req, access, true);
    if (g) sendAsset(g, 'index.html');
  });
  app.get('/dashboard/events', (res, req) => {
    const g = admit(res, req, access, true);
    if (!g) return;
    res.writeStatus('200 OK').writeHeader('content-type', 'text/event-stream');
    res.writeHeader('cache-control', 'no-cache').writeHeader('x-accel-buffering', 'no');
    let blocked = false;
    const unsubscribe = obs.subscribe((json) => {
      if (g.done || blocked) return;
      g.res.cork(() => {
        if (g.res.write(`data: ${json}\n\n`)) return;
        blocked = true;
        g.res.onWritable(() => {
          blocked = false;
          return true;
        });
      });
    });
    g.onAbort = unsubscribe;
  });
  app.get('/dashboard/:file', (res, req) => {
    const file = req.getParameter(0) ?? '';
    const g = admit(res, req, access, true);
    if (g) sendAsset(g, file);
  });
}
