/**
 * The worker's sequence pool. All of the context's sequences are taken once at load
 * and reused, never disposed: node-llama-cpp reclaims a disposed sequence id
 * asynchronously, so dispose-then-get races the next request. Reuse has a second
 * benefit: the part of a sequence's KV cache that matches the new prompt is kept, so
 * acquire() prefers the free sequence with the longest common prefix (skill templates
 * and system prompts repeat).
 *
 * A sequence comes back holding its prompt only (`release(seq, keep)`: all but the
 * prompt's last token, which the next request evaluates anyway for its logits, so the
 * same prompt again needs no KV edit at all). When requests rotated over sequences that
 * each kept a whole generation, a lone stream on an 8-sequence context decoded at 84% of
 * a 1-sequence one (bench/README.md, "A lone stream: lanes, idle sequences' KV cache…").
 * The cause read then, llama.cpp attending over cells any sequence holds, does not hold
 * for these per-sequence KV streams: a lone stream's step beside an idle sequence holding
 * 910 tokens is within noise of one beside an empty sequence (bench/e2e/prefix-keep.ts).
 *
 * Among equally good sequences the lowest id is taken, so the ids of the streams that run
 * together stay adjacent (a lone stream keeps reusing one sequence too): llama.cpp
 * decodes a batch as one micro-batch, on the previous step's graph, only when its
 * sequence ids increase by one (src/engine/batching.ts). Streams on sequences 0 and 2
 * ran 1.4 ms a step where 0 and 1 ran 0.8 (bench/README.md, "One micro-batch per step").
 * A shared prefix shorter than `MIN_REUSE` tokens (the BOS every prompt starts with)
 * counts only when the sequence holds nothing else (the same short prompt again): it
 * saves less than the id order does, and taking it would mean a KV edit.
 *
 * A request that reuses nothing does not take a sequence holding `KEEP_MIN` tokens or
 * more while one holding less is free: that cache is a template or a long prompt that
 * may come back (a skill's ~600-token template), and evicting it for an unrelated short
 * request made the next 916-token prompt prefill from scratch (408–421 ms on stories260K
 * instead of ~2 ms, bench/e2e/prefix-keep.ts), and keeping it costs the other streams
 * nothing measurable (above). Short prompts below KEEP_MIN are cheap to redo and go by
 * id, so a lone stream of varied short prompts keeps reusing one sequence. When every
 * free sequence holds a long cache, the least recently used one goes (one-off long
 * prompts, new documents, would otherwise evict by id the template in sequence 0).
 */
import type { LlamaContext, LlamaContextSequence, Token } from 'node-llama-cpp';
import type { BatchGate } from './batching';

/** A shared prefix shorter than this is not worth a sequence out of id order and a KV edit. */
export const MIN_REUSE = 8;

/** A cache at least this long is kept from requests that reuse none of it while another sequence is free. */
export const KEEP_MIN = 64;

/**
 * A busy sequence's cache is copied to a new request's sequence (`donorFor`) when it
 * holds at least this many more tokens of the new prompt's start than that sequence does.
 */
export const COPY_MIN = 64;

/** A busy sequence to copy a prompt's start from, and how many tokens of it to keep. */
export interface Donor {
  from: LlamaContextSequence;
  upTo: number;
  /**
   * Set when the donor's request has yet to evaluate part of those tokens (its own prompt
   * shares more than its cache holds now): resolves once it has (its first token), or it
   * ended. Wait for it outside the batch (before BatchGate.enter).
   */
  ready?: Promise<void> | undefined;
}

/** A request on a sequence: its prompt, and whether the prompt is evaluated yet. */
interface OnSeq {
  prompt: readonly Token[];
  evaluated: Promise<void>;
  done: () => void;
}

/**
 * A free sequence as the place for a prompt: the start it shares (0 when not worth
 * reusing), whether it holds a long cache the prompt would evict, when it was last given
 * back, and its id. The worker's choice (`acquire`) and the main thread's mirror of it
 * (src/engine/cache-mirror.ts) both rank places with `betterFit`.
 */
export interface Fit {
  shared: number;
  keep: boolean;
  used: number;
  id: number;
}

