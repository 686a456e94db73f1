/**
 * The router: one place where a request's route is chosen and its outcome recorded.
 * It resolves the model name, asks decide() for a route, calls the engine or the
 * gateway, and publishes one colo:request:done event (metrics, audit) per request.
 */
import { ColoError, toColoError } from '../core/errors';
import type { Completer, CompletionResult, InferenceRequest, Signal, TokenSink } from '../core/types';
import type { LocalEngine } from '../engine';
import { RequestTrace } from '../engine/trace';
import { requestDone, type RequestDoneEvent } from '../metrics/events';
import { decide, type RoutePolicy } from './decide';

/** What the router needs of the ONNX classifiers: a model name in, a signal out. */
export interface ClassifierRoute {
  has(name: string): boolean;
  classify(name: string, text: string): Promise<{ label: string; signal: Signal }>;
}

/** What the router needs of the remote gateway. */
export interface RemoteRoute extends Completer {
  hasModel(name: string): boolean;
}

export interface RouterOptions {
  engine: LocalEngine;
  gateway?: RemoteRoute | undefined;
  classifiers?: ClassifierRoute | undefined;
  /** Per-model policy; default 'local-first'. */
  policies?: Readonly<Record<string, RoutePolicy>>;
}

export interface CallContext {
  /** Where the request came in, for metrics: 'ws', 'http', 'skill'. */
  api: string;
  /** JSON Schema text constraining local output (skills). */
  jsonSchema?: string | undefined;
}

export class Router {
  constructor(private readonly opts: RouterOptions) {}

  /** Fills in the default model when the request names none. */
  resolveModel(req: InferenceRequest): string {
    return req.model || this.opts.engine.defaultModel || '';
  }

  hasModel(name: string): boolean {
    return this.opts.engine.hasModel(name) || (this.opts.gateway?.hasModel(name) ?? false) || (this.opts.classifiers?.has(name) ?? false);
  }

  async complete(req: InferenceRequest, sink: TokenSink | null, signal: AbortSignal, ctx: CallContext): Promise<CompletionResult> {
    const trace = new RequestTrace(req.receivedAt);
    req.receivedAt = trace.receivedAt;
    req.model = this.resolveModel(req);
    let route: RequestDoneEvent['route'] = 'none';
    let provider = 'none';
    try {
      if (this.opts.classifiers?.has(req.model)) {
        route = 'local';
        provider = 'onnx';
        const result = await this.classify(req, trace);
        publish(ctx.api, req.model, 'local', 'onnx', trace, result, undefined);
        return result;
      }
      const pool = this.opts.engine.pool(req.model);
      const remote = this.opts.gateway?.hasModel(req.model) ?? false;
      const decision = decide({
        local: pool !== undefined,
        localCapacity: pool?.hasCapacity() ?? false,
        localWaitMs: pool?.estimateWaitMs(req.priority) ?? 0,
        localServiceMs: pool?.estimator.serviceMs(req.sampling.maxTokens) ?? 0,
        remote,
        remainingMs: req.deadlineMs - trace.elapsedMs(),
        policy: this.opts.policies?.[req.model] ?? 'local-first',
      });
      let result: CompletionResult;
      if (decision.route === 'reject') {
        throw new ColoError(decision.code, `${decision.message}: ${req.model}`, decision.code === 'MODEL_NOT_FOUND' ? { field: 'model' } : {});
      } else if (decision.route === 'local') {
        route = 'local';
        provider = 'local';
        result = await pool!.complete(req, sink, signal, { jsonSchema: ctx.jsonSchema }, trace);
      } else {
        route = 'remote';
        provider = 'gateway';
        const counting: TokenSink = { onToken: (t) => (trace.markToken(), sink?.onToken(t)) };
        result = await this.opts.gateway!.complete(req, counting, signal);
        provider = result.route.provider;
      }
      publish(ctx.api, req.model, result.route.kind, result.route.provider, trace, result, undefined);
      return result;
    } catch (err) {
      const e = toColoError(err);
      publish(ctx.api, req.model, route, provider, trace, undefined, e);
      throw e;
    }
  }

  /** The microsecond path: an ONNX classifier answers with a label and one signal, no tokens. */
  private async classify(req: InferenceRequest, trace: RequestTrace): Promise<CompletionResult> {
    if (req.prompt === undefined) throw new ColoError('INVALID_ARGUMENT', 'prompt: a classifier needs the text in prompt', { field: 'prompt' });
    trace.markDispatched();
    const out = await this.opts.classifiers!.classify(req.model, req.prompt);
    trace.markToken();
    return {
      id: req.id,
      text: out.label,
      finishReason: 'stop',
      usage: { promptTokens: 0, completionTokens: 0 },
      route: { kind: 'local', provider: 'onnx', model: req.model, cached: false },
      timings: trace.finish(),
      signals: [out.signal],
    };
    }

}

function publish(
  api: string,
  model: string,
  route: RequestDoneEvent['route'],
  provider: string,
  trace: RequestTrace,
  result: CompletionResult | undefined,
  err: ColoError | undefined,
): void {
  if (!requestDone.hasSubscribers) return;
  const t = result?.timings ?? trace.finish();
  const e: RequestDoneEvent = {
    api,
    model,
    route,
    provider,
    result,
    errorCode: err?.code,
    queueUs: t.queueUs,
    ttftUs: t.ttftUs,
    totalUs: t.totalUs,
    gapsUs: trace.gapsUs,
  };
  requestDone.publish(e);
}
