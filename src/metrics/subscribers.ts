/**
 * Counters that explain behaviour, fed by the diagnostics_channel events the owning
 * folders publish (src/core/events.ts, src/gateway/events.ts): admission decisions,
 * upstream attempts, retries, hedges, breaker transitions, cache lookups, redactions
 * and audit commits. Target and provider names come from config, so they are bounded;
 * model names go through the label policy.
 */
import diagnostics from 'node:diagnostics_channel';
import {
  EVENT_CHANNELS,
  type AdmissionEvent,
  type AuditCommitEvent,
  type CacheLookupEvent,
  type RedactionEvent,
} from '../core/events';
import {
  CHANNELS as GATEWAY,
  type AttemptEvent,
  type BreakerEvent,
  type HedgeEvent,
  type RetryEvent,
} from '../gateway/events';
import { escapeValue } from './labels';
import type { Metrics } from './registry';

const HELP: Record<string, string> = {
  colo_admission_total: 'Router decisions by outcome (local, remote, reject, cache) and reason',
  colo_upstream_attempts_total: 'Remote upstream attempts by target and outcome',
  colo_gateway_retries_total: 'Gateway retries and failovers, by the target tried next and the failure code',
  colo_gateway_hedges_fired_total: 'Hedge requests sent because the first token was late, by primary target',
  colo_gateway_hedges_won_total: 'Hedge requests that answered first, by hedge target',
  colo_breaker_transitions_total: 'Circuit breaker state changes per target',
  colo_cache_lookups_total: 'Response cache lookups: hit, miss, error (counted as a miss)',
  colo_redactions_total: 'Requests checked before leaving the box: masked or clean',
  colo_redacted_values_total: 'Values replaced by placeholders before leaving the box',
  colo_audit_batches_total: 'Audit group commits (one fdatasync each), by status',
  colo_audit_records_total: 'Audit records in written batches, by status',
};

export function subscribeBehaviour(m: Metrics): () => void {
  const inc = (name: string, labels: string, by = 1) => m.incText(name, labels, by, HELP[name]);
  const handlers: [string, (msg: unknown) => void][] = [
    [
      EVENT_CHANNELS.admission,
      (msg) => {
        const e = msg as AdmissionEvent;
        const model = escapeValue(m.labels.model(e.model));
        inc('colo_admission_total', `model="${model}",outcome="${e.outcome}",reason="${e.reason}"`);
      },
    ],
    [
      GATEWAY.attempt,
      (msg) => {
        const e = msg as AttemptEvent;
        const t = `target="${escapeValue(e.target)}",provider="${e.provider}"`;
        inc('colo_upstream_attempts_total', `${t},outcome="${e.outcome}",hedge="${e.hedge}"`);
        m.hist.upstream.get(`${t},outcome="${e.outcome}"`).recordUs(e.durationMs * 1000);
        if (e.ttftMs !== undefined) m.hist.upstreamTtft.get(t).recordUs(e.ttftMs * 1000);
        if (e.hedge && e.outcome === 'ok')
          inc('colo_gateway_hedges_won_total', `target="${escapeValue(e.target)}"`);
      },
    ],
    [
      GATEWAY.retry,
      (msg) => {
        const e = msg as RetryEvent;
        inc('colo_gateway_retries_total', `target="${escapeValue(e.target)}",code="${e.code}"`);
      },
    ],
    [
      GATEWAY.hedge,
      (msg) => {
        const e = msg as HedgeEvent;
        inc('colo_gateway_hedges_fired_total', `target="${escapeValue(e.primary)}"`);
      },
    ],
    [
      GATEWAY.breaker,
      (msg) => {
        const e = msg as BreakerEvent;
        inc(
          'colo_breaker_transitions_total',
          `target="${escapeValue(e.target)}",from="${e.from}",to="${e.to}"`,
        );
      },
    ],
    [
      EVENT_CHANNELS.cache,
      (msg) => {
        const e = msg as CacheLookupEvent;
        inc('colo_cache_lookups_total', `result="${e.error ? 'error' : e.hit ? 'hit' : 'miss'}"`);
      },
    ],
    [
      EVENT_CHANNELS.redaction,
      (msg) => {
        const e = msg as RedactionEvent;
        inc('colo_redactions_total', `result="${e.values > 0 ? 'masked' : 'clean'}"`);
        if (e.values > 0) inc('colo_redacted_values_total', '', e.values);
      },
    ],
    [
      EVENT_CHANNELS.auditCommit,
      (msg) => {
        const e = msg as AuditCommitEvent;
        const ok = e.ok !== false;
        const status = `status="${ok ? 'ok' : 'error'}"`;
        inc('colo_audit_batches_total', status);
        inc('colo_audit_records_total', status, e.records);
        if (ok) m.hist.auditLag.get('').recordUs(e.lagMs * 1000);
      },
    ],
  ];
  for (const [name, fn] of handlers) diagnostics.subscribe(name, fn);
  return () => {
    for (const [name, fn] of handlers) diagnostics.unsubscribe(name, fn);
  };
}
