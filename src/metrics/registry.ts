/**
 * The metrics registry. Request latencies go to Prometheus histograms per (model,
 * route) with fixed buckets (aggregatable across boxes), to HDR histograms (exact
 * percentiles for the shutdown summary and benches) and to a sliding window (the
 * dashboard). Counters and gauges explain behaviour; gauges are read at scrape time
 * from whoever registered them. Every label value is bounded (labels.ts).
 */
import { LatencySeries } from './histogram';
import { HistogramFamily } from './buckets';
import { requestDone, type RequestDoneEvent } from './events';
import { escapeValue, LabelPolicy, labelText } from './labels';
import { RuntimeMetrics } from './runtime';
import { subscribeBehaviour } from './subscribers';
import { SlidingWindow } from './window';

type Labels = Record<string, string>;
interface GaugeSample {
  labels: Labels;
  value: number;
}
type GaugeFn = () => GaugeSample[];

type Stage = 'queue' | 'ttft' | 'itl' | 'total';

export interface MetricsOptions {
  /** Tenants that get their own label value (others: `other`). Default none: no tenant label. */
  tenants?: readonly string[];
  /** Sliding window of the dashboard, seconds. Default 60. */
  windowSec?: number;
  /** Event-loop and GC monitors. Default true. */
  runtime?: boolean;
}

export class Metrics {
  readonly labels: LabelPolicy;
  readonly window: SlidingWindow;
  readonly runtime: RuntimeMetrics | undefined;
  readonly hist = {
    queue: new HistogramFamily('colo_queue_seconds', STAGE_HELP.queue),
    ttft: new HistogramFamily('colo_ttft_seconds', STAGE_HELP.ttft),
    itl: new HistogramFamily('colo_inter_token_seconds', STAGE_HELP.itl),
    total: new HistogramFamily('colo_total_seconds', STAGE_HELP.total),
    classify: new HistogramFamily('colo_classify_seconds', 'ONNX classifier requests, receipt to answer'),
    upstream: new HistogramFamily('colo_upstream_seconds', 'Remote upstream attempts, start to end'),
    upstreamTtft: new HistogramFamily('colo_upstream_ttft_seconds', 'Remote attempts, start to first token'),
    gc: new HistogramFamily('colo_gc_pause_seconds', 'Garbage-collection pauses by kind'),
    eventLoop: new HistogramFamily(
      'colo_eventloop_lag_max_seconds',
      'Worst event-loop delay in each one-second interval (monitorEventLoopDelay)',
    ),
    auditLag: new HistogramFamily(
      'colo_audit_commit_lag_seconds',
      "Audit batches: oldest record's write() to the batch being durable",
    ),
  };
  private readonly hdr = new Map<
    string,
    { model: string; route: string; stages: Record<Stage, LatencySeries> }
  >();
  private readonly counters = new Map<string, { help: string; m: Map<string, number> }>();
  private readonly gauges = new Map<string, { help: string; fn: GaugeFn }>();
  /**
   * Events wait here for a setImmediate, so recording (about 0.1 µs per token gap) runs
   * after the final frame is written, not before. Reads (render, summary, dashboard)
   * flush first, so they never miss a finished request.
   */
  private pending: RequestDoneEvent[] = [];
  private flushScheduled: NodeJS.Immediate | undefined;
  private readonly onDone = (msg: unknown) => {
    this.pending.push(msg as RequestDoneEvent);
    this.flushScheduled ??= setImmediate(() => this.flush());
  };
  private unsubscribeBehaviour: (() => void) | undefined;
  private subscribed = false;

  constructor(opts: MetricsOptions = {}) {
    this.labels = new LabelPolicy(opts.tenants ?? []);
    this.window = new SlidingWindow(opts.windowSec ?? 60);
    this.runtime =
      opts.runtime === false
        ? undefined
        : new RuntimeMetrics(
            (us) => this.hist.eventLoop.get('').recordUs(us),
            (kind, us) => this.hist.gc.get(`kind="${kind}"`).recordUs(us),
          );
  }

  /** Starts listening to request and behaviour events, and the runtime monitors. */
  subscribe(): this {
    if (this.subscribed) return this;
    this.subscribed = true;
    requestDone.subscribe(this.onDone);
    this.unsubscribeBehaviour = subscribeBehaviour(this);
    this.runtime?.start();
    return this;
  }

  /** Records every event still waiting for its setImmediate. */
  flush(): void {
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
    const batch = this.pending;
    this.pending = [];
    for (const e of batch) this.recordDone(e);
  }

  close(): void {
    this.flush();
    if (!this.subscribed) return;
    this.subscribed = false;
    requestDone.unsubscribe(this.onDone);
    this.unsubscribeBehaviour?.();
    this.runtime?.stop();
  }

  gauge(name: string, help: string, fn: GaugeFn): void {
    this.gauges.set(name, { help, fn });
  }

  /** Current samples of a registered gauge (the dashboard reads them); [] when unknown. */
  readGauge(name: string): GaugeSample[] {
    return this.gauges.get(name)?.fn() ?? [];
  }

