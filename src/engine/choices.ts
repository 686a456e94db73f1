/**
 * The pure half of choice scoring (/v1/decide, WebSocket `choices`): how a choice is
 * joined to the prompt, the order that lets choices sharing a prefix share its
 * evaluation, and the softmax over total log-probabilities. The worker half, which
 * evaluates tokens, is src/engine/score.ts.
 */

// Generic over the token type (node-llama-cpp's branded `Token`, plain numbers in tests).
/**
 * The text scored after the prompt: the choice, preceded by one space when neither the
 * prompt's end nor the choice's start is whitespace (`Direction:` + `up` → ` up`).
 */
export function continuationText(prompt: string, choice: string): string {
  const endsWs = /\s$/u.test(prompt);
  const startsWs = /^\s/u.test(choice);
  return endsWs || startsWs ? choice : ' ' + choice;
}

/**
 * The continuation's tokens after `promptTokens`: the tokens of prompt + continuation
 * past the prompt's own tokens when the tokenizer keeps the prompt's tokens intact (how
 * the model would read the whole text), else `alone` (the continuation tokenized by
 * itself, leading space kept) when the tokenizer merges across the join.
 */
export function continuationTokens<T extends number>(
  promptTokens: readonly T[],
  whole: readonly T[],
  alone: () => T[],
): T[] {
  if (whole.length > promptTokens.length) {
    let k = 0;
    while (k < promptTokens.length && whole[k] === promptTokens[k]) k++;
    if (k === promptTokens.length) return whole.slice(k);
  }
  return alone();
}

/**
 * Choice indexes in lexicographic order of their tokens: consecutive choices then share
 * their longest common prefix, so a walk in this order evaluates each shared prefix once
 * (a depth-first walk of the token trie).
 */
export function trieOrder(conts: readonly (readonly number[])[]): number[] {
  const idx = conts.map((_, i) => i);
  idx.sort((a, b) => {
    const x = conts[a]!;
    const y = conts[b]!;
    const n = Math.min(x.length, y.length);
    for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return x.length - y.length;
  });
  return idx;
}

/** Length of the common prefix of two token arrays. */
export function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let k = 0;
  while (k < n && a[k] === b[k]) k++;
  return k;
}

/** Length of the token prefix every sequence shares (the whole sequence when there is one). */
export function sharedPrefixLength(seqs: readonly (readonly number[])[]): number {
  let k = seqs[0]?.length ?? 0;
  for (let i = 1; i < seqs.length && k > 0; i++) k = Math.min(k, commonPrefix(seqs[0]!, seqs[i]!));
  return k;
}

/**
 * For each trie node (a token prefix, keyed by its tokens joined with ','), the tokens
 * that follow it in some choice: the logits asked for after evaluating that prefix.
 */
export function nextTokensByPrefix<T extends number>(conts: readonly (readonly T[])[]): Map<string, T[]> {
  const out = new Map<string, Set<T>>();
  for (const c of conts)
    for (let d = 0; d < c.length; d++) {
      const key = c.slice(0, d).join(',');
      let s = out.get(key);
      if (!s) out.set(key, (s = new Set()));
      s.add(c[d]!);
    }
  return new Map([...out].map(([k, s]) => [k, [...s]]));
}

/**
 * The trie nodes (keyed like nextTokensByPrefix) whose next-token logits are read: those
 * before a scored token, i.e. at depth from[i]..len-1 of continuation i. A ticker's
 * suffix tokens (depth < from[i]) are evaluated without logits.
 */
export function scoredPrefixes(conts: readonly (readonly number[])[], from: readonly number[]): Set<string> {
  const out = new Set<string>();
  conts.forEach((c, i) => {
    for (let d = from[i] ?? 0; d < c.length; d++) out.add(c.slice(0, d).join(','));
  });
  return out;
}

/** Softmax of total log-probabilities (numerically stable); sums to 1. */
export function softmax(logprobs: readonly number[]): number[] {
  const max = Math.max(...logprobs);
  const e = logprobs.map((l) => Math.exp(l - max));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

/** Index of the largest value (the first on a tie). */
export function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}
