/**
 * On-disk framing: one record per line, `<crc32 of the JSON, 8 hex> <JSON>\n`. JSON
 * never holds a raw newline, so lines are records. A line without its newline (a torn
 * tail after a crash) or whose CRC does not match is skipped on read and counted, and
 * reading resumes at the next newline.
 */
import { crc32 } from 'node:zlib';

/** A record framed in its own buffer (safe to keep). */
export function encodeRecord(record: object): Buffer {
  return Buffer.from(frameRecord(record));
}

let scratch = Buffer.allocUnsafe(16 * 1024);

/**
 * A record framed in a scratch buffer shared by every call: valid only until the next
 * call (the synchronous audit write uses it at once; no allocation per record).
 */
export function frameRecord(record: object): Buffer {
  const json = JSON.stringify(record);
  // UTF-8 needs at most 3 bytes per UTF-16 code unit; + 9 for the CRC and space, + 1 newline.
  const need = json.length * 3 + 10;
  if (scratch.length < need) scratch = Buffer.allocUnsafe(Math.max(need, scratch.length * 2));
  const n = scratch.write(json, 9, 'utf8');
  scratch.write(
    crc32(scratch.subarray(9, 9 + n))
      .toString(16)
      .padStart(8, '0'),
    0,
    'latin1',
  );
  scratch[8] = 0x20;
  scratch[9 + n] = 0x0a;
  return scratch.subarray(0, 10 + n);
}

export interface DecodeResult<T> {
  records: T[];
  /** Lines that failed the CRC or did not parse (not counting a torn tail). */
  corrupt: number;
  /** Whether the data ended in a partial line (e.g. a write cut short by a crash). */
  tornTail: boolean;
}

export function decodeSegment<T>(data: Buffer): DecodeResult<T> {
  const records: T[] = [];
  let corrupt = 0;
  let at = 0;
  while (at < data.length) {
    const nl = data.indexOf(10, at);
    if (nl < 0) return { records, corrupt, tornTail: true };
    const line = data.subarray(at, nl);
    at = nl + 1;
    if (line.length < 10 || line[8] !== 0x20) {
      corrupt++;
      continue;
    }
    const crc = Number.parseInt(line.subarray(0, 8).toString('latin1'), 16);
    const json = line.subarray(9);
    if (!Number.isFinite(crc) || crc32(json) !== crc) {
      corrupt++;
      continue;
    }
    try {
      records.push(JSON.parse(json.toString('utf8')) as T);
    } catch {
      corrupt++;
    }
  }
  return { records, corrupt, tornTail: false };
}
