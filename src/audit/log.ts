/**
 * The audit writer: an append-only log.
 *
 * fsync 'background' (default) and 'never': `write(record)` appends the framed record
 * with one synchronous write(2) on the calling thread and returns undefined: the record
 * is then in the page cache, which outlives a crash of this process, so the answer may
 * go out at once. 'background' then fdatasyncs on libuv's pool within `fsyncWindowMs`
 * (or at `fsyncBatchRecords` records), one fdatasync for the whole group, and publishes
 * the commit lag on `colo:audit:commit`. A small append to the page cache costs a few
 * microseconds; waiting for an fdatasync per answer cost ~0.5 ms (bench/README.md).
 *
 * fsync 'always' is group commit with the ack after the disk:
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
import { channel } from 'node:diagnostics_channel';
import { closeSync, fdatasync, openSync, writeSync } from 'node:fs';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ColoError } from '../core/errors';
import type { AuditConfig } from './config';
import { encodeLine, encodeRecord } from './framing';
import {
  buildAuditRecord,
  SecretScrubber,
  type AuditInput,
  type AuditRecord,
  type ContentMasker,
} from './record';
import { listSegments, segmentName } from './segments';

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** One background group commit: how many records it made durable and how long the oldest waited. */
export interface AuditCommitEvent {
  records: number;
  lagMs: number;
}
/** Published after every background fdatasync (src/metrics subscribes). */
export const auditCommit = channel('colo:audit:commit');

export interface AuditLogOptions {
  /** Literal secrets (provider keys) that must never appear in a record. Default []. */
  secrets?: readonly string[];
  /**
   * Masks kept text (src/redact's `Redactor`). Required with content 'full': open()
   * refuses without it rather than write unmasked text. Default none.
   */
  masker?: ContentMasker | undefined;
}

export class AuditLog {
  private fh: FileHandle | undefined;
  /** Segment fd for the synchronous modes ('background', 'never'). */
  private fd = -1;
  private unsynced = 0;
  private unsyncedSince = 0;
  private syncTimer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  /** Background fdatasyncs done, and the lag of the last one in ms. */
  fsyncs = 0;
  lastCommitLagMs = 0;
  private seq = 0;
  private segmentBytes = 0;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  /** performance.now() of the oldest record in `batch`, for the commit-lag event. */
  private batchSince = 0;
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private readonly scrubber: SecretScrubber;
  private readonly masker: ContentMasker | undefined;
  /** Records written since open (acknowledged). */
  written = 0;
  /** Batches written since open: one write + one fdatasync each. */
  batches = 0;

  private constructor(
    private readonly cfg: AuditConfig,
    opts: AuditLogOptions,
  ) {
    this.scrubber = new SecretScrubber(opts.secrets);
    this.masker = opts.masker;
  }

  static async open(cfg: AuditConfig, opts: AuditLogOptions = {}): Promise<AuditLog> {
    if (cfg.content === 'full' && !opts.masker)
      throw new ColoError(
        'INVALID_ARGUMENT',
        "audit.content 'full' keeps text masked by redaction and needs a masker; use 'raw' to keep it as sent",
        { field: 'audit.content' },
      );
    const log = new AuditLog(cfg, opts);
    await mkdir(cfg.dir, { recursive: true });
    const segs = await listSegments(cfg.dir);
    log.seq = segs.length > 0 ? segs[segs.length - 1]!.seq : 0;
    await log.nextSegment();
    return log;
  }

  private get synchronous(): boolean {
    return this.cfg.fsync !== 'always';
  }

  /** Builds the record for a finished request (content policy, scrubbing) and writes it. */
  record(input: AuditInput): Promise<void> | undefined {
    return this.write(buildAuditRecord(input, this.cfg, this.scrubber, this.masker));
  }

