import { z } from 'zod';

export const auditConfigSchema = z.strictObject({
  /** Whether audit records are written. Default true. */
  enabled: z.boolean().default(true),
  /** Directory of the append-only segments. Default 'data/audit'. */
  dir: z.string().default('data/audit'),
  /**
   * What is kept of prompts and responses: 'full' text, 'hash' (SHA-256 hex only) or
   * 'omit'. Default 'hash'. Raw model output is kept in full on SCHEMA_VIOLATION
   * regardless (it is what needs debugging), after secret scrubbing.
   */
  content: z.enum(['full', 'hash', 'omit']).default('hash'),
  /**
   * 'always': `write()` resolves only after the batch holding the record is
   * fdatasync'ed (survives power loss). 'never': after the OS has the bytes (survives a
   * process crash, not a power loss). Default 'always'.
   */
  fsync: z.enum(['always', 'never']).default('always'),
  /**
   * Extra wait before flushing a batch. Default 0: the first record flushes at once and
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
