/**
 * prom-client vs Colo's hand-written exposition, the two costs that matter: recording
 * one finished request (queue, TTFT, total, 32 inter-token gaps, request and token
 * counters, same buckets and labels on both sides) and one scrape of the resulting
 * registry (4 models × 2 routes, so 8 series per histogram family).
 *
 *   node bench/lib/run.mjs bench/micro/metrics-exposition.bench.ts
 *
 * Checked first: both expositions hold the same bucket counts for a probe series.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { HistogramFamily, LATENCY_BUCKETS_S, Metrics } from '../../src/metrics';
import type { RequestDoneEvent } from '../../src/metrics/events';
import { runMicro } from '../lib';

const MODELS = ['m0', 'm1', 'm2', 'm3'];
const ROUTES = ['local', 'remote'];
const GAPS = 32;

function event(i: number): RequestDoneEvent {
  const gaps: number[] = [];
  for (let g = 0; g < GAPS; g++) gaps.push(300 + ((i * 7 + g * 13) % 900));
  return {
    api: 'ws',
    model: MODELS[i % MODELS.length]!,
    route: ROUTES[(i >> 2) % ROUTES.length] as 'local',
    provider: 'local',
    queueUs: 50 + (i % 200),
    ttftUs: 800 + ((i * 31) % 5000),
    totalUs: 20_000 + ((i * 97) % 40_000),
    gapsUs: gaps,
    result: {
      id: 'x',
      text: '',
      finishReason: 'length',
      usage: { promptTokens: 8, completionTokens: GAPS + 1 },
      route: { kind: 'local', provider: 'local', model: 'm', cached: false },
      timings: { queueUs: 0, ttftUs: 0, totalUs: 0 },
    },
  };
}
const EVENTS = Array.from({ length: 64 }, (_, i) => event(i));

/** The hand-written side, exposition only: histogram families and counters. */
class HandWritten {
  fam = {
    queue: new HistogramFamily('colo_queue_seconds', 'q'),
    ttft: new HistogramFamily('colo_ttft_seconds', 't'),
    itl: new HistogramFamily('colo_inter_token_seconds', 'i'),
    total: new HistogramFamily('colo_total_seconds', 'T'),
  };
  m = new Metrics({ runtime: false });
  record(e: RequestDoneEvent): void {
    const l = `model="${e.model}",route="${e.route}"`;
    this.fam.queue.get(l).recordUs(e.queueUs);
    this.fam.ttft.get(l).recordUs(e.ttftUs);
    this.fam.total.get(l).recordUs(e.totalUs);
    const itl = this.fam.itl.get(l);
    for (const g of e.gapsUs) itl.recordUs(g);
    this.m.incText(
      'colo_requests_total',
      `api="${e.api}",model="${e.model}",route="${e.route}",provider="${e.provider}",status="ok"`,
    );
    this.m.incText('colo_tokens_total', `${l},kind="completion"`, e.result!.usage.completionTokens);
  }
  render(): string {
    const out: string[] = [];
    for (const f of Object.values(this.fam)) f.render(out);
    return out.join('\n') + '\n' + this.m.render();
  }
}

class PromClient {
  reg = new Registry();
  h = (name: string) =>
    new Histogram({
      name,
      help: name,
      labelNames: ['model', 'route'],
      buckets: [...LATENCY_BUCKETS_S],
      registers: [this.reg],
    });
  queue = this.h('colo_queue_seconds');
  ttft = this.h('colo_ttft_seconds');
  itl = this.h('colo_inter_token_seconds');
  total = this.h('colo_total_seconds');
  requests = new Counter({
    name: 'colo_requests_total',
    help: 'r',
    labelNames: ['api', 'model', 'route', 'provider', 'status'],
    registers: [this.reg],
  });
  tokens = new Counter({
    name: 'colo_tokens_total',
    help: 't',
    labelNames: ['model', 'route', 'kind'],
    registers: [this.reg],
  });
  record(e: RequestDoneEvent): void {
    const l = { model: e.model, route: e.route };
    this.queue.observe(l, e.queueUs / 1e6);
    this.ttft.observe(l, e.ttftUs / 1e6);
    this.total.observe(l, e.totalUs / 1e6);
    const itl = this.itl.labels(e.model, e.route);
    for (const g of e.gapsUs) itl.observe(g / 1e6);
    this.requests.inc({ api: e.api, model: e.model, route: e.route, provider: e.provider, status: 'ok' });
    this.tokens.inc({ ...l, kind: 'completion' }, e.result!.usage.completionTokens);
  }
  render(): Promise<string> {
    return this.reg.metrics();
  }
}

const hw = new HandWritten();
const pc = new PromClient();
const full = new Metrics({ runtime: false });
full.labels.allowModels(MODELS);
for (const e of EVENTS) {
  hw.record(e);
  pc.record(e);
}

const probe = (text: string) =>
  text
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('colo_ttft_seconds_bucket{') && l.includes('model="m1"') && l.includes('route="local"'),
    )
    .map((l) => Number(l.split(' ').pop()));

let n = 0;
await runMicro(
  'metrics-exposition',
  [
    { name: 'record one request: hand-written', fn: () => hw.record(EVENTS[n++ & 63]!) },
    { name: 'record one request: prom-client', fn: () => pc.record(EVENTS[n++ & 63]!) },
    { name: 'record one request: full Metrics (+HDR, window)', fn: () => full.recordDone(EVENTS[n++ & 63]!) },
    { name: 'scrape: hand-written', fn: () => hw.render() },
    { name: 'scrape: prom-client', fn: () => pc.render() },
  ],
  {
    check: async () => {
      const a = probe(hw.render());
      const b = probe(await pc.render());
      if (a.length !== LATENCY_BUCKETS_S.length + 1 || JSON.stringify(a) !== JSON.stringify(b))
        throw new Error(`bucket counts differ: ${a.join(',')} vs ${b.join(',')}`);
    },
    meta: {
      models: MODELS.length,
      routes: ROUTES.length,
      gapsPerRequest: GAPS,
      buckets: LATENCY_BUCKETS_S.length,
    },
  },
);
console.log(
  `scrape sizes: hand-written ${hw.render().length} B, prom-client ${(await pc.render()).length} B`,
);