  /**
   * Writes one record. Returns undefined when it is already written (the synchronous
   * modes; throws if it could not be), else a promise that resolves once the record
   * is durable ('always').
   */
  write(record: AuditRecord | object): Promise<void> | undefined {
    if (this.closed) {
      const e = new ColoError('SHUTTING_DOWN', 'audit log is closed');
      if (this.synchronous) throw e;
      return Promise.reject(e);
    }
    if (this.synchronous) {
      this.writeNow(encodeLine(record));
      return undefined;
    }
    if (this.waiters.length >= this.cfg.maxPendingRecords) {
      return Promise.reject(new ColoError('OVERLOADED', 'audit log backlog full (disk stalled?)'));
    }
    const buf = encodeRecord(record);
    return new Promise<void>((resolve, reject) => {
      if (this.batch.length === 0) this.batchSince = performance.now();
      this.batch.push(buf);
      this.batchBytes += buf.length;
      this.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  /** One write(2) of the line (Node encodes the string straight into the call); a short write finishes from bytes. */
  private writeNow(line: string): void {
    let bytes: number;
    try {
      bytes = writeSync(this.fd, line);
      const size = Buffer.byteLength(line);
      if (bytes < size) {
        const buf = Buffer.from(line, 'utf8');
        while (bytes < size) bytes += writeSync(this.fd, buf, bytes, size - bytes);
      }
    } catch (err) {
      throw new ColoError('INTERNAL', 'audit write failed', { cause: err });
    }
    this.written++;
    this.segmentBytes += bytes;
    if (this.cfg.fsync === 'background') {
      if (this.unsynced++ === 0) this.unsyncedSince = performance.now();
      this.scheduleSync();
    }
    if (this.segmentBytes >= this.cfg.maxSegmentBytes) this.rotateSync();
  }

  private scheduleSync(): void {
    if (this.syncing) return; // the running commit reschedules when it ends
    if (this.unsynced >= this.cfg.fsyncBatchRecords) this.startSync();
    else if (!this.syncTimer) this.syncTimer = setTimeout(() => this.startSync(), this.cfg.fsyncWindowMs);
  }

  private startSync(): void {
    if (this.syncTimer) {
      clearTimeout(this.syncTimer);
      this.syncTimer = undefined;
    }
    if (this.syncing || this.unsynced === 0 || this.fd < 0) return;
    const records = this.unsynced;
    const since = this.unsyncedSince;
    this.unsynced = 0;
    const fd = this.fd;
    this.syncing = new Promise<void>((resolve) => {
      fdatasync(fd, (err) => {
        if (!err) {
          this.fsyncs++;
          this.lastCommitLagMs = performance.now() - since;
          if (auditCommit.hasSubscribers)
            auditCommit.publish({ records, lagMs: this.lastCommitLagMs } satisfies AuditCommitEvent);
        }
        resolve();
      });
    }).finally(() => {
      this.syncing = undefined;
      if (this.unsynced > 0) this.scheduleSync();
    });
  }

  /** Synchronous modes: the next segment; the old one is fdatasynced and closed off-thread. */
  private rotateSync(): void {
    const old = this.fd;
    const pending = this.unsynced > 0 || this.cfg.fsync === 'background';
    this.unsynced = 0;
    this.seq += 1;
    this.fd = openSync(join(this.cfg.dir, segmentName(this.seq)), 'a', 0o600);
    this.segmentBytes = 0;
    const closeOld = () => closeSync(old);
    if (pending) fdatasync(old, closeOld);
    else closeOld();
    void this.afterNewSegment().catch(() => undefined);
  }

  private async afterNewSegment(): Promise<void> {
    if (this.cfg.fsync !== 'never') await syncDir(this.cfg.dir);
    if (this.cfg.maxSegments > 0) await this.prune();
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
      const since = this.batchSince;
      this.batch = [];
      this.batchBytes = 0;
      this.waiters = [];
      try {
        await this.append(data);
        this.written += waiters.length;
        this.batches++;
        publishCommit(waiters.length, data.length, since, true);
        for (const w of waiters) w.resolve();
      } catch (err) {
        publishCommit(waiters.length, data.length, since, false);
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
    if (this.synchronous) {
      this.seq += 1;
      this.fd = openSync(join(this.cfg.dir, segmentName(this.seq)), 'a', 0o600);
      this.segmentBytes = 0;
      await this.afterNewSegment();
      return;
    }
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

  /** Resolves when everything written so far is durable (fdatasynced, except with fsync 'never'). */
  async flush(): Promise<void> {
    if (this.synchronous) {
      if (this.cfg.fsync === 'never') return;
      this.startSync();
      while (this.syncing) await this.syncing;
      return;
    }
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
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** The segment being written (for tests and `colo audit`). */
  get currentSegment(): string {
    return join(this.cfg.dir, segmentName(this.seq));
  }
}

/** fsync 'always': one batch is durable (ok) or failed; same channel as the background commits. */
function publishCommit(records: number, bytes: number, since: number, ok: boolean): void {
  if (auditCommit.hasSubscribers)
    auditCommit.publish({ records, bytes, lagMs: performance.now() - since, ok });
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
