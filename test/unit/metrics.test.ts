import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics';
import { requestDone, type RequestDoneEvent } from '../../src/metrics/events';

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

describe('Metrics', () => {
  it('records published request events as Prometheus summaries and counters', () => {
    const m = new Metrics().subscribe();
    for (let i = 0; i < 100; i++) requestDone.publish(done({ totalUs: (i + 1) * 1000 }));
    requestDone.publish(done({ errorCode: 'OVERLOADED', route: 'none' }));
    const text = m.render();
    m.close();
    expect(text).toContain('# TYPE colo_total_seconds summary');
    expect(text).toMatch(/colo_total_seconds_count\{model="m",route="local"\} 100/);
    // p50 of 1..100 ms is 50 ms, within HDR's 3 significant digits.
    const p50 = Number(
      /colo_total_seconds\{model="m",route="local",quantile="0.5"\} ([\d.e-]+)/.exec(text)![1],
    );
    expect(p50).toBeCloseTo(0.05, 3);
    expect(text).toMatch(/colo_inter_token_seconds_count\{model="m",route="local"\} 200/);
    expect(text).toContain('colo_errors_total{code="OVERLOADED",api="ws"} 1');
    expect(text).toContain('status="OVERLOADED"');
  });

  it('stops recording after close', () => {
    const m = new Metrics().subscribe();
    m.close();
    requestDone.publish(done({}));
    expect(m.render()).not.toContain('colo_total_seconds_count');
  });

  it('renders registered gauges and escapes label values', () => {
    const m = new Metrics();
    m.gauge('colo_queue_depth', 'queue', () => [{ labels: { model: 'a"b' }, value: 3 }]);
    expect(m.render()).toContain('colo_queue_depth{model="a\\"b"} 3');
  });
});
