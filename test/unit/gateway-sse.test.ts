import { describe, expect, it } from 'vitest';
import { SseParser, SseProtocolError, sseEvents } from '../../src/gateway/providers/sse';

const parseAll = (chunks: (string | Uint8Array)[]) => {
  const p = new SseParser();
  const out = chunks.flatMap((c) => p.push(c));
  p.end();
  return out.map((e) => ({ event: e.event, data: e.data }));
};

describe('SseParser (WHATWG event stream)', () => {
  const stream = 'event: a\ndata: one\n\n: comment\ndata: two\ndata: lines\n\ndata:no-space\n\n';
  const expected = [
    { event: 'a', data: 'one' },
    { event: 'message', data: 'two\nlines' },
    { event: 'message', data: 'no-space' },
  ];

  it('parses event types, multi-line data, comments and the optional space', () => {
    expect(parseAll([stream])).toEqual(expected);
  });

  it('gives the same events whatever the chunk boundaries', () => {
    for (let size = 1; size <= 7; size++) {
      const chunks: string[] = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(stream.slice(i, i + size));
      expect(parseAll(chunks)).toEqual(expected);
    }
  });

  it('accepts CRLF, lone CR and lone LF line endings, even with CR and LF in different chunks', () => {
    expect(parseAll(['data: x\r\n\r\ndata: y\r\rdata: z\n\n'])).toEqual([
      { event: 'message', data: 'x' },
      { event: 'message', data: 'y' },
      { event: 'message', data: 'z' },
    ]);
    // CR at the end of one chunk, LF at the start of the next: one line break, not two.
    expect(parseAll(['data: a\r', '\ndata: b\r', '\n\r', '\n'])).toEqual([
      { event: 'message', data: 'a\nb' },
    ]);
  });

  it('decodes UTF-8 split inside a multi-byte sequence and strips one leading BOM', () => {
    const bytes = new TextEncoder().encode('\uFEFFdata: café ☕\n\n');
    const chunks = [...bytes].map((b) => new Uint8Array([b]));
    expect(parseAll(chunks)).toEqual([{ event: 'message', data: 'café ☕' }]);
  });

  it('dispatches an empty data field, ignores events without data, and drops an unterminated last event', () => {
    expect(parseAll(['data\n\nevent: only-type\n\ndata: tail'])).toEqual([{ event: 'message', data: '' }]);
  });

  it('tracks id (ignoring ids with NULL) and numeric retry', () => {
    const p = new SseParser();
    const ev = p.push('id: 7\nretry: 1500\nretry: x\ndata: a\n\nid: bad\u0000\ndata: b\n\n');
    expect(ev.map((e) => e.id)).toEqual(['7', '7']);
    expect(p.reconnectionTimeMs).toBe(1500);
  });

  it('sseEvents yields from an async byte stream', async () => {
    async function* body() {
      yield new TextEncoder().encode('data: {"a"');
      yield new TextEncoder().encode(':1}\n');
      yield new TextEncoder().encode('\n');
    }
    const got: string[] = [];
    for await (const e of sseEvents(body())) got.push(e.data);
    expect(got).toEqual(['{"a":1}']);
  });

  it('joins a line split across many chunks exactly once (an 8 MB line in 64 KiB pieces)', () => {
    const p = new SseParser({ maxLineChars: 16 << 20 });
    const piece = 'x'.repeat(64 << 10);
    expect(p.push('data: ')).toEqual([]);
    for (let i = 0; i < 128; i++) expect(p.push(piece)).toEqual([]);
    const ev = p.push('\n\n');
    expect(ev).toHaveLength(1);
    expect(ev[0]!.data.length).toBe(8 << 20);
  });

  it('throws SseProtocolError past the line cap, before the line ends, and on oversize event data', () => {
    const p = new SseParser({ maxLineChars: 1024 });
    expect(() => p.push('data: ' + 'x'.repeat(1018))).not.toThrow(); // 1024 chars: at the cap, not past it
    const q = new SseParser({ maxLineChars: 1024 });
    q.push('data: ' + 'x'.repeat(1000));
    expect(() => q.push('y'.repeat(100))).toThrow(SseProtocolError);
    expect(() => new SseParser({ maxLineChars: 1024 }).push('data: ' + 'x'.repeat(2000) + '\n')).toThrow(
      /SSE line longer than 1024 characters/,
    );
    // Many short data lines without a blank line: the event's data is capped too.
    const r = new SseParser({ maxLineChars: 1024 });
    expect(() => r.push('data: 0123456789\n'.repeat(200))).toThrow(/SSE event data longer than 1024/);
    // Under the cap nothing changes.
    expect(new SseParser({ maxLineChars: 1024 }).push('data: ok\n\n')).toEqual([
      { event: 'message', data: 'ok', id: '' },
    ]);
  });
});
