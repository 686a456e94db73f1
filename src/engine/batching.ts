/**
 * When a worker's context decodes, so that concurrent streams share one batch.
 *
 * node-llama-cpp collects the decode requests of a context's sequences into one batch.
 * Left to itself it splits concurrent streams apart: after a batch, each sequence's
 * token is sampled by its own native call, the first sampled stream asks for its next
 * decode while the others are still sampling, and the batch dispatcher (at once, or on
 * the next loop turn) takes it alone; the others follow alone too. Two streams on one
 * context ran 1.02 tokens per batch, i.e. no batching at all: two streams took twice
 * as long as one (test/model/batching.test.ts counts the batches).
 *
 * The gate keeps streams in step:
 * - **Barrier.** A stream that has its token waits (`ready`) while any generation of
 *   the context is between its decode and its token (in flight, not queued: being
 *   sampled), then asks for the next decode together with them.
 * - **Dispatch.** A batch goes when every running generation has queued its decode
 *   (`queued`, node-llama-cpp's own set of sequences with queued decodes) but those
 *   parked for a KV edit (they cannot queue until it is done), or when one leaves. A lone
 *   stream: at once, with no wait and no timer.
 * - **Guard.** Every wait ends at a token, a queued decode or a generation leaving; one
 *   that outlives `GUARD_MS` anyway (a generation busy elsewhere: a slow grammar, a long
 *   KV edit) is ended and counted in `stalls`, so a stuck peer costs milliseconds, never
 *   a hung stream.
 *
 * The gate also lets a new generation in. Editing a sequence's KV cache (dropping the
 * part that does not match the new prompt) takes the context's lock, and the batch
 * dispatcher holds that lock for as long as decodes keep arriving, which running
 * streams do forever: a new request waited for all of them to end (seen: 8 tokens
 * taking 1.3 s behind 4 streams). While an edit is pending, running streams hold their
 * next decode back (`pass`), the dispatcher drains and lets go of the lock, the edit
 * runs, and the streams resume: one step's delay for them instead of a whole
 * generation for it.
 *
 * **Order.** The gate keeps node-llama-cpp's queue of decodes sorted by sequence id.
 * With a KV stream per sequence (node-llama-cpp's `kv_unified = false`), llama.cpp
 * splits a batch into micro-batches of sequences whose ids *increase by one* in batch
 * order (`split_equal(…, sequential = true)`), and it reuses the previous step's compute
 * graph only when the micro-batch has the same sequences. In queue order (whichever
 * stream sampled first), half the steps of two streams went out as `[1, 0]`: two
 * micro-batches, each building its graph anew (graph build, scheduling, allocation,
 * tensor names through vfprintf: 0.2–0.3 ms a step on stories260K). Sorted, every step
 * is one micro-batch on a reused graph (src/engine/sequences.ts keeps the ids of
 * running streams adjacent for the same reason; bench/README.md, "One micro-batch per
 * step").
 *
 * `queued`, the hooks on `_decodeTokens` and `_scheduleDecode` and the sorted queue read
 * node-llama-cpp internals (pinned in package.json); if they are missing, `attach` says
 * so and the gate dispatches at once without a barrier, which is correct, only unbatched.
 */
import type { CustomBatchingDispatchSchedule, LlamaContext } from 'node-llama-cpp';

/** Longest a barrier or a held dispatch waits before it is ended anyway. */
export const GUARD_MS = 2;

interface ContextInternals {
  _queuedDecodeSequenceIds?: unknown;
  _decodeTokens?: unknown;
  _queuedDecodes?: unknown;
  _scheduleDecode?: unknown;
}

interface QueuedDecode {
  sequenceId: number;
}

/**
 * Moves the decode just pushed onto node-llama-cpp's queue back to its place in
 * sequence-id order (after any entry with the same id, so one sequence's decodes keep
 * their order). node-llama-cpp pushes one entry per `_decodeTokens` call and then calls
 * `_scheduleDecode` (its only caller), which may dispatch a batch at once (every
 * sequence queued, or the gate letting it go); it only splices otherwise, and builds
 * every batch from the queue front to back. Run first thing in `_scheduleDecode`, this
 * keeps the queue sorted before any batch can be built from it.
 */
function sortLast(queue: QueuedDecode[]): void {
  const n = queue.length - 1;
  if (n <= 0 || queue[n - 1]!.sequenceId <= queue[n]!.sequenceId) return;
  const item = queue[n]!;
  let i = n;
  while (i > 0 && queue[i - 1]!.sequenceId > item.sequenceId) {
    queue[i] = queue[i - 1]!;
    i--;
  }
  queue[i] = item;
}

export class BatchGate {
  /** Generations holding a sequence. */
  private running = 0;
  /** Generations that asked for a decode (their prompt or next token) and await it. */
  private inFlight = 0;
  /** Sequences with a decode queued and not yet in a batch; Infinity until attached. */
  private queued: () => number = () => Number.POSITIVE_INFINITY;
  /** Streams holding at the barrier. */
  private held: (() => void)[] = [];
  private dispatch: (() => void) | undefined;
  private guard: ReturnType<typeof setTimeout> | undefined;
  /**
   * Dispatches this gate let go. Not the native batch count: node-llama-cpp also
   * dispatches by itself when every sequence has queued, and its running batch loop takes
   * decodes queued meanwhile (test/model/batching.test.ts counts native batches).
   */
  batches = 0;
  /** Waits the guard ended (none in steady streaming; a slow grammar or a long edit may). */
  stalls = 0;

