/**
 * The main thread's view of what each worker's sequences hold in their KV caches, so
 * admission predicts how much of a prompt a request will evaluate from what is cached
 * now, not from what its kind of prompt found before.
 *
 * A sequence keeps the prompt of the last request it served (src/engine/sequences.ts),
 * and the worker says which sequence a request took (`WorkerFirst.seq`, `DecodeStats.seq`).
 * The mirror keeps that prompt's text per sequence and whether a request is on it. A new
 * prompt is expected to reuse the longest start it shares with a sequence no request is
 * on, as the worker's SequencePool chooses, less what requests already sent but not yet
 * placed may take: each is assumed to have taken the best match (a request the mirror
 * cannot place yet is counted against the prediction, never for it).
 *
 * It replaces a share learnt per prompt family (the prompt's first 128 characters), which
 * could only average what a family found: a template whose only cached copy was evicted by
 * unrelated long documents was predicted cached (−63…−65% on stories260K, ~600 ms
 * predicted ~200), the next cached request predicted at 3–4× after that miss, and of two
 * copies sent at once both were predicted as the average of a hit and a miss
 * (bench/e2e/prefix-keep.ts --only evict).
 *
 * Text, not tokens: the main thread does not tokenize. The shared start in characters over
 * the prompt's characters is taken as the share of its tokens reused. What the mirror does
 * not see: a request that fails before its first token leaves its sequence holding part
 * of a prompt (the mirror keeps the old text until the sequence is placed again), and a
 * worker that recovers from a crash starts empty (`clear`).
 */

/** A shared start shorter than this is not reused (the worker's MIN_REUSE is 8 tokens, ~3 characters each). */
export const MIN_SHARED_CHARS = 24;

interface Held {
  text: string;
  /** A request is on it now. */
  busy: boolean;
}

interface Worker {
  seqs: (Held | undefined)[];
  /** Requests sent to this worker whose sequence it has not named yet. */
  unplaced: number;
}

export class CacheMirror {
  private readonly workers: Worker[] = [];

  private worker(w: number): Worker {
    return (this.workers[w] ??= { seqs: [], unplaced: 0 });
  }

  /**
   * Characters at the start of `text` expected to be found cached on worker `w`: the
   * longest start shared with a sequence no request is on, after as many better matches
   * as requests not yet placed there; 0 below MIN_SHARED_CHARS.
   */
  reused(w: number, text: string): number {
    const wk = this.worker(w);
    const shared: number[] = [];
    for (const h of wk.seqs) {
      if (!h || h.busy) continue;
      const a = h.text;
      const n = Math.min(a.length, text.length);
      // Most cached prompts differ from a new one within the first characters.
      if (n === 0 || a.charCodeAt(0) !== text.charCodeAt(0)) continue;
      let k = 1;
      while (k < n && a.charCodeAt(k) === text.charCodeAt(k)) k++;
      if (k >= MIN_SHARED_CHARS) shared.push(k);
    }
    if (shared.length <= wk.unplaced) return 0;
    shared.sort((x, y) => y - x);
    return shared[wk.unplaced]!;
  }

  /** A request was sent to worker `w`. */
  sent(w: number): void {
    this.worker(w).unplaced++;
  }

  /** The worker named the sequence a request sent to it took: it holds `text` now, busy. */
  placed(w: number, seq: number, text: string): void {
    const wk = this.worker(w);
    wk.unplaced = Math.max(0, wk.unplaced - 1);
    wk.seqs[seq] = { text, busy: true };
  }

  /** A request sent to worker `w` ended, on sequence `seq` (-1: never placed). */
  ended(w: number, seq: number): void {
    const wk = this.worker(w);
    if (seq < 0) wk.unplaced = Math.max(0, wk.unplaced - 1);
    else if (wk.seqs[seq]) wk.seqs[seq]!.busy = false;
  }

  /** Worker `w`'s sequences were emptied (a recovered or replaced worker). */
  clear(w: number): void {
    const wk = this.worker(w);
    wk.seqs = [];
  }
}
