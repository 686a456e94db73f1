import { describe, expect, it } from 'vitest';
import type { HttpResponse } from 'uWebSockets.js';
import { SseWriter, type Guard } from '../../src/server/http';

/** Records what the writer does to a uWS response; `accept` says how many writes succeed. */
function fakeResponse(accept = Infinity) {
  const calls: string[] = [];
  let writable: ((offset: number) => boolean) | undefined;
  let writes = 0;
  const res = {
    cork(fn: () => void) {
      fn();
      return res;
    },
    writeStatus(s: string) {
      calls.push(`status ${s}`);
      return res;
    },
    writeHeader(k: string, v: string) {
      calls.push(`header ${k}: ${v}`);
      return res;
    },
    write(chunk: string) {
      calls.push(`write ${chunk}`);
      return ++writes <= accept;
    },
    end(chunk: string) {
      calls.push(`end ${chunk}`);
      return res;
    },
    onWritable(fn: (offset: number) => boolean) {
      writable = fn;
      return res;
    },
    close() {
      calls.push('close');
      return res;
    },
  };
  const g: Guard = { res: res as unknown as HttpResponse, done: false, aborted: false };
  return { g, calls, drain: () => writable?.(0) };
}

const nextTurn = () => new Promise((r) => setImmediate(r));
const writesOf = (calls: string[]) => calls.filter((c) => c.startsWith('write ') || c.startsWith('end '));

describe('SseWriter', () => {
  it('sends the events of one event-loop turn in one write, headers first', async () => {
    const { g, calls } = fakeResponse();
    const sse = new SseWriter(g);
    sse.event({ t: 'The' });
    sse.event({ t: ' market' });
    expect(writesOf(calls)).toEqual([]); // not yet: flushed after this turn's I/O
    expect(sse.committed).toBe(true); // an accepted event commits the stream
    await nextTurn();
    expect(calls[0]).toBe('status 200 OK');
    expect(writesOf(calls)).toEqual(['write data: {"t":"The"}\n\ndata: {"t":" market"}\n\n']);
    sse.event({ t: ' is' });
    await nextTurn();
    expect(writesOf(calls).at(-1)).toBe('write data: {"t":" is"}\n\n');
  });

  it('end() sends what is pending and [DONE] in one final write; nothing after it', async () => {
    const { g, calls } = fakeResponse();
    const sse = new SseWriter(g);
    sse.event({ t: 'up' });
    sse.end(true);
    await nextTurn();
    expect(writesOf(calls)).toEqual(['end data: {"t":"up"}\n\ndata: [DONE]\n\n']);
    sse.event({ t: 'late' });
    sse.end(true);
    await nextTurn();
    expect(writesOf(calls)).toHaveLength(1);
  });

  it('an error after events is an event and no [DONE]', async () => {
    const { g, calls } = fakeResponse();
    const sse = new SseWriter(g);
    sse.event({ t: 'The' });
    expect(sse.committed).toBe(true);
    sse.event({ error: { code: 'UPSTREAM_ERROR' } });
    sse.end(false);
    expect(writesOf(calls)).toEqual([
      'end data: {"t":"The"}\n\ndata: {"error":{"code":"UPSTREAM_ERROR"}}\n\n',
    ]);
  });

  it('under backpressure keeps later events, in order, until the socket drains', async () => {
    const { g, calls, drain } = fakeResponse(0); // the first write does not complete
    const sse = new SseWriter(g);
    sse.event({ n: 1 });
    await nextTurn();
    sse.event({ n: 2 });
    sse.event({ n: 3 });
    await nextTurn();
    expect(writesOf(calls)).toEqual(['write data: {"n":1}\n\n']);
    drain();
    expect(writesOf(calls).at(-1)).toBe('write data: {"n":2}\n\ndata: {"n":3}\n\n');
  });

  it('closes a client that stops reading once maxPending bytes wait', async () => {
    const { g, calls } = fakeResponse(0);
    let aborted = false;
    g.onAbort = () => (aborted = true);
    const sse = new SseWriter(g, 64);
    sse.event({ n: 1 });
    await nextTurn();
    sse.event({ pad: 'x'.repeat(100) });
    expect(calls).toContain('close');
    expect(aborted).toBe(true);
    expect(g.done).toBe(true);
  });

  it('writes nothing for a client that went away', async () => {
    const { g, calls } = fakeResponse();
    const sse = new SseWriter(g);
    sse.event({ t: 'The' });
    g.done = true; // aborted before the flush
    await nextTurn();
    expect(writesOf(calls)).toEqual([]);
  });
});
