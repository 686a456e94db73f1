/**
 * The worker's side of one generation's messages (written to its RequestPort on the
 * worker's lane, src/engine/lane.ts). The first text goes out at once, as a WorkerFirst
 * (never delayed: it is the time to first token). Later text is appended to a buffer
 * flushed by one microtask, so text produced in the same tick (held bytes
 * released together, the last chunk and the final message) crosses the thread
 * boundary as one message, and the last text rides on the final message itself.
 *
 * A generation that records logprobs sends, with each text, the entries recorded since
 * the last message (they may run ahead of the text: a stop string or an incomplete
 * UTF-8 character holds text back, never an entry); the main thread lines them up with
 * the text (src/engine/pool.ts). Without logprobs the messages stay bare strings.
 */
import type { TokenLogprob } from '../core/types';
import type { RequestPort } from './lane';
import type { WorkerDone, WorkerFailed, WorkerFirst, WorkerText } from './messages';

export class Outbox {
  private buf = '';
  private scheduled = false;
  private started = false;
  private closed = false;
  /** Logprob entries already sent. */
  private sentLps = 0;
  private readonly flushNow = () => this.flush();
  /** The sequence the generation took, once it has one (sent with the first text). */
  seq = -1;

  /** `logprobs`: the generation's recorded entries, when it records them (read at each send). */
  constructor(
    private readonly port: RequestPort,
    private readonly promptTokens: number,
    private readonly logprobs: () => TokenLogprob[] | undefined = () => undefined,
  ) {}

  /** Entries recorded since the last send; undefined when the generation records none. */
  private newLogprobs(): TokenLogprob[] | undefined {
    const all = this.logprobs();
    if (!all) return undefined;
    const out = all.slice(this.sentLps);
    this.sentLps = all.length;
    return out;
  }

  /** Whether any text has been sent (or is buffered). */
  get sentText(): boolean {
    return this.started;
  }

  push(text: string): void {
    if (text.length === 0 || this.closed) return;
    if (!this.started) {
      this.started = true;
      const first: WorkerFirst = {
        type: 'first',
        text,
        promptTokens: this.promptTokens,
        seq: this.seq,
        logprobs: this.newLogprobs(),
      };
      this.port.post(first, true);
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
      const done: WorkerDone = { ...msg, text: this.buf, logprobs: this.newLogprobs() };
      this.buf = '';
      this.port.post(done);
    } else {
      this.flush();
      this.port.post(msg);
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.buf.length === 0) return;
    const text = this.buf;
    this.buf = '';
    const logprobs = this.newLogprobs();
    if (!logprobs) return this.port.post(text);
    const msg: WorkerText = { type: 'text', text, logprobs };
    this.port.post(msg);
  }
}
