/** Price series for event studies: CSV `ts,ticker,price` (ts epoch ms or ISO), as-of lookups. */
import { readFile } from 'node:fs/promises';
import { ColoError } from '../core/errors';
import { parseCsv } from '../classifier/csv';
import { parseTimestamp } from './tape';

export interface PriceSeries {
  /** Ascending epoch ms. */
  ts: Float64Array;
  price: Float64Array;
}

export type PriceBook = Map<string, PriceSeries>;

export function parsePrices(src: string, name = 'prices'): PriceBook {
  const rows = parseCsv(src);
  const header = rows.shift()?.fields.map((f) => f.trim().toLowerCase()) ?? [];
  const [iTs, iTicker, iPrice] = ['ts', 'ticker', 'price'].map((c) => header.indexOf(c));
  if (
    iTs === undefined ||
    iTicker === undefined ||
    iPrice === undefined ||
    iTs < 0 ||
    iTicker < 0 ||
    iPrice < 0
  ) {
    throw new ColoError('INVALID_ARGUMENT', `${name}: header must name columns ts, ticker, price`);
  }
  const byTicker = new Map<string, { ts: number; price: number }[]>();
  for (const { fields, line } of rows) {
    const ts = parseTimestamp(fields[iTs]);
    const ticker = fields[iTicker]?.trim().toUpperCase();
    const price = Number(fields[iPrice]);
    if (ts === undefined || !ticker || !Number.isFinite(price) || price <= 0) {
      throw new ColoError('INVALID_ARGUMENT', `${name}:${line}: expected ts, ticker and a positive price`);
    }
    let list = byTicker.get(ticker);
    if (!list) byTicker.set(ticker, (list = []));
    list.push({ ts, price });
  }
  const book: PriceBook = new Map();
  for (const [ticker, list] of byTicker) {
    list.sort((a, b) => a.ts - b.ts);
    book.set(ticker, {
      ts: Float64Array.from(list, (p) => p.ts),
      price: Float64Array.from(list, (p) => p.price),
    });
  }
  return book;
}

export async function readPrices(path: string): Promise<PriceBook> {
  let src: string;
  try {
    src = await readFile(path, 'utf8');
  } catch (err) {
    throw new ColoError('NOT_FOUND', `cannot read prices ${path}`, { cause: err });
  }
  return parsePrices(src, path);
}

/** Index of the last point with ts <= t, or -1. */
export function asOf(s: PriceSeries, t: number): number {
  let lo = 0;
  let hi = s.ts.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if ((s.ts[mid] as number) <= t) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

/** Index of the first point with ts >= t, or -1. */
export function firstAtOrAfter(s: PriceSeries, t: number): number {
  const i = asOf(s, t);
  if (i >= 0 && s.ts[i] === t) return i;
  return i + 1 < s.ts.length ? i + 1 : -1;
}
