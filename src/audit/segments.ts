/** Segment files: `audit-<8-digit sequence>.log` in one directory, in write order. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

const SEGMENT_RE = /^audit-(\d{8})\.log$/;

export const segmentName = (seq: number): string => `audit-${String(seq).padStart(8, '0')}.log`;

/** Segment paths with their sequence numbers, oldest first. A missing dir has none. */
export async function listSegments(dir: string): Promise<{ seq: number; path: string }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: { seq: number; path: string }[] = [];
  for (const n of names) {
    const m = SEGMENT_RE.exec(n);
    if (m) out.push({ seq: Number(m[1]), path: join(dir, n) });
  }
  return out.sort((a, b) => a.seq - b.seq);
}
