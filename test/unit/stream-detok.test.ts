import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { Token } from 'node-llama-cpp';
import { StreamDetokenizer, type Detokenizer } from '../../src/engine/detok';
import { Outbox } from '../../src/engine/outbox';
import type { WorkerPortMessage } from '../../src/engine/messages';

/** A byte-level vocabulary: token n is the byte n; 300 is a special token with no text. */
const bytes: Detokenizer = {
  detokenize: (tokens) =>
    new TextDecoder().decode(Uint8Array.from(tokens.filter((t) => (t as number) < 256) as number[])),
  isSpecialToken: (t) => t === 300,
};
const toTokens = (s: string): Token[] => [...new TextEncoder().encode(s)] as Token[];

describe('StreamDetokenizer', () => {
  it('never splits a multi-byte UTF-8 character across chunks, and the chunks join to the text', () => {
    const text = 'price €12 → 🚀 naïve';
    const d = new StreamDetokenizer(bytes);
    const chunks = toTokens(text).map((t) => d.push(t));
    chunks.push(d.flush());
    expect(chunks.join('')).toBe(text);
    for (const c of chunks) expect(c).not.toContain('\uFFFD');
    // The euro sign's three bytes come out together, as one chunk.
    expect(chunks).toContain('€');
    expect(d.count).toBe(toTokens(text).length);
  });

  it('gives up holding after four tokens of invalid bytes: U+FFFD is then the honest text', () => {
    const d = new StreamDetokenizer(bytes);
    const out = [0xff, 0xff, 0xff, 0xff, 0x41].map((t) => d.push(t as Token)).join('') + d.flush();
    expect(out.endsWith('A')).toBe(true);
    expect(out).toContain('\uFFFD');
  });

  it('flushes bytes still held when generation ends', () => {
    const d = new StreamDetokenizer(bytes);
    expect(d.push(0xe2 as Token)).toBe('');
    expect(d.flush()).toBe('\uFFFD');
  });
});

describe('Outbox (worker side of the port)', () => {
  async function collect(send: (o: Outbox) => void): Promise<WorkerPortMessage[]> {
    const { port1, port2 } = new MessageChannel();
    const got: WorkerPortMessage[] = [];
    const done = new Promise<void>((resolve) =>
      port1.on('message', (m: WorkerPortMessage) => {
        got.push(m);
        if (typeof m === 'object' && (m.type === 'done' || m.type === 'error')) resolve();
      }),
    );
    send(new Outbox(port2, 7));
    await done;
    port1.close();
    return got;
  }
  const stats = { prefillTokens: 1, prefillMs: 0, decodeMs: 0, batch: 1 };

  it('sends the first text at once with the prompt count, merges text of one tick into one message', async () => {
    const got = await collect((o) => {
      o.push('Once');
      o.push(' upon');
      o.push(' a');
      queueMicrotask(() => {
        o.push(' time');
        setImmediate(() =>
          o.end({ type: 'done', finishReason: 'stop', promptTokens: 7, completionTokens: 4, stats }),
        );
      });
    });
    expect(got[0]).toEqual({ type: 'first', text: 'Once', promptTokens: 7 });
    expect(got[1]).toBe(' upon a');
    expect(got[2]).toBe(' time');
    expect(got[3]).toMatchObject({ type: 'done', text: '' });
    expect(got).toHaveLength(4);
  });

  it('carries the last text on the final message; text is identical to the unbatched stream', async () => {
    const pieces = ['A', 'b', 'c', 'd', 'é', '€'];
    const got = await collect((o) => {
      for (const p of pieces) o.push(p);
      o.end({ type: 'done', finishReason: 'length', promptTokens: 7, completionTokens: 6, stats });
    });
    expect(got).toHaveLength(2);
    const text = got
      .map((m) => (typeof m === 'string' ? m : m.type === 'first' || m.type === 'done' ? m.text : ''))
      .join('');
    expect(text).toBe(pieces.join(''));
  });

  it('flushes buffered text before an error, and drops text pushed after the end', async () => {
    const got = await collect((o) => {
      o.push('x');
      o.push('y');
      o.end({
        type: 'error',
        error: { code: 'INTERNAL', message: 'boom' },
        promptTokens: 7,
        completionTokens: 2,
      });
      o.push('late');
    });
    expect(got.map((m) => (typeof m === 'string' ? m : m.type))).toEqual(['first', 'y', 'error']);
  });
});
