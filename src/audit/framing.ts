/**
 * On-disk framing: one record per line, `<crc32 of the JSON, 8 hex> <JSON>\n`. JSON
 * never holds a raw newline, so lines are records. A line without its newline (a torn
 * tail after a crash) or whose CRC does not match is skipped on read and counted, and
 * reading resumes at the next newline.
 */
import { crc32 } from 'node:zlib';

/** One record as its line, a string (written with one write(2); its UTF-8 bytes are the frame). */
export function encodeLine(record: object): string {
  const json = JSON.stringify(record);
  // zlib.crc32 of a string is the CRC of its UTF-8 bytes, the bytes written.
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

export function encodeRecord(record: object): Buffer {
  return Buffer.from(encodeLine(record), 'utf8');
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