/** Whether `a` is the better place than `b`: longer reuse; then a cache cheap to lose; among long caches the least recently used; then the lowest id. */
export function betterFit(a: Fit, b: Fit | undefined): boolean {
  if (!b) return true;
  if (a.shared !== b.shared) return a.shared > b.shared;
  if (a.keep !== b.keep) return !a.keep;
  if (a.keep && a.used !== b.used) return a.used < b.used;
  return a.id < b.id;
}

/** Tokens at the start of `tokens` that `cached` holds. */
function sharedStart(cached: readonly Token[], tokens: readonly Token[]): number {
  const n = Math.min(cached.length, tokens.length);
  let k = 0;
  while (k < n && cached[k] === tokens[k]) k++;
  return k;
}

export class SequencePool {
  private readonly free: LlamaContextSequence[] = [];
  /** Sequences a request is on (taken, not yet given back), with its prompt: donors for `donorFor`. */
  private readonly busy = new Map<LlamaContextSequence, OnSeq>();
  /**
   * Each sequence's id in llama.cpp (node-llama-cpp's internal `_sequenceId`; if that
   * moved, the order taken, which is the id order on a fresh context).
   */
  private readonly ids = new Map<LlamaContextSequence, number>();
  /** When each sequence was last given back (a counter): the least recently used long cache goes first. */
  private readonly usedAt = new Map<LlamaContextSequence, number>();
  private uses = 0;
  /** Requests that found no free sequence while one was being trimmed. */
  private readonly waiters: ((seq: LlamaContextSequence) => void)[] = [];
  readonly size: number;

  constructor(
    context: LlamaContext,
    private readonly gate: BatchGate,
  ) {
    while (context.sequencesLeft > 0) {
      const seq = context.getSequence();
      const id = (seq as unknown as { _sequenceId?: unknown })._sequenceId;
      this.ids.set(seq, typeof id === 'number' ? id : this.free.length);
      this.free.push(seq);
    }
    this.size = this.free.length;
  }

  get available(): number {
    return this.free.length;
  }

  /** The sequence's id in llama.cpp (what the worker reports to the main thread's CacheMirror). */
  idOf(seq: LlamaContextSequence): number {
    return this.ids.get(seq) ?? -1;
  }

  /**
   * Takes the free sequence whose cached tokens share the longest prefix with `tokens`
   * (at least MIN_REUSE tokens, or all it holds); when none shares one, a sequence
   * holding under KEEP_MIN tokens before one holding more, and of those the least
   * recently used; among other ties, the lowest id. Undefined when none is free.
   */
  acquire(tokens: readonly Token[]): LlamaContextSequence | undefined {
    let best = -1;
    let bestFit: Fit | undefined;
    for (let i = 0; i < this.free.length; i++) {
      const seq = this.free[i]!;
      const cached = seq.contextTokens;
      let k = sharedStart(cached, tokens);
      if (k < MIN_REUSE && k < cached.length) k = 0;
      const fit: Fit = {
        shared: k,
        // Only a sequence that would lose its whole cache can be worth keeping.
        keep: k === 0 && cached.length >= KEEP_MIN,
        used: this.usedAt.get(seq) ?? 0,
        id: this.ids.get(seq)!,
      };
      if (betterFit(fit, bestFit)) [best, bestFit] = [i, fit];
    }
    if (best < 0) return undefined;
    const seq = this.free.splice(best, 1)[0]!;
    this.onSeq(seq, tokens);
    return seq;
  }

  private onSeq(seq: LlamaContextSequence, prompt: readonly Token[]): void {
    let done!: () => void;
    const evaluated = new Promise<void>((r) => (done = r));
    this.busy.set(seq, { prompt, evaluated, done });
  }

  /** The request on `seq` has evaluated its prompt (its first token came). */
  evaluated(seq: LlamaContextSequence): void {
    this.busy.get(seq)?.done();
  }

