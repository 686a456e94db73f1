/**
 * The worker's side of one generation's port. The first text goes out at once, as a
 * WorkerFirst (never delayed: it is the time to first token). Later text is appended
 * to a buffer flushed by one microtask, so text produced in the same tick (held bytes
 * released together, the last chunk and the final message) crosses the thread
 * boundary as one message, and the last text rides on the final message itself.
 */
import type { MessagePort } from 'node:worker_threads';
import type { WorkerDone, WorkerFailed, WorkerFirst } from './messages';

export class Outbox {
  private buf = '';
  private scheduled = false;
  private started = false;
  private closed = false;
  private readonly flushNow = () => this.flush();

  constructor(
    private readonly port: MessagePort,
    private readonly promptTokens: number,
  ) {}

  /** Whether any text has been sent (or is buffered). */
  get sentText(): boolean {
    return this.started;
  }

  push(text: string): void {
    if (text.length === 0 || this.closed) return;
    if (!this.started) {
      this.started = true;
      const first: WorkerFirst = { type: 'first', text, promptTokens: this.promptTokens };
      this.port.postMessage(first);
      return;
    }
    this.buf += text;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushNow);
    }
  }

  /** Sends the final message, carrying any buffered text. Later pushes are dropped. */
  end(msg: Omit<WorkerDone, 'text'> | WorkerFailed): void {
    if (this.closed) return;
    this.closed = true;
    if (msg.type === 'done') {
      const done: WorkerDone = { ...msg, text: this.buf };
      this.buf = '';
      this.port.postMessage(done);
    } else {
      this.flush();
      this.port.postMessage(msg);
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.buf.length === 0) return;
    const text = this.buf;
    this.buf = '';
    this.port.postMessage(text);
  }
}
