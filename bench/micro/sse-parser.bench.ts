/**
 * The gateway's SSE parser on the two shapes that matter: a normal token stream (200
 * small events, the hot path) and one 8 MB line in 64 KiB chunks (issue 10 item 13: the
 * old parser rescanned and recopied its buffer on every chunk). The baseline is the
 * old algorithm (buffer + text, rescanned from 0), copied here, run in the same process.
 *
 *   BENCH_QUICK=1 node bench/lib/run.mjs bench/micro/sse-parser.bench.ts
 */
import { SseParser } from '../../src/gateway/providers/sse';
import { runMicro } from '../lib';

/** The pre-fix line splitter (events are not built: it only finds lines, like before). */
class OldSplitter {
  private buffer = '';
  lines = 0;
  push(text: string): void {
    const buf = this.buffer + text;
    let start = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (c !== 0x0a && c !== 0x0d) continue;
      buf.slice(start, i);
      this.lines++;
      start = i + 1;
    }
    this.buffer = buf.slice(start);
  }
}

const piece = 'x'.repeat(64 << 10);
const LONG_CHUNKS = 128; // 8 MiB
const tokens = Array.from(
  { length: 200 },
  (_, i) => `data: {"id":"c","choices":[{"index":0,"delta":{"content":" tok${i}"}}]}\n\n`,
);

function longNew(): number {
  const p = new SseParser({ maxLineChars: 16 << 20 });
  p.push('data: ');
  for (let i = 0; i < LONG_CHUNKS; i++) p.push(piece);
  return p.push('\n\n').length;
}
function longOld(): number {
  const p = new OldSplitter();
  p.push('data: ');
  for (let i = 0; i < LONG_CHUNKS; i++) p.push(piece);
  p.push('\n\n');
  return p.lines;
}
function streamNew(): number {
  const p = new SseParser();
  let n = 0;
  for (const t of tokens) n += p.push(t).length;
  return n;
}

await runMicro(
  'sse-parser',
  [
    { name: '8 MiB line in 64 KiB chunks, new (linear)', fn: longNew },
    { name: '8 MiB line in 64 KiB chunks, old (baseline)', fn: longOld },
    { name: '200 token events, new', fn: streamNew },
  ],
  {
    time: 2000,
    iterations: 8,
    check: () => {
      if (longNew() !== 1) throw new Error('new parser: expected one event');
      if (longOld() !== 2) throw new Error('old splitter: expected two lines');
      if (streamNew() !== 200) throw new Error('expected 200 events');
    },
    meta: { lineBytes: LONG_CHUNKS * piece.length, chunkBytes: piece.length },
  },
);
