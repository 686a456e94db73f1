/** The fleet Grafana dashboard only queries series Colo exports, and is valid dashboard JSON. */
import diagnostics from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENT_CHANNELS } from '../../src/core/events';
import { CHANNELS as GATEWAY } from '../../src/gateway/events';
import { Metrics } from '../../src/metrics';
import { requestDone } from '../../src/metrics/events';

const dashboard = JSON.parse(
  readFileSync(new URL('../../scripts/grafana/colo-fleet.json', import.meta.url), 'utf8'),
) as {
  uid: string;
  panels: { type: string; title: string; targets?: { expr: string }[] }[];
};

/** Every metric name Colo can export: a registry that has seen each kind of event, plus the app's gauges. */
function exportedNames(): Set<string> {
  const m = new Metrics().subscribe();
  m.labels.allowModels(['m']);
  const pub = (ch: string, msg: object) => diagnostics.channel(ch).publish(msg);
  requestDone.publish({
    api: 'ws',
    model: 'm',
    route: 'local',
    provider: 'local',
    queueUs: 1,
    ttftUs: 2,
    totalUs: 3,
    gapsUs: [1],
    errorCode: 'DEADLINE',
  });
  requestDone.publish({
    api: 'ws',
    model: 'm',
    route: 'local',
    provider: 'local',
    queueUs: 1,
    ttftUs: 2,
    totalUs: 3,
    gapsUs: [],
    result: {
      id: 'x',
      text: '',
      finishReason: 'stop',
      usage: { promptTokens: 1, completionTokens: 1 },
      route: { kind: 'local', provider: 'local', model: 'm', cached: false },
      timings: { queueUs: 1, ttftUs: 2, totalUs: 3 },
    },
  });
  pub(EVENT_CHANNELS.admission, { model: 'm', outcome: 'local', reason: 'fits' });
  pub(EVENT_CHANNELS.cache, { hit: true });
  pub(EVENT_CHANNELS.redaction, { values: 1 });
  pub(EVENT_CHANNELS.auditCommit, { records: 1, bytes: 1, lagMs: 1, ok: true });
  pub(GATEWAY.attempt, {
    requestId: 'r',
    target: 't',
    provider: 'p',
    model: 'x',
    attempt: 1,
    hedge: true,
    outcome: 'ok',
    durationMs: 1,
    ttftMs: 1,
  });
  pub(GATEWAY.retry, { requestId: 'r', target: 't', code: 'UPSTREAM_ERROR', delayMs: 1 });
  pub(GATEWAY.hedge, { requestId: 'r', primary: 't', hedge: 'u', afterMs: 1 });
  pub(GATEWAY.breaker, { target: 't', from: 'closed', to: 'open' });
  const text = m.render();
  m.close();
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const n = /^# TYPE (\S+) (\S+)/.exec(line);
    if (!n) continue;
    names.add(n[1]!);
    if (n[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(n[1]! + s);
  }
  const gauges = readFileSync(new URL('../../src/app/gauges.ts', import.meta.url), 'utf8');
  for (const g of gauges.matchAll(/'(colo_[a-z_]+)'/g)) names.add(g[1]!);
  return names;
}

describe('scripts/grafana/colo-fleet.json', () => {
  it('queries only exported series and computes fleet quantiles from summed buckets', () => {
    const names = exportedNames();
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(20);
    for (const e of exprs) {
      for (const [used] of e.matchAll(/colo_[a-z_]+/g)) expect(names, `${used} in ${e}`).toContain(used);
      // A fleet quantile sums buckets by le before histogram_quantile, never averages quantiles.
      if (e.includes('histogram_quantile')) expect(e).toMatch(/histogram_quantile\([\d.]+, sum by \(le\b/);
    }
    for (const fam of [
      'colo_ttft_seconds',
      'colo_total_seconds',
      'colo_queue_seconds',
      'colo_inter_token_seconds',
    ])
      expect(exprs.some((e) => e.includes(`${fam}_bucket`))).toBe(true);
    expect(dashboard.uid).toBe('colo-fleet');
  });
});
