/**
 * HTTP routes: the OpenAI-compatible API, health, readiness, models and the
 * routes other folders publish (src/core/routes.ts); /metrics and /dashboard are in
 * observe.ts. Every route that runs a model is a call route: the body is read (reader
 * attached synchronously, before any await: uWS drops body data that arrives before
 * onData), parsed into a CallInput, and run by `ctx.execute` (the one pipeline);
 * `respond*` writes the outcome back.
 * While draining, new requests get 503 SHUTTING_DOWN with retry-after.
 */
import type { TemplatedApp, HttpResponse, HttpRequest } from 'uWebSockets.js';
import type { CallApi, CallInput } from '../core/call';
import { ColoError, toColoError } from '../core/errors';
import { busyPoll } from '../core/busy-poll';
import type { CompletionResult, TokenSink } from '../core/types';
import * as openai from '../api/openai';
import {
  credentialOf,
  type CallRoute,
  type ExtraRoute,
  type PlainRoute,
  type ServerContext,
} from './context';
import { guard, headers, parseJson, readBody, sendError, sendJson, SseWriter, type Guard } from './http';
import { Cancel } from '../core/cancel';

const AUTH_HEADERS = ['authorization', 'x-api-key', 'content-type'] as const;

/** What the routes share with the server: in-flight requests (for drain) and the drain flag. */
export interface HttpState {
  /** Aborted with SHUTTING_DOWN when the grace period ends. */
  inflight: Set<{ abort(reason?: unknown): void }>;
  draining: boolean;
}

const draining = (): ColoError =>
  new ColoError('SHUTTING_DOWN', 'server is draining; retry on another instance', { retryAfterMs: 1000 });

/** Every call route the server serves, built-in and published, for the route conformance test. */
export function callRoutes(ctx: ServerContext): readonly CallRoute[] {
  return [...OPENAI_ROUTES, ...ctx.extraRoutes.filter((r): r is CallRoute => r.kind === 'call')];
}

export function registerHttpRoutes(app: TemplatedApp, ctx: ServerContext, state: HttpState): void {
  app.get('/healthz', (res) => {
    busyPoll.touch(true);
    sendJson(guard(res), 200, { status: 'ok' });
  });
  app.get('/readyz', (res) => {
    const ok = ctx.ready() && !state.draining;
    sendJson(guard(res), ok ? 200 : 503, {
      status: ok ? 'ready' : state.draining ? 'draining' : 'not ready',
    });
  });
  app.get('/v1/models', (res, req) => {
    const g = guard(res);
    const h = headers(req, AUTH_HEADERS);
    ctx.authenticate(credentialOf(h)).then(
      () => sendJson(g, 200, openai.modelsList(ctx.models())),
      (err) => sendError(g, err),
    );
  });

  for (const route of OPENAI_ROUTES) registerCall(app, ctx, state, route, serveOpenAi(route.pattern));
  for (const route of ctx.extraRoutes) {
    if (route.kind === 'call') registerCall(app, ctx, state, route, serveJson(route));
    else registerPlain(app, ctx, state, route);
  }

  app.any('/*', (res, req) => {
    const g = guard(res);
    sendError(g, new ColoError('NOT_FOUND', `no route for ${req.getMethod().toUpperCase()} ${req.getUrl()}`));
  });
}

type Serve = (
  g: Guard,
  ctx: ServerContext,
  input: CallInput,
  principal: Awaited<ReturnType<ServerContext['authenticate']>>,
  abort: Cancel,
  extra: { includeUsage: boolean },
) => Promise<void>;

/** Body in, CallInput out, run through the pipeline by `serve`. */
function registerCall(
  app: TemplatedApp,
  ctx: ServerContext,
  state: HttpState,
  route: CallRoute,
  serve: Serve,
): void {
  app.post(route.pattern, (res: HttpResponse, req: HttpRequest) => {
    busyPoll.touch(true);
    const receivedAt = performance.now();
    const g = guard(res);
    if (state.draining) return sendError(g, draining());
    const h = headers(req, AUTH_HEADERS);
    const path = req.getUrl();
    const query = req.getQuery() ?? '';
    // Synchronously, before any await: uWS drops body data that arrives before onData.
    const body = readBody(g, ctx.config.maxBodyBytes);
    body.catch(() => undefined); // answered below; never an unhandled rejection
    // A Cancel, not an AbortController: it dies young (src/core/cancel.ts).
    const abort = new Cancel();
    g.onAbort = () => abort.abort();
    state.inflight.add(abort);
    void (async () => {
      try {
        const principal = await ctx.authenticate(credentialOf(h));
        const parsed = parseJson(await body);
        const routeReq = {
          method: 'POST',
          path,
          query,
          headers: h,
          body: parsed,
          principal,
          signal: abort.signal,
        };
        const input = route.toCall(routeReq, receivedAt);
        const includeUsage = openAiIncludeUsage(parsed);
        await serve(g, ctx, input, principal, abort, { includeUsage });
      } catch (err) {
        sendError(g, err);
      } finally {
        state.inflight.delete(abort);
        // uWS holds its callbacks (and through them g) in handles that young-generation
        // GCs treat as live; g must not keep the request's objects once it is answered.
        g.onAbort = undefined;
      }
    })();
  });
}

