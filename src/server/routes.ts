/** HTTP routes: the OpenAI-compatible API, health, readiness, metrics, models and injected extra routes. */
import type { TemplatedApp, HttpResponse, HttpRequest } from 'uWebSockets.js';
import { ColoError, toColoError } from '../core/errors';
import type { TokenSink } from '../core/types';
import * as openai from '../api/openai';
import { credentialOf, type ExtraRoute, type ServerContext } from './context';
import { guard, headers, parseJson, readBody, sendError, sendJson, sendText, SseWriter } from './http';

const AUTH_HEADERS = ['authorization', 'x-api-key', 'content-type'] as const;

export function registerHttpRoutes(
  app: TemplatedApp,
  ctx: ServerContext,
  inflight: Set<AbortController>,
): void {
  const limits = () => ({
    maxTokensLimit: ctx.config.maxTokensLimit,
    defaultDeadlineMs: ctx.config.defaultDeadlineMs,
  });

  app.get('/healthz', (res) => sendJson(guard(res), 200, { status: 'ok' }));
  app.get('/readyz', (res) => {
    const ok = ctx.ready();
    sendJson(guard(res), ok ? 200 : 503, { status: ok ? 'ready' : 'not ready' });
  });
  app.get('/metrics', (res) =>
    sendText(guard(res), 200, ctx.metricsText(), 'text/plain; version=0.0.4; charset=utf-8'),
  );
  app.get('/v1/models', (res, req) => {
    const g = guard(res);
    const h = headers(req, AUTH_HEADERS);
    ctx.authenticate(credentialOf(h)).then(
      () => sendJson(g, 200, openai.modelsList(ctx.models())),
      (err) => sendError(g, err),
    );
  });

  for (const [path, kind] of [
    ['/v1/completions', 'completion'],
    ['/v1/chat/completions', 'chat'],
  ] as const) {
    app.post(path, (res, req) => {
      const g = guard(res);
      const h = headers(req, AUTH_HEADERS);
      void (async () => {
        try {
          const principal = await ctx.authenticate(credentialOf(h));
          const body = parseJson(await readBody(g, ctx.config.maxBodyBytes));
          const parsed =
            kind === 'chat' ? openai.parseChat(body, limits()) : openai.parseCompletion(body, limits());
          parsed.req.receivedAt = performance.now();
          await serveCompletion(g, ctx, kind, parsed, principal, inflight);
        } catch (err) {
          sendError(g, err);
        }
      })();
    });
  }

  for (const route of ctx.extraRoutes) registerExtra(app, ctx, route);

  app.any('/*', (res, req) => {
    const g = guard(res);
    sendError(g, new ColoError('NOT_FOUND', `no route for ${req.getMethod().toUpperCase()} ${req.getUrl()}`));
  });
}

async function serveCompletion(
  g: ReturnType<typeof guard>,
  ctx: ServerContext,
  kind: 'completion' | 'chat',
  parsed: openai.ParsedApiRequest,
  principal: Awaited<ReturnType<ServerContext['authenticate']>>,
  inflight: Set<AbortController>,
): Promise<void> {
  const { req } = parsed;
  const abort = new AbortController();
  g.onAbort = () => abort.abort();
  inflight.add(abort);
  try {
    if (!req.stream) {
      const result = await ctx.complete(req, null, abort.signal, 'http', principal);
      sendJson(g, 200, kind === 'chat' ? openai.chatResponse(result) : openai.completionResponse(result));
      return;
    }
    const sse = new SseWriter(g);
    let first = true;
    const sink: TokenSink = {
      onToken: (text) => {
        sse.event(openai.tokenChunk(kind, req.id, req.model, text, first));
        first = false;
      },
    };
    try {
      const result = await ctx.complete(req, sink, abort.signal, 'http', principal);
      sse.event(openai.finalChunk(kind, result));
      if (parsed.includeUsage) sse.event(openai.usageChunk(kind, result));
      sse.end(true);
    } catch (err) {
      if (!sse.committed) throw err;
      sse.event(openai.errorBody(toColoError(err)));
      sse.end(false);
    }
  } finally {
    inflight.delete(abort);
  }
}

function registerExtra(app: TemplatedApp, ctx: ServerContext, route: ExtraRoute): void {
  app[route.method](route.pattern, (res: HttpResponse, req: HttpRequest) => {
    const g = guard(res);
    // Handlers see the method upper-case, as HTTP writes it.
    const method = req.getMethod().toUpperCase();
    const path = req.getUrl();
    const query = req.getQuery() ?? '';
    const h = headers(req, [...AUTH_HEADERS, 'x-admin-key']);
    void (async () => {
      try {
        const principal = route.public ? undefined : await ctx.authenticate(credentialOf(h));
        const raw =
          method === 'GET' || method === 'DELETE' ? undefined : await readBody(g, ctx.config.maxBodyBytes);
        const body = raw && raw.length > 0 ? parseJson(raw) : undefined;
        const abort = new AbortController();
        g.onAbort = () => abort.abort();
        const out = await route.handle({
          method,
          path,
          query,
          headers: h,
          body,
          principal,
          signal: abort.signal,
        });
        sendJson(g, out.status, out.body, out.headers);
      } catch (err) {
        sendError(g, err);
      }
    })();
  });
}
