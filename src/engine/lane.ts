/**
 * The worker's end of its lane (the main thread's end is src/engine/lanes.ts): one
 * MessagePort that carries every request to this worker thread and every message back.
 *
 * Why not a Piscina task per request: a task plus a freshly transferred MessageChannel
 * cost ~330 µs of a stream's time to first token in a serving process (82–120 µs in
 * isolation, against 21–36 µs for a message on a port that already exists; bench/README.md,
 * "Where a stream's first token goes"). Piscina still owns the threads: it starts them,
 * replaces one that dies, and runs the lane itself as one long task per thread (so a dead
 * thread is noticed the way any task's is).
 *
 * Out: everything the thread's requests post in one event-loop turn goes as one LaneBatch
 * (`[id, message, …]`), flushed from setImmediate, i.e. after the turn's microtasks, in
 * which the decode loops have already queued their next decode: the post (~37 µs on this
 * VM, most of it waking the main thread) then overlaps the next token's compute instead of
 * delaying it (it did with a microtask flush: bench/README.md, "Where a stream's tokens
 * go"). A request's first text is flushed at once (it is the time to first token).
 */
import { threadId, type MessagePort } from 'node:worker_threads';
import type {
  CancelReason,
  LaneBatch,
  LaneCancel,
  LaneHello,
  LaneRequest,
  WorkerPortMessage,
} from './messages';

/** What a request (generate, score) writes to and reads its cancellation from. */
export interface RequestPort {
  /** Sends a message; `urgent` flushes the lane now instead of at the end of the tick. */
  post(msg: WorkerPortMessage, urgent?: boolean): void;
  /** Set when the main thread ends the request early; read once per token. */
  readonly cancelReason: CancelReason | undefined;
  /** Resolves when the main thread ends the request early (for waits that are not per token). */
  readonly cancelled?: Promise<void>;
}

export class LaneWriter {
  private out: LaneBatch = [];
  private scheduled = false;
  private readonly flushNow = () => this.flush();

  constructor(private readonly port: MessagePort) {}

  post(id: number, msg: WorkerPortMessage, urgent: boolean): void {
    this.out.push(id, msg);
    if (urgent) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.out.length === 0) return;
    const batch = this.out;
    this.out = [];
    this.port.postMessage(batch);
  }
}

class LaneCall implements RequestPort {
  cancelReason: CancelReason | undefined = undefined;
  private wake: (() => void) | undefined;
  private onCancel: Promise<void> | undefined;

  constructor(
    private readonly writer: LaneWriter,
    readonly id: number,
  ) {}

  cancel(reason: CancelReason): void {
    this.cancelReason ??= reason;
    this.wake?.();
  }

  get cancelled(): Promise<void> {
    return (this.onCancel ??= this.cancelReason
      ? Promise.resolve()
      : new Promise<void>((r) => (this.wake = r)));
  }

  post(msg: WorkerPortMessage, urgent = false): void {
    this.writer.post(this.id, msg, urgent);
  }
}

/**
 * Serves the lane until the main thread closes it: each request runs `handle` with its
 * RequestPort; a LaneCancel sets the request's cancelReason. Resolves when the port closes.
 */
export function serveLane(
  port: MessagePort,
  handle: (req: LaneRequest, out: RequestPort) => Promise<void>,
): Promise<void> {
  const writer = new LaneWriter(port);
  const calls = new Map<number, LaneCall>();
  port.on('message', (msg: LaneRequest | LaneCancel) => {
    if (msg.kind === 'cancel') {
      const c = calls.get(msg.id);
      c?.cancel(msg.reason);
      return;
    }
    const call = new LaneCall(writer, msg.id);
    calls.set(msg.id, call);
    // handle() always ends the request with one final message (generate.ts, score.ts).
    void handle(msg, call).finally(() => calls.delete(msg.id));
  });
  const hello: LaneHello = { kind: 'hello', threadId };
  port.postMessage(hello);
  return new Promise((resolve) => port.once('close', () => resolve()));
}