  /** KV edits waiting for the context lock. */
  private edits = 0;
  /** Streams parked at `pass` until the edits are done. */
  private parked = 0;
  private reopen: Promise<void> | undefined;
  private open: (() => void) | undefined;

  /** Whether `attach` could keep the context's queue in sequence-id order. */
  ordered = false;

  /** Prompt evaluations running now (a generation before its first token, a scoring's walk). */
  prefills = 0;
  /**
   * Prompt evaluations begun so far. A decode step that saw this move, or ran while
   * `prefills` was above 0, shared its batches with a prompt's tokens: it took the
   * prompt's time, not a step's (the estimator does not learn steps from it).
   */
  prefillsBegun = 0;

  /** A prompt evaluation begins (ended by `prefilled`). */
  prefilling(): void {
    this.prefills++;
    this.prefillsBegun++;
  }

  prefilled(): void {
    this.prefills--;
  }

  /** @param order keep the decode queue in sequence-id order (off only to measure what it saves). */
  constructor(private readonly order = true) {}

  /** Reads the context's queue. Returns false (and batches nothing) if its internals moved. */
  attach(context: LlamaContext): boolean {
    const c = context as unknown as ContextInternals;
    const ids = c._queuedDecodeSequenceIds;
    const decodeTokens = c._decodeTokens;
    if (!(ids instanceof Set) || typeof decodeTokens !== 'function') return false;
    const queue = c._queuedDecodes;
    const schedule = c._scheduleDecode;
    if (this.order && Array.isArray(queue) && typeof schedule === 'function') {
      c._scheduleDecode = function (this: unknown, ...args: unknown[]): unknown {
        sortLast(queue as QueuedDecode[]);
        return (schedule as (...a: unknown[]) => unknown).apply(this, args);
      };
      this.ordered = true;
    }
    this.queued = () => ids.size;
    const settle = () => this.settle();
    c._decodeTokens = function (this: unknown, ...args: unknown[]): unknown {
      // The decode is in the queue once this returns (the push is synchronous).
      const p = (decodeTokens as (...a: unknown[]) => unknown).apply(this, args);
      settle();
      return p;
    };
    return true;
  }

  /** Running generations (a gauge for the decode stats). */
  get size(): number {
    return this.running;
  }

  enter(n = 1): void {
    this.running += n;
  }

  leave(n = 1): void {
    this.running -= n;
    this.settle();
  }

  /** Call just before asking node-llama-cpp for a decode. */
  sent(): void {
    this.inFlight++;
  }

  /** Call when that decode's result (a token, or logits) came back, or it failed. */
  received(): void {
    this.inFlight--;
    this.settle();
  }

  /**
   * Call after handling a token, before asking for the next: resolves once no other
   * generation is being sampled, so the next decodes go out together. Undefined (no
   * await) when nothing is in flight, which is always the case for a lone stream.
   */
  ready(): Promise<void> | undefined {
    if (this.inFlight <= this.queued()) return undefined;
    return new Promise<void>((resolve) => {
      this.held.push(resolve);
      this.settle();
    });
  }

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

  /**
   * Undefined unless an edit is pending; else a stream awaits it before its next decode,
   * parked: it cannot queue until the edit is done, so a batch is not held for it (nor is
   * a decode the edit itself queues: erasing may re-evaluate the kept tokens).
   */
  pass(): Promise<void> | undefined {
    if (!this.reopen) return undefined;
    this.parked++;
    const parked = this.reopen.then(() => {
      this.parked--;
    });
    this.settle();
    return parked;
  }

  readonly schedule: CustomBatchingDispatchSchedule = (dispatch) => {
    // node-llama-cpp dispatches by itself when every sequence of the context has queued,
    // and may have drained the queue (synchronously) before asking: nothing to hold.
    if (this.queued() === 0) return;
    this.dispatch = dispatch;
    this.settle();
  };

  private settle(): void {
    const queued = this.queued();
    if (this.held.length > 0 && this.inFlight <= queued) this.releaseHeld();
    if (this.dispatch && queued >= this.running - this.parked) this.go();
    const waiting = this.held.length > 0 || this.dispatch !== undefined;
    if (waiting && this.guard === undefined) this.guard = setTimeout(this.expire, GUARD_MS);
    else if (!waiting && this.guard !== undefined) {
      clearTimeout(this.guard);
      this.guard = undefined;
    }
  }

  private readonly expire = (): void => {
    this.guard = undefined;
    if (this.held.length === 0 && !this.dispatch) return;
    // A held dispatch whose decodes node-llama-cpp's running batch loop took meanwhile is
    // no stall, but it must still run: node-llama-cpp asks the schedule again only after
    // its dispatch has run (dropping it hung every later decode of the context).
    if (this.held.length > 0 || this.queued() > 0) this.stalls++;
    if (this.held.length > 0) this.releaseHeld();
    if (this.dispatch) this.go();
  };

  private releaseHeld(): void {
    const held = this.held;
    this.held = [];
    for (const resolve of held) resolve();
  }

  private go(): void {
    this.batches++;
    const d = this.dispatch!;
    this.dispatch = undefined;
    d();
  }
}
