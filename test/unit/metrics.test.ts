import diagnostics from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics';
import { requestDone, type RequestDoneEvent } from '../../src/metrics/events';
import { EVENT_CHANNELS } from '../../src/core/events';
import { CHANNELS as GATEWAY } from '../../src/gateway/events';
import { SlidingWindow } from '../../src/metrics/window';

const done = (over: Partial<RequestDoneEvent>): RequestDoneEvent => ({
  api: 'ws',
  model: 'm',
  route: 'local',
  provider: 'local',
  queueUs: 100,
  ttftUs: 2000,
  totalUs: 10_000,
  gapsUs: [500, 700],
  ...over,
});

function metrics(opts: ConstructorParameters<typeof Metrics>[0] = {}): Metrics {
  const m = new Metrics({ runtime: false, ...opts });
  m.labels.allowModels(['m', 'fin-sentiment']);
  return m;
}

/** Cumulative count of a bucket line, e.g. bucket(text, 'colo_total_seconds', 'model="m",route="local"', '0.05'). */
function bucket(text: string, name: string, labels: string, le: string): number {
  const sep = labels ? `${labels},` : '';
  const line = text.split('\n').find((l) => l.startsWith(`${name}_bucket{${sep}le="${le}"} `));
  if (!line) throw new Error(`no bucket ${le} for ${name}{${labels}}`);
  return Number(line.split(' ')[1]);
}

