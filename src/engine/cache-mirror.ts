/**
 * The main thread's view of what each worker's sequences hold in their KV caches, so
 * admission predicts how much of a prompt a request will evaluate from what is cached
 * now, not from what its kind of prompt found before, and so a model with several workers
 * sends a prompt where its start is held (`route`).
 *
 * A sequence keeps the prompt of the last request it served (src/engine/sequences.ts),
 * and the worker says which sequence a request took (`WorkerFirst.seq`, `DecodeStats.seq`).
 * The mirror keeps that prompt's text per sequence, whether a request is on it and when it
 * was last given back. It places a new prompt as the worker's `SequencePool.acquire`
 * would: the free sequence sharing the longest start with it; when none shares one, one
 * holding a short prompt (or nothing) before one holding a long one, of those the least
 * recently used; then the lowest id. Requests already sent but not yet placed are placed
 * first, in the order sent, each by its own prompt: a request for another template takes
 * another sequence, not the one this prompt needs. A start a request's prompt shares with
 * the prompt of a request already on a sequence (or sent before it) counts too, when it
 * is much longer than the free sequence's: the worker copies that sequence's cache, once
 * that request has evaluated it (SequencePool.donorFor); how much it waits for is
 * `waitChars`.
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
import { betterFit, COPY_MIN, KEEP_MIN, MIN_REUSE, type Fit } from './sequences';

/** A shared start shorter than this is not reused (the worker's MIN_REUSE tokens, ~3 characters each). */
export const MIN_SHARED_CHARS = 3 * MIN_REUSE;

/** A prompt held at least this long is a cache the worker keeps from unrelated requests while it can (its KEEP_MIN tokens). */
export const KEEP_CHARS = 3 * KEEP_MIN;

/** A busy sequence holding this many more characters of a prompt's start than its own sequence is copied from (the worker's COPY_MIN tokens). */
export const COPY_CHARS = 3 * COPY_MIN;

interface Held {
  text: string;
  /** A request is on it now. */
  busy: boolean;
  /** When it was last given back (the mirror's counter): the least recently used long cache goes first. */
  usedAt: number;
}

interface Worker {
  seqs: (Held | undefined)[];
  /** The prompts of requests sent to this worker whose sequence it has not named yet, in the order sent. */
  unplaced: string[];
}

/** A request sent but not yet placed, and the sequence it is expected to take: its prompt, and the characters of it found there (or copied). */
interface Taker {
  text: string;
  holds: number;
}

/** Where a prompt would go on one worker. */
interface Placement {
  /** The sequence (-1: none free). */
  seq: number;
  /** Characters at its start found there (0 below MIN_SHARED_CHARS). */
  shared: number;
  /** It takes a sequence holding a long prompt it shares nothing with: that cache is lost. */
  evicts: boolean;
  /**
   * Characters of `shared` a request sent before it (not yet placed: its first token has
   * not come) has yet to evaluate: the worker waits for that, then copies.
   */
  waitChars: number;
}

export class CacheMirror {
  private readonly workers: Worker[] = [];
  private uses = 0;

  /** `sequences`: each worker's. */
  constructor(readonly sequences: number) {}

  private worker(w: number): Worker {
    return (this.workers[w] ??= { seqs: [], unplaced: [] });
  }

  /**
   * Characters at the start of `text` expected to be found cached (or copied) on worker
   * `w`, once the requests sent there but not yet placed have taken theirs (0 below
   * MIN_SHARED_CHARS), and how many of them wait for a request sent before it to evaluate
   * them (Placement.waitChars).
   */
  expect(w: number, text: string): { reused: number; waitChars: number } {
    const at = this.place(w, text);
    return { reused: at.shared, waitChars: at.waitChars };
  }

  /**
   * Where a prompt should go when there are several workers (replicas > 1), and the
   * characters of it expected cached there: the worker where it costs least,
   * `costMs(batch, share)` (the pool's: its service time and the time its prompt
   * evaluation holds the requests running there) at the batch it would make there (its requests in flight,
   * `loads[w]`, plus one) and the share of its prompt it would evaluate, among workers
   * with a sequence free (all of them when none has one). Among equals, one where it
   * evicts no long cache, then the less loaded, then the lower index. A prompt that shares
   * a template with what a worker holds goes back to that worker unless the bigger batch
   * there costs more than evaluating the template again elsewhere, so each worker keeps
   * its own templates warm instead of every worker evaluating every template in turn; and
   * a new template goes where it displaces nothing (with least-busy dispatch, a lone
   * client's prompts all went to worker 0, idle workers being equal, and its sequences
   * cycled through seven templates while worker 1's stayed empty:
   * bench/e2e/replica-routing.ts).
   */
  route(
    text: string,
    loads: readonly number[],
    costMs: (batch: number, share: number) => number,
  ): { worker: number; reused: number; waitChars: number } {
    if (loads.length <= 1) return { worker: 0, ...this.expect(0, text) };
    const anyFree = loads.some((n) => n < this.sequences);
    let best = -1;
    let bestMs = Infinity;
    let bestReused = 0;
    let bestWait = 0;
    let bestEvicts = true;
    for (let w = 0; w < loads.length; w++) {
      if (anyFree && loads[w]! >= this.sequences) continue;
      const at = this.place(w, text);
      const ms = costMs(loads[w]! + 1, text.length > 0 ? 1 - at.shared / text.length : 1);
      if (ms > bestMs) continue;
      if (
        ms === bestMs &&
        (at.evicts > bestEvicts || (at.evicts === bestEvicts && loads[w]! >= loads[best]!))
      )
        continue;
      best = w;
      bestMs = ms;
      bestReused = at.shared;
      bestWait = at.waitChars;
      bestEvicts = at.evicts;
    }
    return { worker: best, reused: bestReused, waitChars: bestWait };
  }

