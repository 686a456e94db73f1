/**
 * OpenTelemetry traces, exported over OTLP/HTTP (JSON) when `metrics.tracing.enabled`.
 *
 * Off by default, and then nothing here runs: the @opentelemetry packages are not even
 * loaded (dynamic import), and no channel has a tracing subscriber. On, spans are
 * built after the fact from the `colo:request:done` event and the gateway's attempt
 * events, with explicit start and end times, so the request path itself only pays for
 * pushing the event onto an array; span building and export run in a setImmediate.
 *
 * One trace per request: a SERVER span named `{gen_ai.operation.name} {model}` with the
 * GenAI semantic-convention attributes, and Colo's stages as children: `colo.queue`,
 * `colo.prefill` (dispatch to first token), `colo.decode` (first token to end) for
 * local requests; `colo.classify` for classifiers; one CLIENT span per upstream attempt
 * (`colo.remote_attempt`, hedges and losers included) for remote ones.
 */
import diagnostics from 'node:diagnostics_channel';
import type { Attributes, Span, Tracer } from '@opentelemetry/api';
import { CHANNELS as GATEWAY, type AttemptEvent } from '../gateway/events';
import type { TracingConfig } from './config';
import { requestDone, type RequestDoneEvent } from './events';

/** Attempts waiting for their request's done event; bounded so a stray id cannot grow it. */
const MAX_PENDING_ATTEMPTS = 10_000;

interface AttemptRecord {
  e: AttemptEvent;
  /** performance.now() at the attempt's end (when its event was published). */
  endAt: number;
}

export interface Tracing {
  /** Spans built so far (for tests and the bench). */
  readonly spans: number;
  /** Builds pending spans, exports what is buffered and stops. */
  close(): Promise<void>;
}

export async function startTracing(cfg: TracingConfig): Promise<Tracing> {
  const api = await import('@opentelemetry/api');
  const { BasicTracerProvider, BatchSpanProcessor, TraceIdRatioBasedSampler } =
    await import('@opentelemetry/sdk-trace-base');
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  const exporter = new OTLPTraceExporter({ url: cfg.endpoint, headers: { ...cfg.headers } });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': cfg.serviceName }),
    sampler: new TraceIdRatioBasedSampler(cfg.sampleRatio),
    spanProcessors: [
      new BatchSpanProcessor(exporter, { maxQueueSize: cfg.maxQueue, scheduledDelayMillis: 500 }),
    ],
  });
  const tracer = provider.getTracer('colo');
  const attempts = new Map<string, AttemptRecord[]>();
  let queue: RequestDoneEvent[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  let spans = 0;

  const onAttempt = (msg: unknown) => {
    const e = msg as AttemptEvent;
    let list = attempts.get(e.requestId);
    if (!list) {
      if (attempts.size >= MAX_PENDING_ATTEMPTS) return;
      attempts.set(e.requestId, (list = []));
    }
    list.push({ e, endAt: performance.now() });
  };
  const flush = () => {
    scheduled = undefined;
    const batch = queue;
    queue = [];
    for (const e of batch) spans += buildTrace(api, tracer, e, takeAttempts(e));
  };
  const takeAttempts = (e: RequestDoneEvent): AttemptRecord[] => {
    if (e.id === undefined) return [];
    const list = attempts.get(e.id) ?? [];
    attempts.delete(e.id);
    return list;
  };
  const onDone = (msg: unknown) => {
    queue.push(msg as RequestDoneEvent);
    scheduled ??= setImmediate(flush);
  };
  diagnostics.subscribe(GATEWAY.attempt, onAttempt);
  requestDone.subscribe(onDone);

  return {
    get spans() {
      return spans;
    },
    async close() {
      requestDone.unsubscribe(onDone);
      diagnostics.unsubscribe(GATEWAY.attempt, onAttempt);
      if (scheduled) clearImmediate(scheduled);
      flush();
      await provider.shutdown();
    },
  };
}

type Api = typeof import('@opentelemetry/api');