describe('Metrics', () => {
  it('records request events as Prometheus histograms with fine buckets and counters', () => {
    const m = metrics().subscribe();
    for (let i = 0; i < 100; i++) requestDone.publish(done({ totalUs: (i + 1) * 1000 }));
    requestDone.publish(done({ errorCode: 'OVERLOADED', route: 'none' }));
    const text = m.render();
    m.close();
    expect(text).toContain('# TYPE colo_total_seconds histogram');
    const l = 'model="m",route="local"';
    expect(text).toContain(`colo_total_seconds_count{${l}} 100`);
    // 1..100 ms: 50 values are <= 50 ms, 10 are <= 10 ms, all are <= +Inf.
    expect(bucket(text, 'colo_total_seconds', l, '0.05')).toBe(50);
    expect(bucket(text, 'colo_total_seconds', l, '0.01')).toBe(10);
    expect(bucket(text, 'colo_total_seconds', l, '+Inf')).toBe(100);
    // Below a millisecond the buckets still separate: 100 µs queue waits sit at le=0.0001.
    expect(bucket(text, 'colo_queue_seconds', l, '0.000075')).toBe(0);
    expect(bucket(text, 'colo_queue_seconds', l, '0.0001')).toBe(100);
    expect(text).toContain(`colo_inter_token_seconds_count{${l}} 200`);
    expect(bucket(text, 'colo_inter_token_seconds', l, '0.0005')).toBe(100);
    expect(text).toContain('colo_errors_total{code="OVERLOADED",api="ws"} 1');
    expect(text).toContain('status="OVERLOADED"');
    // The HDR series behind the shutdown summary still see every request.
    expect(m.summaryLines()[0]).toMatch(/^m\/local: 100 requests; total p50 50\.\d+ms/);
  });

  it('records classifier requests in colo_classify_seconds too', () => {
    const m = metrics().subscribe();
    requestDone.publish(
      done({ model: 'fin-sentiment', provider: 'onnx', ttftUs: 30, totalUs: 40, gapsUs: [] }),
    );
    m.close();
    expect(bucket(m.render(), 'colo_classify_seconds', 'model="fin-sentiment"', '0.00005')).toBe(1);
  });

  it('folds model names that are not configured into "other": 2,000 made-up names add no series', () => {
    const m = metrics().subscribe();
    requestDone.publish(done({}));
    let before = 0;
    for (let i = 0; i < 2000; i++) {
      if (i === 10) before = m.render().length;
      requestDone.publish(
        done({ model: `made-up-${i}`, route: 'none', provider: 'none', errorCode: 'MODEL_NOT_FOUND' }),
      );
      requestDone.publish(done({ model: `remote-${i}`, route: 'remote', provider: 'openai' }));
    }
    const text = m.render();
    m.close();
    expect(text).not.toContain('made-up-');
    expect(text).not.toContain('remote-');
    expect(text).toContain(
      'colo_requests_total{api="ws",model="other",route="none",provider="none",status="MODEL_NOT_FOUND"} 2000',
    );
    expect(text).toContain('colo_total_seconds_count{model="other",route="remote"} 2000');
    // After the first few names, more names only make the counts longer, never the page.
    expect(text.length - before).toBeLessThan(300);
  });

  it('counts the prompt tokens a local generation found cached, when it says so', () => {
    const m = metrics().subscribe();
    const result = {
      id: 'x',
      text: '',
      finishReason: 'stop' as const,
      usage: { promptTokens: 300, completionTokens: 5, cachedTokens: 290 },
      route: { kind: 'local' as const, provider: 'local', model: 'm', cached: false },
      timings: { queueUs: 1, ttftUs: 2, totalUs: 3 },
    };
    requestDone.publish(done({ result }));
    requestDone.publish(done({ result: { ...result, usage: { promptTokens: 7, completionTokens: 1 } } }));
    m.close();
    const text = m.render();
    expect(text).toContain('colo_tokens_total{model="m",route="local",kind="prompt"} 307');
    expect(text).toContain('colo_tokens_total{model="m",route="local",kind="prompt_cached"} 290');
  });

  it('labels only configured tenants, others as "other", and no tenant label when none is configured', () => {
    const m = metrics({ tenants: ['acme'] }).subscribe();
    const result = {
      id: 'x',
      text: '',
      finishReason: 'stop' as const,
      usage: { promptTokens: 3, completionTokens: 5 },
      route: { kind: 'local' as const, provider: 'local', model: 'm', cached: false },
      timings: { queueUs: 1, ttftUs: 2, totalUs: 3 },
    };
    requestDone.publish(done({ tenant: 'acme', result }));
    requestDone.publish(done({ tenant: 'evil-1', result }));
    requestDone.publish(done({ tenant: 'evil-2', result }));
    m.close();
    const text = m.render();
    expect(text).toContain('status="ok",tenant="acme"} 1');
    expect(text).toContain('status="ok",tenant="other"} 2');
    expect(text).toContain('colo_tokens_total{model="m",route="local",kind="completion",tenant="other"} 10');
    expect(text).not.toContain('evil');
    const plain = metrics().subscribe();
    requestDone.publish(done({ tenant: 'acme', result }));
    plain.close();
    expect(plain.render()).not.toContain('tenant=');
  });

  it('counts behaviour events from the folders that publish them', () => {
    const m = metrics().subscribe();
    const pub = (ch: string, msg: object) => diagnostics.channel(ch).publish(msg);
    pub(EVENT_CHANNELS.admission, { model: 'm', outcome: 'local', reason: 'fits' });
    pub(EVENT_CHANNELS.admission, { model: 'nope', outcome: 'reject', reason: 'MODEL_NOT_FOUND' });
    pub(EVENT_CHANNELS.cache, { hit: true });
    pub(EVENT_CHANNELS.cache, { hit: false });
    pub(EVENT_CHANNELS.cache, { hit: false, error: true });
    pub(EVENT_CHANNELS.redaction, { values: 3 });
    pub(EVENT_CHANNELS.redaction, { values: 0 });
    pub(EVENT_CHANNELS.auditCommit, { records: 4, bytes: 900, lagMs: 0.4, ok: true });
    const attempt = { requestId: 'r', target: 'oai', provider: 'openai', model: 'gpt', attempt: 1 };
    pub(GATEWAY.attempt, {
      ...attempt,
      hedge: false,
      outcome: 'error',
      code: 'UPSTREAM_ERROR',
      durationMs: 3,
    });
    pub(GATEWAY.retry, { requestId: 'r', target: 'oai', code: 'UPSTREAM_ERROR', delayMs: 10 });
    pub(GATEWAY.hedge, { requestId: 'r', primary: 'oai', hedge: 'vllm', afterMs: 150 });
    pub(GATEWAY.attempt, {
      ...attempt,
      target: 'vllm',
      hedge: true,
      outcome: 'ok',
      ttftMs: 1.5,
      durationMs: 9,
    });
    pub(GATEWAY.breaker, { target: 'oai', from: 'closed', to: 'open' });
    m.close();
    pub(EVENT_CHANNELS.cache, { hit: true }); // after close: not counted
    const text = m.render();
    expect(text).toContain('colo_admission_total{model="m",outcome="local",reason="fits"} 1');
    expect(text).toContain('colo_admission_total{model="other",outcome="reject",reason="MODEL_NOT_FOUND"} 1');
    expect(text).toContain('colo_cache_lookups_total{result="hit"} 1');
    expect(text).toContain('colo_cache_lookups_total{result="miss"} 1');
    expect(text).toContain('colo_cache_lookups_total{result="error"} 1');
    expect(text).toContain('colo_redactions_total{result="masked"} 1');
    expect(text).toContain('colo_redactions_total{result="clean"} 1');
    expect(text).toContain('colo_redacted_values_total 3');
    expect(text).toContain('colo_audit_records_total{status="ok"} 4');
    expect(bucket(text, 'colo_audit_commit_lag_seconds', '', '0.0005')).toBe(1);
    expect(text).toContain('colo_gateway_retries_total{target="oai",code="UPSTREAM_ERROR"} 1');
    expect(text).toContain('colo_gateway_hedges_fired_total{target="oai"} 1');
    expect(text).toContain('colo_gateway_hedges_won_total{target="vllm"} 1');
    expect(text).toContain('colo_breaker_transitions_total{target="oai",from="closed",to="open"} 1');
    expect(text).toContain(
      'colo_upstream_attempts_total{target="oai",provider="openai",outcome="error",hedge="false"} 1',
    );
    expect(bucket(text, 'colo_upstream_ttft_seconds', 'target="vllm",provider="openai"', '0.002')).toBe(1);
  });

  it('renders registered gauges and escapes label values', () => {
    const m = metrics();
    m.gauge('colo_queue_depth', 'queue', () => [{ labels: { model: 'a"b' }, value: 3 }]);
    expect(m.render()).toContain('colo_queue_depth{model="a\\"b"} 3');
    expect(m.readGauge('colo_queue_depth')).toEqual([{ labels: { model: 'a"b' }, value: 3 }]);
  });

  it('exports event-loop delay and GC pauses from the runtime monitors', async () => {
    const m = new Metrics().subscribe();
    const turn = () => new Promise((r) => setImmediate(r));
    // The monitor's first wake-up only starts its clock: wait for a first sample.
    while (m.runtime!.samples === 0) await turn();
    // A 30 ms stall, recorded when the monitor's timer runs again.
    const before = m.runtime!.samples;
    const until = performance.now() + 30;
    while (performance.now() < until);
    while (m.runtime!.samples === before) await turn();
    m.runtime!.tick();
    const text = m.render();
    m.close();
    expect(text).toContain('colo_eventloop_lag_max_seconds_count 1');
    const max = Number(/colo_eventloop_delay_seconds\{stat="max"\} ([\d.e-]+)/.exec(text)![1]);
    expect(max).toBeGreaterThan(0.01);
    expect(text).toMatch(/colo_process_memory_bytes\{kind="rss"\} \d+/);
    expect(text).toContain('# TYPE colo_gc_pause_seconds histogram');
  });
});

