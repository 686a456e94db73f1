/**
 * The bounded wait queue: higher priority first; within a priority, earliest deadline
 * first (EDF); FIFO among equal deadlines. A full queue refuses at once (the caller
 * answers OVERLOADED); nothing waits without bound. A binary heap keeps push/pop
 * O(log n); removal (cancel, deadline) is O(n) on a queue that is small by construction.
 */
export interface Queued {
  priority: number;
  /** Absolute deadline, performance.now() ms. */
  deadlineAt: number;
  /** Set by the queue: arrival order, the last tie-break. */
  seq?: number;
}

/** Whether `a` is served before `b`. */
export function servedBefore(a: Queued, b: Queued): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.deadlineAt !== b.deadlineAt) return a.deadlineAt < b.deadlineAt;
  return (a.seq ?? Infinity) < (b.seq ?? Infinity);
}

export class AdmissionQueue<T extends Queued> {
  private readonly heap: T[] = [];
  private counter = 0;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.heap.length;
  }

  /** Returns false when full, unless `force` (a preempting request always gets in). */
  push(item: T, force = false): boolean {
    if (this.heap.length >= this.capacity && !force) return false;
    item.seq = this.counter++;
    this.heap.push(item);
    this.up(this.heap.length - 1);
    return true;
  }

  peek(): T | undefined {
    return this.heap[0];
  }

  pop(): T | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (top === undefined || last === undefined) return undefined;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
    return top;
  }

  remove(item: T): boolean {
    const i = this.heap.indexOf(item);
    if (i < 0) return false;
    const last = this.heap.pop()!;
    if (i < this.heap.length) {
      this.heap[i] = last;
      this.down(i);
      this.up(i);
    }
    return true;
  }

  /** The queued items that would be served before `item` (not queued yet), in service order. */
  ahead(item: Queued): T[] {
    return this.heap.filter((it) => servedBefore(it, item)).sort((a, b) => (servedBefore(a, b) ? -1 : 1));
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!servedBefore(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && servedBefore(h[l]!, h[m]!)) m = l;
      if (r < h.length && servedBefore(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