/** Builds one request's spans; returns how many. Times are performance.now() ms. */
function buildTrace(api: Api, tracer: Tracer, e: RequestDoneEvent, attempts: AttemptRecord[]): number {
  const t0 = e.receivedAt ?? performance.now() - e.totalUs / 1000;
  const at = (us: number) => performance.timeOrigin + t0 + us / 1000;
  const op = e.provider === 'onnx' ? 'classify' : e.chat ? 'chat' : 'text_completion';
  const attrs: Attributes = {
    'gen_ai.operation.name': op,
    'gen_ai.request.model': e.model,
    'gen_ai.provider.name': e.provider,
    'colo.api': e.api,
    'colo.route': e.route,
    'colo.queue_us': e.queueUs,
    'colo.ttft_us': e.ttftUs,
    'colo.total_us': e.totalUs,
  };
  if (e.id !== undefined) attrs['gen_ai.response.id'] = e.id;
  if (e.maxTokens !== undefined) attrs['gen_ai.request.max_tokens'] = e.maxTokens;
  if (e.temperature !== undefined) attrs['gen_ai.request.temperature'] = e.temperature;
  if (e.result) {
    attrs['gen_ai.response.model'] = e.result.route.model;
    attrs['gen_ai.response.finish_reasons'] = [e.result.finishReason];
    attrs['gen_ai.usage.input_tokens'] = e.result.usage.promptTokens;
    attrs['gen_ai.usage.output_tokens'] = e.result.usage.completionTokens;
    attrs['colo.cached'] = e.result.route.cached;
  }
  if (e.errorCode) attrs['error.type'] = e.errorCode;
  const root = tracer.startSpan(`${op} ${e.model}`, {
    kind: api.SpanKind.SERVER,
    startTime: at(0),
    attributes: attrs,
  });
  if (e.errorCode) root.setStatus({ code: api.SpanStatusCode.ERROR, message: e.errorCode });
  const ctx = api.trace.setSpan(api.context.active(), root);
  let n = 1;
  const child = (name: string, fromUs: number, toUs: number, a?: Attributes): Span => {
    const s = tracer.startSpan(name, { startTime: at(fromUs), attributes: a }, ctx);
    s.end(at(Math.max(fromUs, toUs)));
    n++;
    return s;
  };
  if (e.provider === 'onnx') {
    child('colo.classify', e.queueUs, e.totalUs);
  } else if (e.route === 'local') {
    child('colo.queue', 0, e.queueUs);
    if (e.ttftUs > 0) {
      child('colo.prefill', e.queueUs, e.ttftUs);
      child('colo.decode', e.ttftUs, e.totalUs, {
        'gen_ai.usage.output_tokens': e.result?.usage.completionTokens ?? 0,
      });
    }
  }
  for (const { e: a, endAt } of attempts) {
    const startUs = (endAt - a.durationMs - t0) * 1000;
    const s = tracer.startSpan(
      `colo.remote_attempt ${a.target}`,
      {
        kind: api.SpanKind.CLIENT,
        startTime: at(startUs),
        attributes: {
          'gen_ai.operation.name': op,
          'gen_ai.request.model': a.model,
          'gen_ai.provider.name': a.provider,
          'colo.target': a.target,
          'colo.attempt': a.attempt,
          'colo.hedge': a.hedge,
          'colo.outcome': a.outcome,
          ...(a.ttftMs !== undefined ? { 'colo.ttft_us': Math.round(a.ttftMs * 1000) } : {}),
          ...(a.upstreamStatus !== undefined ? { 'http.response.status_code': a.upstreamStatus } : {}),
          ...(a.code !== undefined ? { 'error.type': a.code } : {}),
        },
      },
      ctx,
    );
    if (a.outcome === 'error') s.setStatus({ code: api.SpanStatusCode.ERROR, message: a.code ?? 'error' });
    s.end(performance.timeOrigin + endAt);
    n++;
  }
  root.end(at(e.totalUs));
  return n;
}
