/**
 * Bounded admission queue: higher priority first, FIFO within a priority. A full
 * queue refuses at once (the caller answers OVERLOADED); nothing waits without bound.
 * A binary heap keeps push/pop O(log n); removal (cancel, deadline) is O(n) on a
 * queue that is small by construction.
 */
export interface Queued {
  priority: number;
  /** Set by the queue: arrival order for FIFO within a priority. */
  seq?: number;
}

export class AdmissionQueue<T extends Queued> {
  private readonly heap: T[] = [];
  private counter = 0;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.heap.length;
  }

  /** Returns false when full. */
  push(item: T): boolean {
    if (this.heap.length >= this.capacity) return false;
    item.seq = this.counter++;
    this.heap.push(item);
    this.up(this.heap.length - 1);
    return true;
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

  /** Number of queued items that would be served before one of this priority arriving now. */
  ahead(priority: number): number {
    let n = 0;
    for (const it of this.heap) if (it.priority >= priority) n++;
    return n;
  }

  private before(a: T, b: T): boolean {
    return a.priority !== b.priority ? a.priority > b.priority : a.seq! < b.seq!;
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(h[i]!, h[p]!)) break;
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
      if (l < h.length && this.before(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.before(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
