/** The main thread's view of the workers' KV caches (src/engine/cache-mirror.ts). */
import { describe, expect, it } from 'vitest';
import { CacheMirror, MIN_SHARED_CHARS } from '../../src/engine/cache-mirror';
import { promptText } from '../../src/engine/deadline';

const template = 'You read one headline and answer with its sentiment. '.repeat(10);
/** One request on worker `w`: sent, placed on `seq` holding `text`, and (unless `running`) ended. */
function serve(m: CacheMirror, w: number, seq: number, text: string, running = false): void {
  m.sent(w);
  m.placed(w, seq, text);
  if (!running) m.ended(w, seq);
}

describe('CacheMirror', () => {
  it('expects the longest start a free sequence holds, nothing for a prompt never sent', () => {
    const m = new CacheMirror();
    expect(m.reused(0, `${template}Headline: A`)).toBe(0);
    serve(m, 0, 0, `${template}Headline: A`);
    serve(m, 0, 1, 'Once upon a time');
    expect(m.reused(0, `${template}Headline: B`)).toBe(template.length + 'Headline: '.length);
    expect(m.reused(0, 'An article never sent before')).toBe(0);
    // A start shorter than the worker would reuse counts for nothing.
    expect(m.reused(0, 'Once upon a dog')).toBe(0);
    expect('Once upon a '.length).toBeLessThan(MIN_SHARED_CHARS);
    // Each worker has its own sequences.
    expect(m.reused(1, `${template}Headline: B`)).toBe(0);
  });

  it('does not count a sequence a request is on, nor the best ones requests sent but not yet placed may take', () => {
    const m = new CacheMirror();
    const want = `${template}Headline: C`;
    serve(m, 0, 0, `${template}Headline: A`, true);
    // The only copy is busy: the next request evaluates the template in full.
    expect(m.reused(0, want)).toBe(0);
    serve(m, 0, 1, `${template}Headline: B`);
    expect(m.reused(0, want)).toBe(template.length + 'Headline: '.length);
    // A request sent but not yet placed is assumed to take the best free copy.
    m.sent(0);
    expect(m.reused(0, want)).toBe(0);
    m.placed(0, 1, `${template}Headline: D`);
    expect(m.reused(0, want)).toBe(0);
    m.ended(0, 1);
    m.ended(0, 0);
    expect(m.reused(0, want)).toBe(template.length + 'Headline: '.length);
  });

  it('follows a sequence taken by another prompt (an eviction), and forgets a worker that was emptied', () => {
    const m = new CacheMirror();
    const want = `${template}Headline: B`;
    serve(m, 0, 3, `${template}Headline: A`);
    expect(m.reused(0, want)).toBeGreaterThan(template.length);
    serve(m, 0, 3, 'A long document that took the sequence');
    expect(m.reused(0, want)).toBe(0);
    serve(m, 0, 2, `${template}Headline: A`);
    m.clear(0);
    expect(m.reused(0, want)).toBe(0);
    // A request that ends without naming its sequence gives its place back.
    m.sent(0);
    m.ended(0, -1);
    serve(m, 0, 2, `${template}Headline: A`);
    expect(m.reused(0, want)).toBeGreaterThan(template.length);
  });

  it("reads a chat's messages in order as its text, so chats with one system prompt share a start", () => {
    const sys = { role: 'system' as const, content: template };
    const a = promptText({ messages: [sys, { role: 'user', content: 'Headline: A' }] });
    const b = promptText({ messages: [sys, { role: 'user', content: 'Headline: B' }] });
    expect(a.startsWith(`system\n${template}\nuser\nHeadline: `)).toBe(true);
    const m = new CacheMirror();
    serve(m, 0, 0, a);
    expect(m.reused(0, b)).toBe(a.length - 'A\n'.length);
    expect(promptText({ prompt: 'plain' })).toBe('plain');
  });
});
