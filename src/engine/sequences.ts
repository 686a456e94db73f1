/**
 * The worker's sequence pool. All of the context's sequences are taken once at load
 * and reused, never disposed: node-llama-cpp reclaims a disposed sequence id
 * asynchronously, so dispose-then-get races the next request. Reuse has a second
 * benefit: LlamaCompletion keeps the part of a sequence's KV cache that matches the
 * new prompt, so acquire() prefers the free sequence with the longest common prefix
 * (skill templates and system prompts repeat).
 */
import type { LlamaContext, LlamaContextSequence, Token } from 'node-llama-cpp';

export class SequencePool {
  private readonly free: LlamaContextSequence[] = [];
  readonly size: number;

  constructor(context: LlamaContext) {
    while (context.sequencesLeft > 0) this.free.push(context.getSequence());
    this.size = this.free.length;
  }

  get available(): number {
    return this.free.length;
  }

  /** Takes the free sequence whose cached tokens share the longest prefix with `tokens`; undefined when none is free. */
  acquire(tokens: readonly Token[]): LlamaContextSequence | undefined {
    let best = -1;
    let bestLen = -1;
    for (let i = 0; i < this.free.length; i++) {
      const cached = this.free[i]!.contextTokens;
      const n = Math.min(cached.length, tokens.length);
      let k = 0;
      while (k < n && cached[k] === tokens[k]) k++;
      if (k > bestLen) [best, bestLen] = [i, k];
    }
    if (best < 0) return undefined;
    return this.free.splice(best, 1)[0];
  }

  release(seq: LlamaContextSequence): void {
    this.free.push(seq);
  }
}
