import { describe, expect, it } from 'vitest';
import { AdmissionQueue } from '../../src/engine/admission';

interface It {
  priority: number;
  deadlineAt: number;
  name: string;
}
const item = (priority: number, name: string, deadlineAt = 1000): It => ({ priority, name, deadlineAt });

function drain(q: AdmissionQueue<It>): string[] {
  const order: string[] = [];
  for (let x = q.pop(); x; x = q.pop()) order.push(x.name);
  return order;
}

describe('AdmissionQueue', () => {
  it('serves higher priority first and FIFO within a priority and deadline', () => {
    const q = new AdmissionQueue<It>(10);
    for (const [p, n] of [
      [0, 'a'],
      [5, 'b'],
      [0, 'c'],
      [5, 'd'],
      [9, 'e'],
    ] as const)
      q.push(item(p, n));
    expect(drain(q)).toEqual(['e', 'b', 'd', 'a', 'c']);
  });

  it('serves earliest deadline first within a priority (EDF), priority still first', () => {
    const q = new AdmissionQueue<It>(10);
    q.push(item(0, 'late', 900));
    q.push(item(0, 'soon', 100));
    q.push(item(0, 'mid', 500));
    q.push(item(7, 'urgent-prio-late-deadline', 5000));
    q.push(item(0, 'soonest', 50));
    expect(drain(q)).toEqual(['urgent-prio-late-deadline', 'soonest', 'soon', 'mid', 'late']);
  });

  it('refuses pushes beyond capacity instead of growing, unless forced (preemption)', () => {
    const q = new AdmissionQueue<It>(2);
    expect(q.push(item(0, 'a'))).toBe(true);
    expect(q.push(item(0, 'b'))).toBe(true);
    expect(q.push(item(9, 'c'))).toBe(false);
    expect(q.length).toBe(2);
    expect(q.push(item(9, 'd'), true)).toBe(true);
    expect(q.pop()?.name).toBe('d');
  });

  it('removes an arbitrary item and keeps heap order', () => {
    const q = new AdmissionQueue<It>(100);
    const items = Array.from({ length: 50 }, (_, i) => item((i * 7) % 11, `i${i}`, (i * 13) % 17));
    for (const it of items) q.push(it);
    expect(q.remove(items[10]!)).toBe(true);
    expect(q.remove(items[10]!)).toBe(false);
    let last: It | undefined;
    let n = 0;
    for (let x = q.pop(); x; x = q.pop()) {
      if (last)
        expect(
          x.priority < last.priority || (x.priority === last.priority && x.deadlineAt >= last.deadlineAt),
        ).toBe(true);
      last = x;
      expect(x.name).not.toBe('i10');
      n++;
    }
    expect(n).toBe(49);
  });

  it('lists the queued items served before a new one, in service order', () => {
    const q = new AdmissionQueue<It>(10);
    q.push(item(1, 'low'));
    q.push(item(3, 'b', 300));
    q.push(item(3, 'a', 200));
    q.push(item(3, 'c', 900));
    expect(q.ahead(item(3, 'new', 500)).map((x) => x.name)).toEqual(['a', 'b']);
    expect(q.ahead(item(0, 'new', 0)).map((x) => x.name)).toEqual(['a', 'b', 'c', 'low']);
    expect(q.ahead(item(3, 'same', 300)).map((x) => x.name)).toEqual(['a', 'b']);
  });
});
