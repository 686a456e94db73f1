import { describe, expect, it } from 'vitest';
import { AdmissionQueue } from '../../src/engine/admission';

const item = (priority: number, name: string) => ({ priority, name });

describe('AdmissionQueue', () => {
  it('serves higher priority first and FIFO within a priority', () => {
    const q = new AdmissionQueue<{ priority: number; name: string }>(10);
    for (const [p, n] of [
      [0, 'a'],
      [5, 'b'],
      [0, 'c'],
      [5, 'd'],
      [9, 'e'],
    ] as const)
      q.push(item(p, n));
    const order: string[] = [];
    for (let x = q.pop(); x; x = q.pop()) order.push(x.name);
    expect(order).toEqual(['e', 'b', 'd', 'a', 'c']);
  });

  it('refuses pushes beyond capacity instead of growing', () => {
    const q = new AdmissionQueue<{ priority: number }>(2);
    expect(q.push({ priority: 0 })).toBe(true);
    expect(q.push({ priority: 0 })).toBe(true);
    expect(q.push({ priority: 9 })).toBe(false);
    expect(q.length).toBe(2);
  });

  it('removes an arbitrary item and keeps heap order', () => {
    const q = new AdmissionQueue<{ priority: number; name: string }>(100);
    const items = Array.from({ length: 50 }, (_, i) => item((i * 7) % 11, `i${i}`));
    for (const it of items) q.push(it);
    expect(q.remove(items[10]!)).toBe(true);
    expect(q.remove(items[10]!)).toBe(false);
    let last = Infinity;
    let n = 0;
    for (let x = q.pop(); x; x = q.pop()) {
      expect(x.priority).toBeLessThanOrEqual(last);
      last = x.priority;
      expect(x.name).not.toBe('i10');
      n++;
    }
    expect(n).toBe(49);
  });

  it('counts how many queued items are ahead of a priority', () => {
    const q = new AdmissionQueue<{ priority: number }>(10);
    for (const p of [1, 2, 3, 3]) q.push({ priority: p });
    expect(q.ahead(3)).toBe(2);
    expect(q.ahead(0)).toBe(4);
  });
});
