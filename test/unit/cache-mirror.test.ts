/** The main thread's view of the workers' KV caches (src/engine/cache-mirror.ts). */
import { describe, expect, it } from 'vitest';
import { CacheMirror, MIN_SHARED_CHARS } from '../../src/engine/cache-mirror';
import { promptText } from '../../src/engine/deadline';

const template = 'You read one headline and answer with its sentiment. '.repeat(10);
/** One request on worker `w`: sent, placed on `seq` holding `text`, and (unless `running`) ended. */
function serve(m: CacheMirror, w: number, seq: number, text: string, running = false): void {
  m.sent(w, text);
  m.placed(w, seq, text);
  if (!running) m.ended(w, seq, text);
}

describe('CacheMirror', () => {
  it('expects the longest start a free sequence holds, nothing for a prompt never sent', () => {
    const m = new CacheMirror(4);
    expect(m.expect(0, `${template}Headline: A`).reused).toBe(0);
    serve(m, 0, 0, `${template}Headline: A`);
    serve(m, 0, 1, 'Once upon a time');
    expect(m.expect(0, `${template}Headline: B`).reused).toBe(template.length + 'Headline: '.length);
    expect(m.expect(0, 'An article never sent before').reused).toBe(0);
    // A start shorter than the worker would reuse counts for nothing.
    expect(m.expect(0, 'Once upon a dog').reused).toBe(0);
    expect('Once upon a '.length).toBeLessThan(MIN_SHARED_CHARS);
    // Each worker has its own sequences.
    expect(m.expect(1, `${template}Headline: B`).reused).toBe(0);
  });

  it('counts a start a busy sequence holds when long enough to copy, and one a request sent but not yet placed will hold', () => {
    const m = new CacheMirror(4);
    const want = `${template}Headline: C`;
    const held = template.length + 'Headline: '.length;
    // The only copy is busy: the worker copies its cache (SequencePool.donorFor).
    serve(m, 0, 0, `${template}Headline: A`, true);
    expect(m.expect(0, want).reused).toBe(held);
    // A short start held by a busy sequence is evaluated again.
    serve(m, 0, 1, 'Once upon a time there was a dog', true);
    expect(m.expect(0, 'Once upon a time there was a cat').reused).toBe(0);
    m.ended(0, 0, `${template}Headline: A`);
    m.ended(0, 1, 'Once upon a time there was a dog');
    // Free: a request for the same template sent but not yet placed takes the copy, and
    // the worker copies it from that request's sequence; so too once it is placed.
    m.sent(0, `${template}Headline: D`);
    expect(m.expect(0, want).reused).toBe(held);
    m.placed(0, 0, `${template}Headline: D`);
    expect(m.expect(0, want).reused).toBe(held);
    m.ended(0, 0, `${template}Headline: D`);
    // One for another prompt takes another sequence and leaves the copy.
    m.sent(0, 'Once upon a time there was a frog');
    expect(m.expect(0, want).reused).toBe(held);
  });

  it('says how much of a copied start waits for a request sent before it to evaluate it', () => {
    const m = new CacheMirror(4);
    const want = `${template}Headline: C`;
    const held = template.length + 'Headline: '.length;
    // Sent, not placed (no first token yet), on an empty sequence: all of it to evaluate.
    m.sent(0, `${template}Headline: A`);
    expect(m.expect(0, want)).toEqual({ reused: held, waitChars: held });
    // Its first token came: its prompt is evaluated, copied at once.
    m.placed(0, 0, `${template}Headline: A`);
    expect(m.expect(0, want)).toEqual({ reused: held, waitChars: 0 });
    // A free copy: no wait either.
    m.ended(0, 0, `${template}Headline: A`);
    expect(m.expect(0, want)).toEqual({ reused: held, waitChars: 0 });
  });

  it('places a prompt as the worker does: a short or empty sequence before a long cache, then the least recently used', () => {
    const m = new CacheMirror(3);
    const other = 'An unrelated long document. '.repeat(10);
    serve(m, 0, 0, `${template}Headline: A`);
    serve(m, 0, 1, other);
    // Sequence 2 is empty: a third long prompt takes it and evicts nothing.
    m.sent(0, 'A third long prompt. '.repeat(12));
    m.placed(0, 2, 'A third long prompt. '.repeat(12));
    m.ended(0, 2, 'A third long prompt. '.repeat(12));
    // Every sequence holds a long prompt now: a new one takes the least recently used
    // (the template's), and the template is no longer expected cached.
    m.sent(0, 'A fourth prompt');
    expect(m.expect(0, `${template}Headline: B`).reused).toBe(0);
    expect(m.expect(0, `${other}more`).reused).toBe(other.length);
  });

  it('follows a sequence taken by another prompt (an eviction), and forgets a worker that was emptied', () => {
    const m = new CacheMirror(4);
    const want = `${template}Headline: B`;
    serve(m, 0, 3, `${template}Headline: A`);
    expect(m.expect(0, want).reused).toBeGreaterThan(template.length);
    serve(m, 0, 3, 'A long document that took the sequence');
    expect(m.expect(0, want).reused).toBe(0);
    serve(m, 0, 2, `${template}Headline: A`);
    m.clear(0);
    expect(m.expect(0, want).reused).toBe(0);
    // A request that ends without naming its sequence gives its place back.
    m.sent(0, 'Never placed');
    m.ended(0, -1, 'Never placed');
    serve(m, 0, 2, `${template}Headline: A`);
    expect(m.expect(0, want).reused).toBeGreaterThan(template.length);
  });

  it("reads a chat's messages in order as its text, so chats with one system prompt share a start", () => {
    const sys = { role: 'system' as const, content: template };
    const a = promptText({ messages: [sys, { role: 'user', content: 'Headline: A' }] });
    const b = promptText({ messages: [sys, { role: 'user', content: 'Headline: B' }] });
    expect(a.startsWith(`system\n${template}\nuser\nHeadline: `)).toBe(true);
    const m = new CacheMirror(4);
    serve(m, 0, 0, a);
    expect(m.expect(0, b).reused).toBe(a.length - 'A\n'.length);
    expect(promptText({ prompt: 'plain' })).toBe('plain');
  });

  describe('route: which worker, with several', () => {
    const want = `${template}Headline: Z`;
    const held = template.length + 'Headline: '.length;
    /** A CPU-like cost: evaluating the whole prompt costs 100, each stream in the batch 10. */
    const cpu = (b: number, share: number) => 100 * share + 10 * b;

    it('one worker: that one, with what it holds', () => {
      const m = new CacheMirror(4);
      serve(m, 0, 0, `${template}Headline: A`);
      expect(m.route(want, [3], cpu)).toMatchObject({ worker: 0, reused: held });
    });

    it('sends a prompt back to the worker that holds its template, though another is idle', () => {
      const m = new CacheMirror(2);
      serve(m, 1, 0, `${template}Headline: A`);
      serve(m, 1, 1, 'Once upon a time', true);
      expect(m.route(want, [0, 1], cpu)).toMatchObject({ worker: 1, reused: held });
      // Nothing held anywhere: the less loaded worker, then the lower index.
      expect(m.route('A document never sent', [0, 1], cpu)).toMatchObject({ worker: 0, reused: 0 });
      expect(m.route('A document never sent', [1, 0], cpu)).toMatchObject({ worker: 1, reused: 0 });
    });

    it('a prompt held nowhere goes where it evicts no long cache', () => {
      const m = new CacheMirror(2);
      serve(m, 0, 0, `${template}Headline: A`);
      serve(m, 0, 1, 'Another long prompt that a worker keeps. '.repeat(6));
      // Both idle; worker 0's sequences both hold long prompts, worker 1's are empty.
      expect(m.route('A document never sent', [0, 0], cpu)).toMatchObject({ worker: 1, reused: 0 });
      const fresh = new CacheMirror(2);
      expect(fresh.route('A document never sent', [0, 0], cpu)).toMatchObject({ worker: 0, reused: 0 });
    });

    it('not when the batch there costs more than evaluating the template again', () => {
      const m = new CacheMirror(4);
      serve(m, 1, 0, `${template}Headline: A`);
      serve(m, 1, 1, 'Once upon a time', true);
      const batchBound = (b: number, share: number) => share + 10 * b;
      expect(m.route(want, [0, 1], batchBound)).toMatchObject({ worker: 0, reused: 0 });
    });

    it('never to a worker with no sequence free while another has one', () => {
      const m = new CacheMirror(3);
      serve(m, 1, 0, `${template}Headline: A`);
      serve(m, 1, 1, 'Once upon a time', true);
      serve(m, 1, 2, 'Twice upon a time', true);
      expect(m.route(want, [0, 3], cpu).worker).toBe(0);
      // None free anywhere: the cheapest still (the worker queues it for its next free sequence).
      expect(m.route(want, [3, 3], cpu).worker).toBe(1);
    });
  });
});
