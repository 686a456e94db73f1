/** Audit: one durable record per request, and queries over them. See README.md. */
export { auditConfigSchema, type AuditConfig } from './config';
export { AuditLog, auditCommit, type AuditCommitEvent, type AuditLogOptions } from './log';
export {
  buildAuditRecord,
  SecretScrubber,
  type AuditInput,
  type AuditRecord,
  type AuditStatus,
  type ContentMasker,
} from './record';
export { queryAudit, type AuditQuery, type AuditQueryResult } from './query';
export { decodeSegment, encodeRecord, type DecodeResult } from './framing';
export { listSegments, segmentName } from './segments';
