/**
 * The audit writer: an append-only log with group commit.
 *
 * `write(record)` frames the record at once (so a caller's later mutation cannot
 * change it) and parks it in the current batch. A batch is flushed `flushIntervalMs`
 * after its first record, or at once at `maxBatchRecords`; while one batch is being
 * written and fdatasync'ed the next one fills, and it goes out as soon as the first is
 * done. Each `write` resolves only after the batch holding it is on disk (fsync policy
 * 'always'), so a request acknowledged after its audit write can never be missing
 * from the log after a crash, and the disk sees one write + one fdatasync per batch,
 * not per request. File I/O runs on libuv's thread pool, off the event loop.
 *
 * Every open starts a fresh segment, so a torn tail left by a crash stays at the end
 * of its old segment (where readers skip it) and is never glued to new records.
 */
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ColoError } from '../core/errors';
import type { AuditConfig } from './config';
import { encodeRecord } from './framing';
import { buildAuditRecord, SecretScrubber, type AuditInput, type AuditRecord } from './record';
import { listSegments, segmentName } from './segments';

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface AuditLogOptions {
  /** Literal secrets (provider keys) that must never appear in a record. Default []. */
  secrets?: readonly string[];
}

export class AuditLog {
  private fh: FileHandle | undefined;
  private seq = 0;
  private segmentBytes = 0;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private readonly scrubber: SecretScrubber;
  /** Records written since open (acknowledged). */
  written = 0;
  /** Batches written since open: one write + one fdatasync each. */
  batches = 0;

  private constructor(
    private readonly cfg: AuditConfig,
    opts: AuditLogOptions,
  ) {
    this.scrubber = new SecretScrubber(opts.secrets);
  }

  static async open(cfg: AuditConfig, opts: AuditLogOptions = {}): Promise<AuditLog> {
    const log = new AuditLog(cfg, opts);
    await mkdir(cfg.dir, { recursive: true });
    const segs = await listSegments(cfg.dir);
    log.seq = segs.length > 0 ? segs[segs.length - 1]!.seq : 0;
    await log.nextSegment();
    return log;
  }

  /** Builds the record for a finished request (content policy, scrubbing) and writes it. */
  record(input: AuditInput): Promise<void> {
    return this.write(buildAuditRecord(input, this.cfg, this.scrubber));
  }

  /** Resolves once the record is durable per the fsync policy; rejects if it cannot be. */
  write(record: AuditRecord | object): Promise<void> {
    if (this.closed) return Promise.reject(new ColoError('SHUTTING_DOWN', 'audit log is closed'));
    if (this.waiters.length >= this.cfg.maxPendingRecords) {
      return Promise.reject(new ColoError('OVERLOADED', 'audit log backlog full (disk stalled?)'));
    }
    const buf = encodeRecord(record);
    return new Promise<void>((resolve, reject) => {
      this.batch.push(buf);
      this.batchBytes += buf.length;
      this.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushing) return; // the running flush picks the batch up when it ends
    if (this.batch.length >= this.cfg.maxBatchRecords || this.cfg.flushIntervalMs === 0) {
      this.startFlush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.startFlush(), this.cfg.flushIntervalMs);
    }
  }

  private startFlush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.flushing || this.batch.length === 0) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = undefined;
      // Records written while the loop was finishing (e.g. by a continuation of a write
      // it just resolved) already waited a full flush: send them now.
      if (this.batch.length > 0) this.startFlush();
    });
  }

  /** Writes batches back to back until none is waiting. */
  private async flushLoop(): Promise<void> {
    while (this.batch.length > 0) {
      const data = this.batch.length === 1 ? this.batch[0]! : Buffer.concat(this.batch, this.batchBytes);
      const waiters = this.waiters;
      this.batch = [];
      this.batchBytes = 0;
      this.waiters = [];
      try {
        await this.append(data);
        this.written += waiters.length;
        this.batches++;
        for (const w of waiters) w.resolve();
      } catch (err) {
        const e = new ColoError('INTERNAL', 'audit write failed', { cause: err });
        for (const w of waiters) w.reject(e);
        // The failed segment may end in a partial batch: continue in a new one.
        await this.nextSegment().catch(() => undefined);
      }
    }
  }

  private async append(data: Buffer): Promise<void> {
    const fh = this.fh;
    if (!fh) throw new Error('no open segment');
    let off = 0;
    while (off < data.length) {
      const { bytesWritten } = await fh.write(data, off, data.length - off);
      off += bytesWritten;
    }
    if (this.cfg.fsync === 'always') await fh.datasync();
    this.segmentBytes += data.length;
    if (this.segmentBytes >= this.cfg.maxSegmentBytes) await this.nextSegment();
  }

  private async nextSegment(): Promise<void> {
    const old = this.fh;
    this.fh = undefined;
    if (old) await old.close().catch(() => undefined);
    this.seq += 1;
    this.fh = await open(join(this.cfg.dir, segmentName(this.seq)), 'a', 0o600);
    this.segmentBytes = 0;
    if (this.cfg.fsync === 'always') await syncDir(this.cfg.dir);
    if (this.cfg.maxSegments > 0) await this.prune();
  }

  private async prune(): Promise<void> {
    const segs = await listSegments(this.cfg.dir);
    for (const s of segs.slice(0, Math.max(0, segs.length - this.cfg.maxSegments))) {
      if (s.seq !== this.seq) await rm(s.path, { force: true });
    }
  }

  /** Resolves when everything written so far is durable. */
  async flush(): Promise<void> {
    this.startFlush();
    while (this.flushing) await this.flushing;
  }

  /** Flushes what is pending, then closes; later writes reject with SHUTTING_DOWN. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    await this.fh?.close();
    this.fh = undefined;
  }

  /** The segment being written (for tests and `colo audit`). */
  get currentSegment(): string {
    return join(this.cfg.dir, segmentName(this.seq));
  }
}

/** fsync a directory so a newly created segment's entry survives a power loss. */
async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
