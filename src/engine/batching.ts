/**
 * When a worker's context decodes. node-llama-cpp collects the decode requests of all
 * sequences into one batch; by default it dispatches at once only when *every*
 * sequence of the context has queued one, else on the next event-loop turn
 * (setImmediate). With `sequences: 8` and one stream that is a loop turn per token.
 *
 * Here the rule is: dispatch at once when every generation that is *running* has
 * queued its next decode (a lone stream: always), else on the next turn, so streams
 * whose tokens came out of the same batch still go into the next one together.
 * `running` and `waiting` are counted by the decode loop (src/engine/decode.ts).
 *
 * The gate also lets a new generation in. Editing a sequence's KV cache (dropping the
 * part that does not match the new prompt) takes the context's lock, and the batch
 * dispatcher holds that lock for as long as decodes keep arriving, which running
 * streams do forever: a new request waited for all of them to end (seen: 8 tokens
 * taking 1.3 s behind 4 streams). While an edit is pending, running streams hold their
 * next decode back, the dispatcher drains and lets go of the lock, the edit runs, and
 * the streams resume: one step's delay for them instead of a whole generation for it.
 */
import type { CustomBatchingDispatchSchedule } from 'node-llama-cpp';

export class BatchGate {
  /** Generations holding a sequence. */
  running = 0;
  /** Generations waiting on a decode (their next token, or their prompt). */
  waiting = 0;

  /** KV edits waiting for the context lock. */
  private edits = 0;
  private reopen: Promise<void> | undefined;
  private open: (() => void) | undefined;

  /** Runs a KV-cache edit with running streams held back. */
  async edit<T>(fn: () => Promise<T>): Promise<T> {
    if (this.edits++ === 0) this.reopen = new Promise<void>((r) => (this.open = r));
    try {
      return await fn();
    } finally {
      if (--this.edits === 0) {
        this.open!();
        this.reopen = undefined;
      }
    }
  }

  /** Resolves at once unless an edit is pending; a stream awaits it before its next decode. */
  pass(): Promise<void> | undefined {
    return this.reopen;
  }

  readonly schedule: CustomBatchingDispatchSchedule = (dispatch) => {
    if (this.waiting >= this.running) dispatch();
    else setImmediate(dispatch);
  };
}