  /**
   * A busy sequence holding, or about to hold, at least COPY_MIN more tokens of `tokens`'
   * start than `seq` (just taken for them) does, if any: copying its cache (llama.cpp's
   * seq_cp) costs a buffer copy where evaluating those tokens costs a prefill. The case
   * it serves: a skill's template run for several tickers at once, where only one request
   * can hold the cached copy and the others evaluated the whole template again. When the
   * request on it has yet to evaluate COPY_MIN or more of the shared tokens (requests
   * that share a news item sent together: nothing of it is cached anywhere), the copy
   * waits for that (`ready`): one evaluation, then copies, instead of each request
   * evaluating it at once in the same batches. At most all but the prompt's last token is
   * kept (its logits give the first sampled token).
   */
  donorFor(seq: LlamaContextSequence, tokens: readonly Token[]): Donor | undefined {
    const own = sharedStart(seq.contextTokens, tokens);
    let donor: Donor | undefined;
    for (const [other, on] of this.busy) {
      if (other === seq) continue;
      const now = Math.min(sharedStart(other.contextTokens, tokens), tokens.length - 1);
      const soon = Math.min(Math.max(now, sharedStart(on.prompt, tokens)), tokens.length - 1);
      const upTo = soon - now >= COPY_MIN ? soon : now;
      if (upTo >= own + COPY_MIN && upTo > (donor?.upTo ?? 0))
        donor = { from: other, upTo, ready: upTo > now ? on.evaluated : undefined };
    }
    return donor;
  }

  /**
   * A free sequence, or the next one given back when every sequence is busy or still
   * being trimmed (the main thread dispatches only when it counts one free, so one is
   * on its way back).
   */
  take(tokens: readonly Token[]): LlamaContextSequence | Promise<LlamaContextSequence> {
    return (
      this.acquire(tokens) ??
      new Promise((resolve) =>
        this.waiters.push((seq) => {
          this.onSeq(seq, tokens);
          resolve(seq);
        }),
      )
    );
  }

  /**
   * Gives a sequence back once its KV cache past the first `keep` tokens is erased (a
   * generation's output, a scoring's last branch; `keep` 0 empties it). The erase takes
   * the context lock through the gate, so running streams pause for it, not for a step.
   */
  async release(seq: LlamaContextSequence, keep: number): Promise<void> {
    // A request waiting to copy from it copies what it holds now (its prompt, if evaluated).
    this.busy.get(seq)?.done();
    this.busy.delete(seq);
    if (seq.nextTokenIndex > keep) {
      try {
        await this.gate.edit(() => seq.eraseContextTokenRanges([{ start: keep, end: seq.nextTokenIndex }]));
      } catch {
        // The context is being replaced (worker recovery) or the erase failed: the next
        // prompt's own prefix edit erases what differs anyway.
      }
    }
    this.usedAt.set(seq, ++this.uses);
    const waiter = this.waiters.shift();
    if (waiter) waiter(seq);
    else this.free.push(seq);
  }
}

/**
 * Before a prompt is evaluated on `seq`: the start `donor` holds copied in first, if any,
 * then the KV cache of the longest prefix `seq` shares with the prompt kept, all but the
 * prompt's last token at most (its logits give the first answer token), as one KV edit.
 * Returns the tokens left to evaluate. Generations (decode.ts) and scorings (score.ts).
 */
export async function keepPrompt(
  gate: BatchGate,
  seq: LlamaContextSequence,
  prompt: readonly Token[],
  donor: Donor | undefined,
): Promise<Token[]> {
  await gate.edit(async () => {
    if (donor) await copyStart(seq, donor);
    await seq.adaptStateToTokens(prompt.slice(0, -1), false);
  });
  return prompt.slice(seq.nextTokenIndex);
}

/**
 * Copies the first `donor.upTo` tokens of `donor.from`'s cache into `seq` (node-llama-cpp's
 * internal `_copyStateFromOtherSequence`: llama.cpp's seq_cp, then the rest erased). Run
 * it as a KV edit (BatchGate.edit). False when it could not (that method gone from a newer
 * node-llama-cpp, or the copy failed): `seq` then holds what it held, or nothing, and the
 * prompt is evaluated as usual.
 */
export async function copyStart(seq: LlamaContextSequence, donor: Donor): Promise<boolean> {
  type Copy = (from: LlamaContextSequence, upTo: number) => Promise<boolean>;
  const copy = (seq as unknown as { _copyStateFromOtherSequence?: Copy })._copyStateFromOtherSequence;
  if (typeof copy !== 'function') return false;
  try {
    if (await copy.call(seq, donor.from, donor.upTo)) return true;
  } catch {
    // Below: whatever the copy left is dropped.
  }
  await seq.clearHistory();
  return false;
}
