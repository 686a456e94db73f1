/**
 * Micro-batcher: coalesces single-text requests into one model run. A request waits
 * while `concurrency` runs are in flight, or up to `windowUs` for company; a batch goes
 * as soon as it is full. The queue is bounded: past `maxQueue` waiting texts a request
 * fails at once with OVERLOADED rather than queueing without bound.
 */
import { ColoError } from '../core/errors';

export interface BatcherOptions {
  /** Most texts per run. */
  maxBatch: number;
  /** Most texts waiting (not yet in a run). */
  maxQueue: number;
  /** Extra wait for more requests once a run could start; 0 flushes on the next microtask. */
  windowUs: number;
  /** Runs allowed in flight at once (1 inline; pool threads in pool mode). */
  concurrency: number;
}

interface Pending {
  text: string;
  resolve: (probs: Float32Array) => void;
  reject: (err: unknown) => void;
}

/** Runs one batch; returns row-major probabilities [texts.length, classes]. */
export type BatchRunner = (texts: string[]) => Promise<Float32Array>;

export class MicroBatcher {
  private queue: Pending[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly runBatch: BatchRunner,
    private readonly classes: number,
    private readonly opts: BatcherOptions,
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  get running(): number {
    return this.inFlight;
  }

  /** Probabilities of one text (a row of length `classes`). */
  submit(text: string): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new ColoError('SHUTTING_DOWN', 'classifier is closed'));
    if (this.queue.length >= this.opts.maxQueue) {
      return Promise.reject(
        new ColoError('OVERLOADED', `classifier queue is full (${this.opts.maxQueue} waiting)`, {
          retryAfterMs: 1,
        }),
      );
    }
    return new Promise<Float32Array>((resolve, reject) => {
      this.queue.push({ text, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.inFlight >= this.opts.concurrency) return; // a finishing run flushes the queue
    if (this.queue.length >= this.opts.maxBatch) {
      this.flush();
      return;
    }
    if (this.scheduled || this.timer) return;
    if (this.opts.windowUs > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, this.opts.windowUs / 1000);
    } else {
      // Requests made in the same tick (a burst from one frame) share one run.
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.queue.length > 0 && this.inFlight < this.opts.concurrency) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
      this.inFlight++;
      void this.execute(batch);
    }
  }

  private async execute(batch: Pending[]): Promise<void> {
    try {
      const probs = await this.runBatch(batch.map((p) => p.text));
      const C = this.classes;
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(probs.subarray(i * C, (i + 1) * C));
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.inFlight--;
      if (this.queue.length > 0) this.flush();
    }
  }

  /** Fails everything still waiting; runs in flight finish. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const waiting = this.queue;
    this.queue = [];
    for (const p of waiting) p.reject(new ColoError('SHUTTING_DOWN', 'classifier is closed'));
  }
}
