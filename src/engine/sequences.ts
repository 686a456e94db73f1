/**
 * The worker's sequence pool. All of the context's sequences are taken once at load
 * and reused, never disposed: node-llama-cpp reclaims a disposed sequence id
 * asynchronously, so dispose-then-get races the next request. Reuse has a second
 * benefit: the part of a sequence's KV cache that matches the new prompt is kept, so
 * acquire() prefers the free sequence with the longest common prefix (skill templates
 * and system prompts repeat).
 *
 * What an idle sequence keeps costs every stream of the context: llama.cpp attends over
 * the KV cells up to the highest one in use, whichever sequence holds it. A sequence
 * that kept its last generation's output (and a warm-up's) made a lone stream on an
 * 8-sequence context decode at 84% of a 1-sequence one, and its first token ~250 µs
 * later (bench/README.md, "A lone stream: lanes, idle sequences' KV cache…"). So a
 * sequence comes back holding its prompt only (`release(seq, keep)`: all but the
 * prompt's last token, which the next request evaluates anyway for its logits, so the
 * same prompt again needs no KV edit at all).
 *
 * Among equally good sequences the lowest id is taken, so the ids of the streams that run
 * together stay adjacent (a lone stream keeps reusing one sequence too): llama.cpp
 * decodes a batch as one micro-batch, on the previous step's graph, only when its
 * sequence ids increase by one (src/engine/batching.ts). Streams on sequences 0 and 2
 * ran 1.4 ms a step where 0 and 1 ran 0.8 (bench/README.md, "One micro-batch per step").
 * A shared prefix shorter than `MIN_REUSE` tokens (the BOS every prompt starts with)
 * counts only when the sequence holds nothing else (the same short prompt again): it
 * saves less than the id order does, and taking it would mean a KV edit.
 */
import type { LlamaContext, LlamaContextSequence, Token } from 'node-llama-cpp';
import type { BatchGate } from './batching';

/** A shared prefix shorter than this is not worth a sequence out of id order and a KV edit. */
export const MIN_REUSE = 8;

export class SequencePool {
  private readonly free: LlamaContextSequence[] = [];
  /**
   * Each sequence's id in llama.cpp (node-llama-cpp's internal `_sequenceId`; if that
   * moved, the order taken, which is the id order on a fresh context).
   */
  private readonly ids = new Map<LlamaContextSequence, number>();
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

  /**
   * Takes the free sequence whose cached tokens share the longest prefix with `tokens`
   * (at least MIN_REUSE tokens, or all it holds; among ties, the lowest id); undefined
   * when none is free.
   */
  acquire(tokens: readonly Token[]): LlamaContextSequence | undefined {
    let best = -1;
    let bestLen = -1;
    for (let i = 0; i < this.free.length; i++) {
      const seq = this.free[i]!;
      const cached = seq.contextTokens;
      const n = Math.min(cached.length, tokens.length);
      let k = 0;
      while (k < n && cached[k] === tokens[k]) k++;
      if (k < MIN_REUSE && k < cached.length) k = 0;
      if (k > bestLen || (k === bestLen && this.ids.get(seq)! < this.ids.get(this.free[best]!)!))
        [best, bestLen] = [i, k];
    }
    if (best < 0) return undefined;
    return this.free.splice(best, 1)[0];
  }

  /**
   * A free sequence, or the next one given back when every sequence is busy or still
   * being trimmed (the main thread dispatches only when it counts one free, so one is
   * on its way back).
   */
  take(tokens: readonly Token[]): LlamaContextSequence | Promise<LlamaContextSequence> {
    return this.acquire(tokens) ?? new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Gives a sequence back once its KV cache past the first `keep` tokens is erased (a
   * generation's output, a scoring's last branch; `keep` 0 empties it). The erase takes
   * the context lock through the gate, so running streams pause for it, not for a step.
   */
  async release(seq: LlamaContextSequence, keep: number): Promise<void> {
    if (seq.nextTokenIndex > keep) {
      try {
        await this.gate.edit(() => seq.eraseContextTokenRanges([{ start: keep, end: seq.nextTokenIndex }]));
      } catch {
        // The context is being replaced (worker recovery) or the erase failed: the next
        // prompt's own prefix edit erases what differs anyway.
      }
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter(seq);
    else this.free.push(seq);
  }
}
