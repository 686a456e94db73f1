import { afterEach, describe, expect, it, vi } from 'vitest';
import { Cancel, type CancelSignal } from '../../src/core/cancel';

afterEach(() => vi.restoreAllMocks());

describe('Cancel', () => {
  it('is not aborted until abort(), then keeps the reason', () => {
    const c = new Cancel();
    expect(c.aborted).toBe(false);
    expect(c.reason).toBeUndefined();
    const why = new Error('deadline');
    c.abort(why);
    expect(c.aborted).toBe(true);
    expect(c.reason).toBe(why);
    c.abort(new Error('later'));
    expect(c.reason).toBe(why); // the first abort wins
  });

  it("defaults the reason to an AbortError, as AbortController's", () => {
    const c = new Cancel();
    c.abort();
    expect(c.reason).toBeInstanceOf(DOMException);
    expect((c.reason as DOMException).name).toBe('AbortError');
  });

  it('runs each listener once, in the order added, and is its own signal', () => {
    const c = new Cancel();
    const order: string[] = [];
    const a = () => order.push('a');
    c.signal.addEventListener('abort', a, { once: true });
    c.addEventListener('abort', () => order.push('b'));
    c.addEventListener('abort', a); // the same listener again: added once
    c.abort();
    c.abort();
    expect(order).toEqual(['a', 'b']);
    expect(c.signal).toBe(c);
  });

  it('never runs a listener added after the abort, nor one removed before it', () => {
    const c = new Cancel();
    const removed = vi.fn();
    const kept = vi.fn();
    c.addEventListener('abort', removed);
    c.addEventListener('abort', kept);
    c.removeEventListener('abort', removed);
    c.abort();
    const late = vi.fn();
    c.addEventListener('abort', late);
    expect(removed).not.toHaveBeenCalled();
    expect(kept).toHaveBeenCalledOnce();
    expect(late).not.toHaveBeenCalled();
  });

  it('removing the first listener keeps the order of the rest', () => {
    const c = new Cancel();
    const order: number[] = [];
    const fns = [1, 2, 3].map((n) => () => order.push(n));
    for (const f of fns) c.addEventListener('abort', f);
    c.removeEventListener('abort', fns[0]!);
    c.removeEventListener('abort', fns[2]!);
    c.addEventListener('abort', fns[0]!);
    c.abort();
    expect(order).toEqual([2, 1]);
  });

  it('a listener that throws does not stop the others; its error is rethrown on the next tick', () => {
    let rethrow: (() => void) | undefined;
    vi.spyOn(process, 'nextTick').mockImplementation(((fn: () => void) => {
      rethrow = fn;
    }) as typeof process.nextTick);
    const c = new Cancel();
    const after = vi.fn();
    c.addEventListener('abort', () => {
      throw new Error('listener bug');
    });
    c.addEventListener('abort', after);
    c.abort();
    expect(after).toHaveBeenCalledOnce();
    expect(rethrow).toThrow('listener bug');
  });

  it('an AbortSignal is a CancelSignal (callers may pass either)', () => {
    const ac = new AbortController();
    const s: CancelSignal = ac.signal;
    const fn = vi.fn();
    s.addEventListener('abort', fn, { once: true });
    ac.abort(new Error('x'));
    expect(fn).toHaveBeenCalledOnce();
    expect(s.aborted).toBe(true);
  });
});