describe('SlidingWindow', () => {
  it('gives rates and percentiles over the window and forgets what slid out', () => {
    let now = 100_000;
    const w = new SlidingWindow(10, () => now);
    for (let i = 1; i <= 100; i++) w.recordRequest('m', 'local', undefined, 10, i * 100, i * 1000);
    w.recordRequest('m', 'none', 'OVERLOADED', 0, 0, 50);
    now += 999;
    const [s] = w.modelStats(5);
    expect(s!.model).toBe('m');
    expect(s!.ttftMs.count).toBe(100);
    // p50 of 0.1..10 ms is 5 ms; log buckets are 5% wide.
    expect(s!.ttftMs.p50).toBeGreaterThan(4.9);
    expect(s!.ttftMs.p50).toBeLessThan(5.3);
    expect(s!.totalMs.p99).toBeGreaterThan(98);
    expect(s!.totalMs.p99).toBeLessThan(104);
    expect(s!.tokensPerSec).toBeCloseTo(1000 / 4.999, 0);
    expect(w.countsOf('route')).toEqual({ local: 100, refused: 1 });
    expect(w.countsOf('error')).toEqual({ OVERLOADED: 1 });
    now += 10_000;
    expect(w.modelStats(5)[0]!.ttftMs.count).toBe(0);
    expect(w.countsOf('route')).toEqual({});
  });
});
