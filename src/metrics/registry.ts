/**
 * The metrics registry: latency series per (model, route) for queue wait, time to
 * first token, inter-token gap and total; counters for requests, tokens and errors
 * by code; gauges read at scrape time from whoever registered them (queue depth,
 * in-flight, breaker state). Exposed as Prometheus text at /metrics.
 */
import { LatencySeries, QUANTILES } from './histogram';
import { requestDone, type RequestDoneEvent } from './events';

type Labels = Record<string, string>;

const STAGES = ['queue', 'ttft', 'itl', 'total'] as const;
type Stage = (typeof STAGES)[number];

interface GaugeSample {
  labels: Labels;
  value: number;
}
type GaugeFn = () => GaugeSample[];

export class Metrics {
  private readonly series = new Map<string, { labels: Labels; stages: Record<Stage, LatencySeries> }>();
  private readonly counters = new Map<string, Map<string, { labels: Labels; value: number }>>();
  private readonly gauges = new Map<string, { help: string; fn: GaugeFn }>();
  private readonly onDone = (msg: unknown) => this.recordDone(msg as RequestDoneEvent);
  private subscribed = false;

  /** Starts listening to request events. */
  subscribe(): this {
    if (!this.subscribed) requestDone.subscribe(this.onDone);
    this.subscribed = true;
    return this;
  }

  close(): void {
    if (this.subscribed) requestDone.unsubscribe(this.onDone);
    this.subscribed = false;
  }

  gauge(name: string, help: string, fn: GaugeFn): void {
    this.gauges.set(name, { help, fn });
  }

  inc(name: string, labels: Labels, by = 1): void {
    let m = this.counters.get(name);
    if (!m) this.counters.set(name, (m = new Map()));
    const key = labelKey(labels);
    const c = m.get(key);
    if (c) c.value += by;
    else m.set(key, { labels, value: by });
  }

  stage(model: string, route: string): Record<Stage, LatencySeries> {
    const key = `${model}\u0000${route}`;
    let s = this.series.get(key);
    if (!s) {
      s = {
        labels: { model, route },
        stages: {
          queue: new LatencySeries(),
          ttft: new LatencySeries(),
          itl: new LatencySeries(),
          total: new LatencySeries(),
        },
      };
      this.series.set(key, s);
    }
    return s.stages;
  }

  recordDone(e: RequestDoneEvent): void {
    const status = e.errorCode ?? 'ok';
    this.inc('colo_requests_total', {
      api: e.api,
      model: e.model,
      route: e.route,
      provider: e.provider,
      status,
    });
    if (e.errorCode) this.inc('colo_errors_total', { code: e.errorCode, api: e.api });
    if (e.route === 'none') return;
    const s = this.stage(e.model, e.route);
    s.queue.record(e.queueUs);
    if (e.ttftUs > 0) s.ttft.record(e.ttftUs);
    s.total.record(e.totalUs);
    for (const g of e.gapsUs) s.itl.record(g);
    if (e.result) {
      this.inc(
        'colo_tokens_total',
        { model: e.model, route: e.route, kind: 'prompt' },
        e.result.usage.promptTokens,
      );
      this.inc(
        'colo_tokens_total',
        { model: e.model, route: e.route, kind: 'completion' },
        e.result.usage.completionTokens,
      );
    }
  }

  /** Prometheus text exposition format 0.0.4. Latencies in seconds. */
  render(): string {
    const out: string[] = [];
    for (const stage of STAGES) {
      const name = `colo_${stage === 'itl' ? 'inter_token' : stage}_seconds`;
      out.push(`# HELP ${name} ${STAGE_HELP[stage]} (HDR histogram quantiles)`, `# TYPE ${name} summary`);
      for (const { labels, stages } of this.series.values()) {
        const sum = stages[stage].summary();
        if (sum.count === 0) continue;
        const h = stages[stage].h;
        for (const q of QUANTILES) {
          out.push(
            `${name}${fmt({ ...labels, quantile: String(q) })} ${sec(h.getValueAtPercentile(q * 100))}`,
          );
        }
        out.push(`${name}_sum${fmt(labels)} ${sec(sum.sumUs)}`, `${name}_count${fmt(labels)} ${sum.count}`);
      }
    }
    for (const [name, m] of this.counters) {
      out.push(`# TYPE ${name} counter`);
      for (const { labels, value } of m.values()) out.push(`${name}${fmt(labels)} ${value}`);
    }
    for (const [name, { help, fn }] of this.gauges) {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
      for (const { labels, value } of fn()) out.push(`${name}${fmt(labels)} ${value}`);
    }
    return out.join('\n') + '\n';
  }

  /** One line per (model, route) for the shutdown log. */
  summaryLines(): string[] {
    const lines: string[] = [];
    for (const { labels, stages } of this.series.values()) {
      const t = stages.total.summary();
      const f = stages.ttft.summary();
      const i = stages.itl.summary();
      lines.push(
        `${labels.model}/${labels.route}: ${t.count} requests; total p50 ${ms(t.p50)} p99 ${ms(t.p99)} max ${ms(t.max)}; ` +
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

const sec = (us: number): string => String(us / 1e6);
const ms = (us: number): string => `${(us / 1000).toFixed(2)}ms`;

function labelKey(labels: Labels): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function fmt(labels: Labels): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return parts.length ? `{${parts.join(',')}}` : '';
}
