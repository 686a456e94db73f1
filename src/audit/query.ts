/**
 * Reading the audit log back, for `colo audit` and tests. Segments are read whole,
 * newest first when the answer is newest first, and stop as soon as `limit` records
 * matched. Torn tails and corrupt lines are skipped and counted.
 */
import { readFile } from 'node:fs/promises';
import { decodeSegment } from './framing';
import type { AuditRecord, AuditStatus } from './record';
import { listSegments } from './segments';

export interface AuditQuery {
  /** Records at or after this time (Date, ISO string or epoch ms). */
  since?: Date | string | number | undefined;
  /** Records before this time. */
  until?: Date | string | number | undefined;
  tenant?: string | undefined;
  keyId?: string | undefined;
  status?: AuditStatus | undefined;
  /** Matches the requested model or the model that answered. */
  model?: string | undefined;
  /** Most records to return. Default 100; 0 means all. */
  limit?: number | undefined;
  /** 'desc' (newest first, default) or 'asc'. */
  order?: 'asc' | 'desc' | undefined;
}

export interface AuditQueryResult {
  records: AuditRecord[];
  /** Segments read. */
  segments: number;
  /** Lines skipped: CRC mismatch or unparsable. */
  corrupt: number;
  /** Segments that ended in a torn (partial) record. */
  tornTails: number;
}

const toMs = (t: Date | string | number | undefined): number | undefined =>
  t === undefined ? undefined : t instanceof Date ? t.getTime() : typeof t === 'number' ? t : Date.parse(t);

export async function queryAudit(dir: string, q: AuditQuery = {}): Promise<AuditQueryResult> {
  const since = toMs(q.since);
  const until = toMs(q.until);
  const limit = q.limit ?? 100;
  const desc = (q.order ?? 'desc') === 'desc';
  const match = (r: AuditRecord): boolean => {
    const t = Date.parse(r.ts);
    return (
      (since === undefined || t >= since) &&
      (until === undefined || t < until) &&
      (q.tenant === undefined || r.tenant === q.tenant) &&
      (q.keyId === undefined || r.keyId === q.keyId) &&
      (q.status === undefined || r.status === q.status) &&
      (q.model === undefined || r.model === q.model || r.route?.model === q.model)
    );
  };
  const segs = await listSegments(dir);
  if (desc) segs.reverse();
  const out: AuditQueryResult = { records: [], segments: 0, corrupt: 0, tornTails: 0 };
  for (const s of segs) {
    let data: Buffer;
    try {
      data = await readFile(s.path);
    } catch (err) {
      // Pruned between listing and reading.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const dec = decodeSegment<AuditRecord>(data);
    out.segments++;
    out.corrupt += dec.corrupt;
    if (dec.tornTail) out.tornTails++;
    const recs = desc ? dec.records.reverse() : dec.records;
    for (const r of recs) {
      if (!match(r)) continue;
      out.records.push(r);
      if (limit > 0 && out.records.length >= limit) return out;
    }
  }
  return out;
}
