import { z } from 'zod';

export const auditConfigSchema = z.strictObject({
  /** Whether audit records are written. Default true. */
  enabled: z.boolean().default(true),
  /** Directory of the append-only segments. Default 'data/audit'. */
  dir: z.string().default('data/audit'),
  /**
   * What is kept of prompts and responses: 'hash' (SHA-256 hex only), 'omit', 'full'
   * (the text as redaction masks it: PII and credentials become `<EMAIL_1>`,
   * `<SECRET_1>`… by the `redact` detectors, whatever the route) or 'raw' (the text as
   * sent, PII included; credential shapes and provider keys are still scrubbed): raw
   * content must be asked for by name. Default 'hash'. Model output is kept on
   * SCHEMA_VIOLATION whatever the policy (it is what needs debugging), masked like 'full'
   * unless 'raw'.
   */
  content: z.enum(['full', 'raw', 'hash', 'omit']).default('hash'),
  /**
   * When an answer may go out relative to its record's durability:
   * - 'background' (default): the record is `write(2)` (synchronously, on the calling
   *   thread) before the answer, so it survives `kill -9` (the page cache outlives the
   *   process); `fdatasync` follows in a bounded background group commit
   *   (`fsyncWindowMs` / `fsyncBatchRecords`), its lag exported as a metric.
   * - 'always': the answer waits until the batch holding the record is fdatasync'ed
   *   (survives power loss); costs about an fdatasync per answer (bench/README.md).
   * - 'never': written before the answer, never fsynced by Colo (the OS flushes).
   */
  fsync: z.enum(['background', 'always', 'never']).default('background'),
  /** 'background': longest a written record waits for its fdatasync, in ms. Default 5. */
  fsyncWindowMs: z.number().min(0).max(10_000).default(5),
  /** 'background': fdatasync at once when this many records wait for it. Default 256. */
  fsyncBatchRecords: z.number().int().min(1).default(256),
  /**
   * 'always': extra wait before flushing a batch. Default 0: the first record flushes at once and
   * records arriving during that write+fsync form the next batch (group commit without
   * a timer). A 2 ms timer cost ~2.3 ms on every answer (bench/README.md, audit table).
   */
  flushIntervalMs: z.number().min(0).max(1000).default(0),
  /** Group commit: a batch is flushed at once when it holds this many records. Default 256. */
  maxBatchRecords: z.number().int().min(1).default(256),
  /** A segment is closed and a new one started past this size. Default 67108864 (64 MiB). */
  maxSegmentBytes: z
    .number()
    .int()
    .min(4096)
    .default(64 << 20),
  /** Oldest segments beyond this count are deleted; 0 keeps all. Default 0. */
  maxSegments: z.number().int().min(0).default(0),
  /** Records waiting for disk before `write()` fails with OVERLOADED (disk stalled). Default 100000. */
  maxPendingRecords: z.number().int().min(1).default(100_000),
});
export type AuditConfig = z.infer<typeof auditConfigSchema>;