  /** Adds to a counter. Label values must already be bounded (see LabelPolicy). */
  inc(name: string, labels: Labels, by = 1, help = ''): void {
    this.incText(name, labelText(labels), by, help);
  }

  /** Like inc, with the label set already rendered (`k="v",…`): the hot path. */
  incText(name: string, labels: string, by = 1, help = ''): void {
    let c = this.counters.get(name);
    if (!c) this.counters.set(name, (c = { help: help || COUNTER_HELP[name] || name, m: new Map() }));
    c.m.set(labels, (c.m.get(labels) ?? 0) + by);
  }

  /** HDR series of one (model, route), for benches and the shutdown summary. */
  stage(model: string, route: string): Record<Stage, LatencySeries> {
    const key = `${model}\u0000${route}`;
    let s = this.hdr.get(key);
    if (!s) {
      const stages = {
        queue: new LatencySeries(),
        ttft: new LatencySeries(),
        itl: new LatencySeries(),
        total: new LatencySeries(),
      };
      this.hdr.set(key, (s = { model, route, stages }));
    }
    return s.stages;
  }

  recordDone(e: RequestDoneEvent): void {
    const model = this.labels.model(e.model);
    const status = e.errorCode ?? 'ok';
    const ml = escapeValue(model);
    let req = `api="${e.api}",model="${ml}",route="${e.route}",provider="${e.provider}",status="${status}"`;
    if (this.labels.tenantLabels) req += `,tenant="${this.labels.tenant(e.tenant)}"`;
    this.incText('colo_requests_total', req);
    if (e.errorCode) this.incText('colo_errors_total', `code="${e.errorCode}",api="${e.api}"`);
    const tokens = e.result?.usage.completionTokens ?? 0;
    this.window.recordRequest(model, e.route, e.errorCode, tokens, e.ttftUs, e.totalUs);
    if (e.route === 'none') return;
    const l = `model="${ml}",route="${e.route}"`;
    this.hist.queue.get(l).recordUs(e.queueUs);
    if (e.ttftUs > 0) this.hist.ttft.get(l).recordUs(e.ttftUs);
    this.hist.total.get(l).recordUs(e.totalUs);
    if (e.provider === 'onnx') this.hist.classify.get(`model="${ml}"`).recordUs(e.totalUs);
    const itl = this.hist.itl.get(l);
    for (const g of e.gapsUs) itl.recordUs(g);
    const s = this.stage(model, e.route);
    s.queue.record(e.queueUs);
    if (e.ttftUs > 0) s.ttft.record(e.ttftUs);
    s.total.record(e.totalUs);
    for (const g of e.gapsUs) s.itl.record(g);
    if (e.result) {
      const t = this.labels.tenantLabels ? `,tenant="${this.labels.tenant(e.tenant)}"` : '';
      this.incText('colo_tokens_total', `${l},kind="prompt"${t}`, e.result.usage.promptTokens);
      this.incText('colo_tokens_total', `${l},kind="completion"${t}`, tokens);
      const cached = e.result.usage.cachedTokens;
      if (cached) this.incText('colo_tokens_total', `${l},kind="prompt_cached"${t}`, cached);
    }
  }

  /** Prometheus text exposition format 0.0.4. Latencies in seconds. */
  render(): string {
    this.flush();
    const out: string[] = [];
    for (const h of Object.values(this.hist)) h.render(out);
    for (const [name, { help, m }] of this.counters) {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const [labels, value] of m) out.push(`${name}${labels ? `{${labels}}` : ''} ${value}`);
    }
    for (const [name, { help, fn }] of this.gauges) {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
      for (const { labels, value } of fn()) {
        const l = labelText(labels);
        out.push(`${name}${l ? `{${l}}` : ''} ${value}`);
      }
    }
    this.runtime?.render(out);
    return out.join('\n') + '\n';
  }

  /** One line per (model, route) for the shutdown log, from the HDR histograms. */
  summaryLines(): string[] {
    this.flush();
    const lines: string[] = [];
    for (const { model, route, stages } of this.hdr.values()) {
      const t = stages.total.summary();
      const f = stages.ttft.summary();
      const i = stages.itl.summary();
      lines.push(
        `${model}/${route}: ${t.count} requests; total p50 ${ms(t.p50)} p99 ${ms(t.p99)} max ${ms(t.max)}; ` +
          `ttft p50 ${ms(f.p50)} p99 ${ms(f.p99)}; inter-token p50 ${ms(i.p50)} p99 ${ms(i.p99)}`,
      );
    }
    return lines;
  }
}

const STAGE_HELP: Record<Stage, string> = {
  queue: 'Time from receipt until a model sequence or upstream took the request',
  ttft: 'Time from receipt to the first token',
  itl: 'Gap between consecutive streamed tokens',
  total: 'Time from receipt to the final result',
};

const COUNTER_HELP: Record<string, string> = {
  colo_requests_total: 'Requests that reached the router, by outcome',
  colo_errors_total: 'Requests that ended in an error, by stable code',
  colo_tokens_total:
    'Prompt and completion tokens; prompt_cached: the prompt tokens a local generation did not evaluate because its KV cache held or copied them (counted in prompt too)',
};

const ms = (us: number): string => `${(us / 1000).toFixed(2)}ms`;
