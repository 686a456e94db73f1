/**
 * The router: one place where a request's route is chosen and its outcome recorded.
 * In order: an ONNX classifier if the model names one (never cached: it answers faster
 * than the cache can key a request); the response cache; then
 * decide() between the local pool and the model's remote fallback (redacted before
 * it leaves the box); then one colo:request:done event (metrics) per request.
 */
import { ColoError, toColoError } from '../core/errors';
import {
  promptChars,
  type Completer,
  type CompletionResult,
  type InferenceRequest,
  type RouteKind,
  type Signal,
  type TokenSink,
} from '../core/types';
import type { LocalEngine } from '../engine';
import { RequestTrace } from '../engine/trace';
import { deadlineOf } from '../engine/deadline';
import { requestDone, type RequestDoneEvent } from '../metrics/events';
import { remainingMs } from '../core/deadline';
import { admissionChannel, type AdmissionEvent } from '../core/events';
import { decide, type Decision, type RoutePolicy } from './decide';
import type { CancelSignal } from '../core/cancel';

/** One classified text. */
export interface Classification {
  label: string;
  confidence: number;
  /** Probability per label. */
  probs: Record<string, number>;
  /** Confidence fell below the classifier's escalateBelow: ask a stronger model (cascade). */
  escalate?: boolean | undefined;
  signal: Signal;
}

/** What the router needs of the ONNX classifiers: a model name and texts in, labels and signals out. */
export interface ClassifierRoute {
  has(name: string): boolean;
  classify(name: string, texts: readonly string[]): Promise<Classification[]>;
}

/** What the router needs of the remote gateway. */
export interface RemoteRoute extends Completer {
  hasModel(name: string): boolean;
  /** Whether some target of the model returns logprobs; a request with logprobs goes only to those. */
  supportsLogprobs?(name: string): boolean;
  complete(
    req: InferenceRequest,
    sink: TokenSink | null,
    signal: CancelSignal,
    receivedAt?: number,
  ): Promise<CompletionResult>;
}

export interface ResponseCache {
  lookup(req: InferenceRequest): Promise<CompletionResult | undefined>;
  store(req: InferenceRequest, result: CompletionResult): Promise<void>;
}

/** Masks a request before it leaves the box and restores the answer (src/redact). */
export interface Redaction {
  appliesTo(route: RouteKind): boolean;
  readonly restores: boolean;
  redactRequest(req: InferenceRequest): {
    request: InferenceRequest;
    changed: boolean;
    session: {
      restore(text: string): string;
      createRestorer(): { push(chunk: string): string; flush(): string };
    };
  };
}

export interface LocalRouteConfig {
  /** Gateway alias or target used when local cannot serve in time. */
  fallback?: string | undefined;
  policy: RoutePolicy;
}

export interface RouterOptions {
  engine: LocalEngine;
  gateway?: RemoteRoute | undefined;
  classifiers?: ClassifierRoute | undefined;
  cache?: ResponseCache | undefined;
  redaction?: Redaction | undefined;
  /** Per local model name (not alias): its fallback and policy. */
  localRoutes?: Readonly<Record<string, LocalRouteConfig>>;
}

export interface CallContext {
  /** Where the request came in, for metrics: 'ws', 'http', 'skill'. */
  api: string;
  /** JSON Schema text constraining local output (skills). */
  jsonSchema?: string | undefined;
  /** False when the caller's tenant may not use remote providers. Default true. */
  allowRemote?: boolean | undefined;
}

/** What happened on the way, for the audit record. */
export interface RouteOutcome {
  redacted: boolean;
}

export class Router {
  constructor(private readonly opts: RouterOptions) {}

  /** Fills in the default model when the request names none. */
  resolveModel(req: InferenceRequest): string {
    return req.model || this.opts.engine.defaultModel || '';
  }

  hasModel(name: string): boolean {
    return (
      this.opts.engine.hasModel(name) ||
      (this.opts.gateway?.hasModel(name) ?? false) ||
      (this.opts.classifiers?.has(name) ?? false)
    );
  }

