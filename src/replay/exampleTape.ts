/**
 * Generates a small deterministic example: a news tape built from real labelled headlines
 * (valid.csv rows that carry a $CASHTAG) with synthetic timestamps, plus a synthetic price
 * file for their tickers. Prices are a seeded random walk with a planted drift after each
 * bullish/bearish headline (following its true label), so a good classifier shows a
 * positive event study. That is a property of the generator, not evidence of alpha.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readLabelledCsv } from '../classifier/csv';
import { mulberry32, shuffle } from '../classifier/prng';
import { tickerOf } from './tape';

export interface ExampleOptions {
  /** valid.csv path (text,label). */
  validCsv: string;
  /** Output directory; gets tape.jsonl and prices.csv. */
  outDir: string;
  /** Headlines in the tape. Default 120. */
  events?: number;
  /** Default 7. */
  seed?: number;
  /** Tape start, epoch ms. Default 2024-01-02T14:30:00Z. */
  startMs?: number;
  /** Planted move after a directional headline, bps. Default 25. */
  driftBps?: number;
}

const STEP_MS = 15_000;
const DRIFT_MS = 300_000;

export async function writeExampleTape(
  opts: ExampleOptions,
): Promise<{ tape: string; prices: string; events: number; priceRows: number }> {
  const rand = mulberry32(opts.seed ?? 7);
  const rows = (await readLabelledCsv(opts.validCsv, 3)).filter(
    (r) => tickerOf({ text: r.text }) !== undefined,
  );
  shuffle(rows, rand);
  const picked = rows.slice(0, opts.events ?? 120);
  let t = opts.startMs ?? Date.UTC(2024, 0, 2, 14, 30);
  const tape = picked.map((r) => {
    t += 5_000 + Math.floor(rand() * 55_000);
    return { ts: t, text: r.text, ticker: tickerOf({ text: r.text }) as string, label: r.label };
  });

  const drift = opts.driftBps ?? 25;
  const byTicker = new Map<string, typeof tape>();
  for (const e of tape) {
    let list = byTicker.get(e.ticker);
    if (!list) byTicker.set(e.ticker, (list = []));
    list.push(e);
  }
  const priceLines = ['ts,ticker,price'];
  for (const ticker of [...byTicker.keys()].sort()) {
    const events = byTicker.get(ticker)!;
    const from = Math.floor((events[0]!.ts - 60_000) / STEP_MS) * STEP_MS;
    const to = events[events.length - 1]!.ts + 31 * 60_000;
    let logPrice = Math.log(20 + rand() * 180);
    for (let ts = from; ts <= to; ts += STEP_MS) {
      // Noise ~2 bps per step plus the planted drift of every headline active now.
      logPrice += (rand() - 0.5) * 2 * 0.0002 * Math.sqrt(3);
      for (const e of events) {
        const dir = e.label === 1 ? 1 : e.label === 0 ? -1 : 0;
        if (dir !== 0 && ts > e.ts && ts <= e.ts + DRIFT_MS)
          logPrice += (dir * drift * 1e-4 * STEP_MS) / DRIFT_MS;
      }
      priceLines.push(`${ts},${ticker},${Math.exp(logPrice).toFixed(4)}`);
    }
  }
  await mkdir(opts.outDir, { recursive: true });
  const tapePath = join(opts.outDir, 'tape.jsonl');
  const pricesPath = join(opts.outDir, 'prices.csv');
  await writeFile(tapePath, tape.map((e) => JSON.stringify(e)).join('\n') + '\n');
  await writeFile(pricesPath, priceLines.join('\n') + '\n');
  return { tape: tapePath, prices: pricesPath, events: tape.length, priceRows: priceLines.length - 1 };
}