  /** A request with prompt `text` was sent to worker `w`. */
  sent(w: number, text: string): void {
    this.worker(w).unplaced.push(text);
  }

  /** The worker named the sequence a request sent to it took: it holds `text` now, busy. */
  placed(w: number, seq: number, text: string): void {
    const wk = this.worker(w);
    this.unsend(wk, text);
    wk.seqs[seq] = { text, busy: true, usedAt: wk.seqs[seq]?.usedAt ?? 0 };
  }

  /** A request with prompt `text` sent to worker `w` ended, on sequence `seq` (-1: never placed). */
  ended(w: number, seq: number, text: string): void {
    const wk = this.worker(w);
    const h = seq >= 0 ? wk.seqs[seq] : undefined;
    if (!h) {
      this.unsend(wk, text);
      return;
    }
    h.busy = false;
    h.usedAt = ++this.uses;
  }

  /** Worker `w`'s sequences were emptied (a recovered or replaced worker). */
  clear(w: number): void {
    this.worker(w).seqs = [];
  }

  private unsend(wk: Worker, text: string): void {
    const i = wk.unplaced.indexOf(text);
    if (i >= 0) wk.unplaced.splice(i, 1);
    else wk.unplaced.shift();
  }

  /** Where `text` would go on worker `w` after the unplaced requests there took theirs. */
  private place(w: number, text: string): Placement {
    const wk = this.worker(w);
    if (wk.unplaced.length === 0) return this.pick(wk, text, undefined);
    const taken = new Map<number, Taker>();
    for (const t of wk.unplaced) {
      const at = this.pick(wk, t, taken);
      if (at.seq >= 0) taken.set(at.seq, { text: t, holds: at.shared });
    }
    return this.pick(wk, text, taken);
  }

  /**
   * SequencePool.acquire's choice among the free sequences not `taken` (by an unplaced
   * request, with its prompt), in characters; busy and taken sequences as donors.
   */
  private pick(wk: Worker, text: string, taken: Map<number, Taker> | undefined): Placement {
    let best = -1;
    let bestFit: Fit | undefined;
    let busyShared = 0;
    let busyWait = 0;
    for (let i = 0; i < this.sequences; i++) {
      const h = wk.seqs[i];
      const held = h?.text ?? '';
      let k = sharedChars(held, text);
      const by = taken?.get(i);
      if (h?.busy || by !== undefined) {
        // A placed request has evaluated its prompt (the worker names the sequence with its
        // first token): copied now. One not placed yet holds at first what it found (in
        // that sequence, or copied); the rest it shares with this prompt is copied once it
        // has evaluated it (SequencePool.donorFor).
        let soon = k;
        if (by !== undefined) {
          soon = sharedChars(by.text, text);
          k = Math.min(soon, by.holds);
        }
        const upTo = soon - k >= COPY_CHARS ? soon : k;
        if (upTo > busyShared) [busyShared, busyWait] = [upTo, upTo - k];
        continue;
      }
      if (k < MIN_SHARED_CHARS && k < held.length) k = 0;
      const fit: Fit = { shared: k, keep: k === 0 && held.length >= KEEP_CHARS, used: h?.usedAt ?? 0, id: i };
      if (betterFit(fit, bestFit)) [best, bestFit] = [i, fit];
    }
    if (best < 0) return { seq: -1, shared: 0, evicts: false, waitChars: 0 };
    let shared = bestFit!.shared >= MIN_SHARED_CHARS ? bestFit!.shared : 0;
    let waitChars = 0;
    // The worker copies a busy sequence's cache when it holds much more (SequencePool.donorFor).
    if (busyShared >= shared + COPY_CHARS) [shared, waitChars] = [busyShared, busyWait];
    return { seq: best, shared, evicts: bestFit!.keep, waitChars };
  }
}

/** Characters at the start of `text` that `held` holds. */
function sharedChars(held: string, text: string): number {
  const n = Math.min(held.length, text.length);
  // Most held prompts differ from a new one within the first characters.
  if (n === 0 || held.charCodeAt(0) !== text.charCodeAt(0)) return 0;
  let k = 1;
  while (k < n && held.charCodeAt(k) === text.charCodeAt(k)) k++;
  return k;
}
