/**
 * A news tape: one JSON object per line, `{"ts": ..., "text": "...", "ticker": "AAPL"}`.
 * `ts` is epoch milliseconds or an ISO-8601 string; `ticker` is optional (without it the
 * first $CASHTAG in the text is used, if any). Lines are returned in time order.
 */
import { readFile } from 'node:fs/promises';
import { ColoError } from '../core/errors';

export interface TapeEvent {
  /** Epoch milliseconds. */
  ts: number;
  text: string;
  ticker?: string | undefined;
}

export function parseTimestamp(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    if (Number.isFinite(n)) return n;
    const d = Date.parse(v);
    if (Number.isFinite(d)) return d;
  }
  return undefined;
}

const CASHTAG = /\$([A-Za-z][A-Za-z.]{0,9})\b/;

export function tickerOf(e: Pick<TapeEvent, 'text' | 'ticker'>): string | undefined {
  if (e.ticker) return e.ticker.toUpperCase();
  const m = CASHTAG.exec(e.text);
  return m ? (m[1] as string).toUpperCase() : undefined;
}

export function parseTape(src: string, name = 'tape'): TapeEvent[] {
  const events: TapeEvent[] = [];
  const lines = src.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    let obj: { ts?: unknown; text?: unknown; ticker?: unknown };
    try {
      obj = JSON.parse(line) as typeof obj;
    } catch {
      throw new ColoError('INVALID_ARGUMENT', `${name}:${i + 1}: not valid JSON`);
    }
    const ts = parseTimestamp(obj.ts);
    if (ts === undefined)
      throw new ColoError('INVALID_ARGUMENT', `${name}:${i + 1}: ts must be epoch ms or an ISO date`);
    if (typeof obj.text !== 'string' || obj.text.trim() === '') {
      throw new ColoError('INVALID_ARGUMENT', `${name}:${i + 1}: text must be a non-empty string`);
    }
    if (obj.ticker !== undefined && typeof obj.ticker !== 'string') {
      throw new ColoError('INVALID_ARGUMENT', `${name}:${i + 1}: ticker must be a string`);
    }
    events.push({ ts, text: obj.text, ticker: obj.ticker });
  }
  // Stable: equal timestamps keep file order.
  return events.sort((a, b) => a.ts - b.ts);
}

export async function readTape(path: string): Promise<TapeEvent[]> {
  let src: string;
  try {
    src = await readFile(path, 'utf8');
  } catch (err) {
    throw new ColoError('NOT_FOUND', `cannot read tape ${path}`, { cause: err });
  }
  return parseTape(src, path);
}
