/**
 * Behaviour events on `node:diagnostics_channel`, published by the folder that knows
 * (router, cache, redact, audit) and subscribed to by src/metrics, so none of them
 * imports metrics. The gateway keeps its own channels (src/gateway/events.ts).
 * Publishers check `hasSubscribers` first: with nobody listening an event costs a
 * property read and no allocation. Messages carry names and numbers, never text.
 */
import diagnostics from 'node:diagnostics_channel';

/** The router decided where a request goes (src/router). */
export interface AdmissionEvent {
  model: string;
  /** 'local' | 'remote' | 'reject' | 'cache'. */
  outcome: 'local' | 'remote' | 'reject' | 'cache';
  /** Why: 'fits', 'policy', 'capacity', 'deadline', 'hit', or the error code of a refusal. */
  reason: string;
}

/** One response-cache lookup (src/cache). */
export interface CacheLookupEvent {
  hit: boolean;
  /** The backend failed and the lookup counted as a miss. */
  error?: boolean | undefined;
}

/** A request was masked before leaving the box (src/redact). */
export interface RedactionEvent {
  /** Distinct values replaced by placeholders (0 when nothing matched). */
  values: number;
}

/**
 * Audit records became durable (src/audit/log.ts publishes it: after each background
 * fdatasync, and per batch with fsync 'always').
 */
export interface AuditCommitEvent {
  records: number;
  /** Milliseconds from the oldest record's write() to the group being durable. */
  lagMs: number;
  bytes?: number | undefined;
  /** false when the batch could not be written; absent or true when durable. */
  ok?: boolean | undefined;
}

export const EVENT_CHANNELS = Object.freeze({
  admission: 'colo:router:admission',
  cache: 'colo:cache:lookup',
  redaction: 'colo:redact:request',
  /** src/audit/log.ts declares and publishes this one itself (its `auditCommit`). */
  auditCommit: 'colo:audit:commit',
});

export const admissionChannel = diagnostics.channel(EVENT_CHANNELS.admission);
export const cacheChannel = diagnostics.channel(EVENT_CHANNELS.cache);
export const redactionChannel = diagnostics.channel(EVENT_CHANNELS.redaction);
