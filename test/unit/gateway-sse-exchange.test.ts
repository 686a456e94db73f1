/**
 * The exchanges' handlers (src/gateway/providers/http.ts), driven the way undici's
 * dispatcher drives them: back-pressure on a caller that reads slowly, stopping an
 * answer the caller left, and a cancel mid-stream.
 */
import { describe, expect, it } from 'vitest';
import { Cancel } from '../../src/core/cancel';
import { JsonExchange, SseExchange } from '../../src/gateway/providers/http';
import type { ProviderCall, ProviderChunk } from '../../src/gateway/providers/types';

function exchange(signal = new Cancel()) {
  const call: ProviderCall = {
    target: {
      name: 't',
      baseUrl: 'http://127.0.0.1:1/v1',
      model: 'm',
      apiKey: undefined,
      headers: {},
      endpoint: 'chat',
      stream: true,
      streamUsage: false,
    },
    http: null,
    signal,
  };
  // One text chunk per `data:` event; `[DONE]` is the terminator.
  const x = new SseExchange(call, (ev, out: ProviderChunk[]) => {
    if (ev.data === '[DONE]') return true;
    out.push({ kind: 'text', text: ev.data });
    return false;
  });
  const aborted: Error[] = [];
  x.onConnect((err) => aborted.push(err ?? new Error('abort')));
  let resumed = 0;
  x.onHeaders(200, [], () => resumed++);
  return { x, aborted, resumed: () => resumed };
}

const event = (text: string) => Buffer.from(`data: ${text}\n\n`);

describe('SseExchange', () => {
  it('pauses the socket while the caller has 256 chunks unread, and resumes it when they are taken', async () => {
    const { x, resumed } = exchange();
    await x.opened;
    const answers: boolean[] = [];
    for (let i = 0; i < 300; i++) answers.push(x.onData(event(`t${i}`)));
    // Every chunk is kept; from the 256th on the handler asks undici to pause.
    expect(answers.slice(0, 255).every(Boolean)).toBe(true);
    expect(answers.slice(255).every((a) => a === false)).toBe(true);
    const taken = x.take();
    expect(taken).toHaveLength(300);
    expect(taken[0]).toEqual({ kind: 'text', text: 't0' });
    expect(taken[299]).toEqual({ kind: 'text', text: 't299' });
    expect(resumed()).toBe(1);
    // Nothing queued: nothing to resume.
    expect(x.take()).toHaveLength(0);
    expect(resumed()).toBe(1);
  });

  it('wakes a waiting reader on data and at the end, and drops what follows the terminator', async () => {
    const { x } = exchange();
    const first = x.more();
    x.onData(event('a'));
    await first;
    expect(x.take()).toEqual([{ kind: 'text', text: 'a' }]);
    x.onData(Buffer.concat([event('[DONE]'), event('after')]));
    expect(x.take()).toEqual([]);
    const end = x.more();
    x.onComplete();
    await end;
    expect(x.complete).toBe(true);
    expect(x.failure).toBeUndefined();
  });

  it('aborts the request when the caller stops reading before the body ended, not after', () => {
    const left = exchange();
    left.x.onData(event('a'));
    left.x.stop();
    expect(left.aborted).toHaveLength(1);
    const done = exchange();
    done.x.onComplete();
    done.x.stop();
    expect(done.aborted).toHaveLength(0);
  });

  it('a cancel mid-stream aborts the request and fails the exchange with its reason', async () => {
    const cancel = new Cancel();
    const { x, aborted } = exchange(cancel);
    x.onData(event('a'));
    const reason = new Error('client gone');
    cancel.abort(reason);
    expect(aborted).toEqual([reason]);
    x.onError(reason); // what undici does after an abort
    expect(x.failure).toBe(reason);
    // What came before the cancel is still there to take.
    expect(x.take()).toEqual([{ kind: 'text', text: 'a' }]);
  });

  it('a broken SSE line is a non-transient UPSTREAM_ERROR and ends the request', () => {
    const { x, aborted } = exchange();
    x.onData(Buffer.from(`data: ${'x'.repeat(2_000_000)}`));
    expect(x.failure).toMatchObject({ code: 'UPSTREAM_ERROR', transient: false });
    expect(aborted).toHaveLength(1);
  });

  it('a JSON exchange the caller leaves before its body ended aborts the request; one that ended does not', async () => {
    const mk = () => {
      const call = { target: { name: 't', apiKey: undefined }, http: null, signal: new Cancel() };
      const x = new JsonExchange(call as unknown as ConstructorParameters<typeof JsonExchange>[0]);
      const aborted: unknown[] = [];
      x.onConnect((err) => aborted.push(err));
      x.onHeaders(200, [], () => undefined);
      return { x, aborted };
    };
    const left = mk();
    await left.x.opened;
    left.x.onData(Buffer.from('{"a":'));
    left.x.stop();
    expect(left.aborted).toHaveLength(1);
    const done = mk();
    done.x.onData(Buffer.from('{"a":1}'));
    done.x.onComplete();
    await expect(done.x.json).resolves.toEqual({ a: 1 });
    done.x.stop();
    expect(done.aborted).toHaveLength(0);
  });
});