/** A published call route: JSON in, JSON out (never streamed). */
function serveJson(route: CallRoute): Serve {
  return async (g, ctx, input, principal, abort) => {
    const result = await ctx.execute(input, route.api, principal, null, abort.signal);
    sendJson(g, 200, route.render(result, input));
  };
}

/** The OpenAI routes: JSON, or SSE with `stream: true`. */
function serveOpenAi(pattern: string): Serve {
  const kind = pattern === '/v1/chat/completions' ? 'chat' : 'completion';
  return async (g, ctx, input, principal, abort, { includeUsage }) => {
    if (!input.stream) {
      const result = await ctx.execute(input, 'http', principal, null, abort.signal);
      sendJson(g, 200, kind === 'chat' ? openai.chatResponse(result) : openai.completionResponse(result));
      return;
    }
    const sse = new SseWriter(g, ctx.config.maxBackpressureBytes);
    let first = true;
    const model = input.model;
    const lps = input.logprobs !== undefined ? openai.streamLogprobs(kind) : undefined;
    const sink: TokenSink = {
      onToken: (text, logprobs) => {
        sse.event(openai.tokenChunk(kind, input.id, model, text, first, lps ? lps(logprobs) : null));
        first = false;
      },
    };
    let result: CompletionResult;
    try {
      result = await ctx.execute(input, 'http', principal, sink, abort.signal);
    } catch (err) {
      if (!sse.committed) throw err;
      sse.event(openai.errorBody(toColoError(err)));
      sse.end(false);
      return;
    }
    sse.event(openai.finalChunk(kind, result));
    if (includeUsage) sse.event(openai.usageChunk(kind, result));
    sse.end(true);
  };
}

function openAiIncludeUsage(body: unknown): boolean {
  const so = (body as { stream_options?: { include_usage?: unknown } } | null)?.stream_options;
  return so?.include_usage === true;
}

const openAiRoute = (
  pattern: string,
  parse: typeof openai.parseChat,
  example: Record<string, unknown>,
): CallRoute => ({
  kind: 'call',
  method: 'post',
  pattern,
  api: 'http' satisfies CallApi,
  toCall: (req, receivedAt) => parse(req.body, receivedAt).input,
  render: (r) => r,
  example,
});

const OPENAI_ROUTES: readonly CallRoute[] = [
  openAiRoute('/v1/completions', openai.parseCompletion, {
    model: '{model}',
    prompt: 'Once upon a time',
    max_tokens: 4,
  }),
  openAiRoute('/v1/chat/completions', openai.parseChat, {
    model: '{model}',
    messages: [{ role: 'user', content: 'Hello' }],
    max_tokens: 4,
  }),
];

/**
 * A warmer for the OpenAI routes (src/core/busy-poll.ts, "Warming"): reads canned
 * completion and chat bodies as a request's would be read (UTF-8 check, JSON, the
 * OpenAI schema, the CallInput), renders a canned answer as sendJson would, and returns
 * the completion's CallInput for the next stages to warm. Changes nothing.
 */
export function openAiWarmer(model: string, answer: CompletionResult): () => CallInput {
  const completion = Buffer.from(
    JSON.stringify({ model, prompt: 'Once upon a time', max_tokens: 16, temperature: 0 }),
  );
  const chat = Buffer.from(
    JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 16 }),
  );
  const signal = new Cancel().signal;
  const req = (body: unknown) => ({
    method: 'POST',
    path: '',
    query: '',
    headers: {},
    body,
    principal: undefined,
    signal,
  });
  const [completions, chats] = OPENAI_ROUTES;
  return () => {
    const input = completions!.toCall(req(parseJson(completion)), performance.now());
    chats!.toCall(req(parseJson(chat)), performance.now());
    JSON.stringify(openai.completionResponse(answer));
    return input;
  };
}

/** Catalogue and admin routes: plain data, no model. */
function registerPlain(app: TemplatedApp, ctx: ServerContext, state: HttpState, route: PlainRoute): void {
  app[route.method](route.pattern, (res: HttpResponse, req: HttpRequest) => {
    const g = guard(res);
    if (state.draining) return sendError(g, draining());
    // Handlers see the method upper-case, as HTTP writes it.
    const method = req.getMethod().toUpperCase();
    const path = req.getUrl();
    const query = req.getQuery() ?? '';
    const h = headers(req, [...AUTH_HEADERS, 'x-admin-key']);
    const raw = method === 'GET' || method === 'DELETE' ? undefined : readBody(g, ctx.config.maxBodyBytes);
    raw?.catch(() => undefined);
    const abort = new AbortController();
    g.onAbort = () => abort.abort();
    void (async () => {
      try {
        const principal = route.public ? undefined : await ctx.authenticate(credentialOf(h));
        const buf = raw ? await raw : undefined;
        const body = buf && buf.length > 0 ? parseJson(buf) : undefined;
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
      } finally {
        g.onAbort = undefined;
      }
    })();
  });
}

export type { ExtraRoute };
