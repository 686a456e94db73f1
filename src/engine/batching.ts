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
 */
import type { CustomBatchingDispatchSchedule } from 'node-llama-cpp';

export class BatchGate {
  /** Generations holding a sequence. */
  running = 0;
  /** Generations waiting on a decode (their next token, or their prompt). */
  waiting = 0;

  readonly schedule: CustomBatchingDispatchSchedule = (dispatch) => {
    if (this.waiting >= this.running) dispatch();
    else setImmediate(dispatch);
  };
}