  async complete(
    req: InferenceRequest,
    sink: TokenSink | null,
    signal: CancelSignal,
    ctx: CallContext,
    outcome: RouteOutcome = { redacted: false },
  ): Promise<CompletionResult> {
    const trace = new RequestTrace(req.receivedAt);
    // The request is read, never written: a Call is frozen (src/core/call.ts).
    if (!req.model) req = { ...req, model: this.resolveModel(req), receivedAt: trace.receivedAt };
    let route: RequestDoneEvent['route'] = 'none';
    let provider = 'none';
    try {
      // A classifier answers in microseconds, faster than the cache could key and store it.
      if (this.opts.classifiers?.has(req.model)) {
        route = 'local';
        provider = 'onnx';
        const result = await this.classify(req, trace);
        publish(ctx.api, req, 'local', 'onnx', trace, result, undefined);
        return result;
      }
      // The cache key holds no choices, schema or logprobs: those requests are never cached.
      const cacheable =
        ctx.jsonSchema === undefined && req.choices === undefined && req.logprobs === undefined;
      const cached = cacheable ? await this.opts.cache?.lookup(req) : undefined;
      if (cached) {
        const result: CompletionResult = { ...cached, id: req.id, timings: trace.finish() };
        if (admissionChannel.hasSubscribers)
          admissionChannel.publish({ model: req.model, outcome: 'cache', reason: 'hit' });
        if (sink && result.text) sink.onToken(result.text);
        publish(ctx.api, req, 'cache', result.route.provider, trace, result, undefined);
        return result;
      }
      let result: CompletionResult;
      const pool = this.opts.engine.pool(req.model);
      const local = pool ? this.opts.localRoutes?.[pool.name] : undefined;
      const remoteModel = pool ? local?.fallback : req.model;
      if (req.tickers && !pool)
        throw new ColoError(
          'INVALID_ARGUMENT',
          `tickers: fan-out scores on a local model; "${req.model}" is a remote target`,
          { field: 'tickers' },
        );
      if (req.choices && !pool)
        throw new ColoError(
          'INVALID_ARGUMENT',
          `choices: scoring needs a local model; "${req.model}" is a remote target`,
          { field: 'choices' },
        );
      const gateway = this.opts.gateway;
      // Logprobs: locally, or on a remote model that has a target returning them.
      const logprobsOk = (name: string) =>
        req.logprobs === undefined || (gateway?.supportsLogprobs?.(name) ?? false);
      if (!pool && gateway?.hasModel(req.model) && !logprobsOk(req.model))
        throw new ColoError(
          'INVALID_ARGUMENT',
          `logprobs: remote model "${req.model}" has no target that returns logprobs (openai-compatible and gemini do; anthropic does not)`,
          { field: 'logprobs' },
        );
      // Scoring runs locally only: never remote.
      const remote =
        req.choices === undefined &&
        remoteModel !== undefined &&
        logprobsOk(remoteModel) &&
        ctx.allowRemote !== false &&
        (this.opts.gateway?.hasModel(remoteModel) ?? false);
      const prediction = pool?.predict(req, trace.receivedAt, { jsonSchema: ctx.jsonSchema });
      const decision = decide({
        local: pool !== undefined,
        localFits: prediction?.fits ?? false,
        localProbe: prediction?.probe,
        localCode: prediction?.code,
        localFull: prediction?.reason === 'capacity',
        localRetryAfterMs: prediction?.retryAfterMs,
        localNeedMs: prediction?.needMs,
        localStartMs: prediction?.startMs,
        remote,
        remainingMs: remainingMs(deadlineOf(req, trace.receivedAt)),
        policy: local?.policy ?? 'local-first',
      });
      if (admissionChannel.hasSubscribers) admissionChannel.publish(admissionOf(req.model, decision));
      if (decision.route === 'reject') {
        throw new ColoError(
          decision.code,
          `${decision.message}: ${req.model}`,
          decision.code === 'MODEL_NOT_FOUND' ? { field: 'model' } : { retryAfterMs: decision.retryAfterMs },
        );
      } else if (decision.route === 'local') {
        route = 'local';
        provider = 'local';
        result = await pool!.complete(req, sink, signal, { jsonSchema: ctx.jsonSchema }, trace);
      } else {
        route = 'remote';
        provider = 'gateway';
        result = await this.remote(
          { ...req, model: remoteModel!, responseSchema: ctx.jsonSchema },
          sink,
          signal,
          trace,
          outcome,
        );
        provider = result.route.provider;
        result.id = req.id;
      }
      if (cacheable) await this.opts.cache?.store(req, result);
      publish(ctx.api, req, result.route.kind, result.route.provider, trace, result, undefined);
      return result;
    } catch (err) {
      const e = toColoError(err);
      publish(ctx.api, req, route, provider, trace, undefined, e);
      throw e;
    }
  }

