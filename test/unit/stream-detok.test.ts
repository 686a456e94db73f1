import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import type { Token } from 'node-llama-cpp';
import { StreamDetokenizer, type Detokenizer } from '../../src/engine/detok';
import { Outbox } from '../../src/engine/outbox';
import type { GenerateTask, LaneBatch, WorkerPortMessage } from '../../src/engine/messages';
import { serveLane } from '../../src/engine/lane';

const request = (id: number): GenerateTask => ({
  kind: 'generate',
  id,
  prompt: 'x',
  sampling: { maxTokens: 4, temperature: 0, topP: 1, stop: [] },
  priority: 0,
});

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

describe('Outbox (worker side of a request, on the lane)', () => {
  /** Runs `send` as request 1 on a real lane (serveLane on one end of a channel) and collects its messages. */
  async function collect(send: (o: Outbox) => void): Promise<WorkerPortMessage[]> {
    const { port1, port2 } = new MessageChannel();
    const got: WorkerPortMessage[] = [];
    const done = new Promise<void>((resolve) =>
      port1.on('message', (batch: LaneBatch | { kind: 'hello' }) => {
        if (!Array.isArray(batch)) return;
        for (let i = 0; i < batch.length; i += 2) {
          expect(batch[i]).toBe(1);
          const m = batch[i + 1] as WorkerPortMessage;
          got.push(m);
          if (typeof m === 'object' && (m.type === 'done' || m.type === 'error')) resolve();
        }
      }),
    );
    void serveLane(port2, async (_req, out) => {
      const o = new Outbox(out, 7);
      o.seq = 3;
      send(o);
    });
    port1.postMessage(request(1));
    await done;
    port1.close();
    return got;
  }
  const stats = { prefillTokens: 1, prefillMs: 0, decodeMs: 0, steps: [] };

  it('sends the first text at once with the prompt count and its sequence, merges text of one tick into one message', async () => {
    const got = await collect((o) => {
      o.push('Once');
      o.push(' upon');
      o.push(' a');
      queueMicrotask(() => {
        o.push(' time');
        setImmediate(() =>
          o.end({
            type: 'done',
            finishReason: 'stop',
            promptTokens: 7,
            completionTokens: 4,
            stats,
            cachedTokens: 0,
          }),
        );
      });
    });
    expect(got[0]).toEqual({ type: 'first', text: 'Once', promptTokens: 7, seq: 3 });
    expect(got[1]).toBe(' upon a');
    expect(got[2]).toBe(' time');
    expect(got[3]).toMatchObject({ type: 'done', text: '' });
    expect(got).toHaveLength(4);
  });

  it('carries the last text on the final message; text is identical to the unbatched stream', async () => {
    const pieces = ['A', 'b', 'c', 'd', 'é', '€'];
    const got = await collect((o) => {
      for (const p of pieces) o.push(p);
      o.end({
        type: 'done',
        finishReason: 'length',
        promptTokens: 7,
        completionTokens: 6,
        stats,
        cachedTokens: 0,
      });
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

describe('lane (one port per worker thread)', () => {
  it('says hello first, routes cancels by id, and sends what several requests post in one tick as one batch', async () => {
    const { port1, port2 } = new MessageChannel();
    const batches: unknown[][] = [];
    let hello: unknown;
    const cancelled = new Map<number, string | undefined>();
    const ends: (() => void)[] = [];
    const closed = serveLane(port2, (req, out) => {
      out.post(`text of ${req.id}`);
      return new Promise<void>((resolve) =>
        ends.push(() => {
          cancelled.set(req.id, out.cancelReason);
          out.post(`end of ${req.id}`);
          resolve();
        }),
      );
    });
    port1.on('message', (b: unknown) => (Array.isArray(b) ? batches.push(b) : (hello = b)));
    port1.postMessage(request(1));
    port1.postMessage(request(2));
    port1.postMessage({ kind: 'cancel', id: 2, reason: 'deadline' });
    port1.postMessage({ kind: 'cancel', id: 99, reason: 'cancel' });
    await vi.waitFor(() => expect(batches.flat()).toEqual([1, 'text of 1', 2, 'text of 2']));
    const before = batches.length;
    for (const end of ends) end();
    await vi.waitFor(() => expect(batches.length).toBe(before + 1));
    expect(batches.at(-1)).toEqual([1, 'end of 1', 2, 'end of 2']);
    expect(hello).toMatchObject({ kind: 'hello', threadId: expect.any(Number) });
    expect(cancelled.get(1)).toBeUndefined();
    expect(cancelled.get(2)).toBe('deadline');
    port1.close();
    await closed;
  });
});