  /** The remote route: mask what must not leave the box, stream back restored text. */
  private async remote(
    req: InferenceRequest,
    sink: TokenSink | null,
    signal: CancelSignal,
    trace: RequestTrace,
    outcome: RouteOutcome,
  ): Promise<CompletionResult> {
    const redaction = this.opts.redaction?.appliesTo('remote')
      ? this.opts.redaction.redactRequest(req)
      : undefined;
    const sent = redaction?.request ?? req;
    outcome.redacted = redaction?.changed ?? false;
    const restore = redaction?.changed && this.opts.redaction!.restores ? redaction.session : undefined;
    const restorer = restore?.createRestorer();
    const counting: TokenSink = {
      onToken: (t, logprobs) => {
        trace.markToken();
        const out = restorer ? restorer.push(t) : t;
        // Logprob entries are the upstream's tokens, as it produced them (placeholders are not restored in them).
        if (logprobs) sink?.onToken(out, logprobs);
        else if (out) sink?.onToken(out);
      },
    };
    let result: CompletionResult;
    try {
      result = await this.opts.gateway!.complete(sent, counting, signal, trace.receivedAt);
    } catch (err) {
      // What streamed before the failure is charged and audited (one chunk ≈ one token).
      const e = toColoError(err);
      e.usage ??= { promptTokens: estimateTokens(req), completionTokens: trace.tokens };
      throw e;
    }
    if (restorer) {
      const tail = restorer.flush();
      if (tail) sink?.onToken(tail);
      result.text = restore!.restore(result.text);
    }
    return result;
  }

  /** The microsecond path: an ONNX classifier answers with a label and one signal, no tokens. */
  private async classify(req: InferenceRequest, trace: RequestTrace): Promise<CompletionResult> {
    const texts = req.inputs ?? (req.prompt !== undefined ? [req.prompt] : undefined);
    if (texts === undefined)
      throw new ColoError('INVALID_ARGUMENT', 'prompt: a classifier needs the text in prompt', {
        field: 'prompt',
      });
    trace.markDispatched();
    const out = await this.opts.classifiers!.classify(req.model, texts);
    trace.markToken();
    return {
      id: req.id,
      text: out.map((o) => o.label).join('\n'),
      finishReason: 'stop',
      usage: { promptTokens: 0, completionTokens: 0 },
      route: { kind: 'local', provider: 'onnx', model: req.model, cached: false },
      timings: trace.finish(),
      signals: out.map((o) => o.signal),
      classifications: out.map((o) => ({
        label: o.label,
        confidence: o.confidence,
        probs: o.probs,
        escalate: o.escalate,
      })),
    };
  }
}

/** Prompt size estimate for a request that failed before the upstream reported usage. */
const estimateTokens = (req: InferenceRequest): number => Math.ceil(promptChars(req, 4) / 4);

function admissionOf(model: string, d: Decision): AdmissionEvent {
  const reason = d.route === 'local' ? 'fits' : d.route === 'remote' ? d.reason : d.code;
  return { model, outcome: d.route, reason };
}

function publish(
  api: string,
  req: InferenceRequest,
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
    model: req.model,
    id: req.id,
    tenant: req.tenant,
    receivedAt: trace.receivedAt,
    maxTokens: req.sampling.maxTokens,
    temperature: req.sampling.temperature,
    chat: req.messages !== undefined,
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
