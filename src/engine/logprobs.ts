/**
 * Logprob entries on the main thread. The worker sends each generated token's entry as
 * soon as it is sampled, with whatever text is ready (src/engine/outbox.ts); text can
 * lag behind the entries (a stop string or an incomplete UTF-8 character is held back).
 * `LogprobLineup` hands each streamed chunk the entries whose tokens it completes, by
 * length, as OpenAI's streamed chunks carry theirs; `trimLogprobs` cuts the whole list
 * to the final text. A token that never reaches the text (a stop string's) is in neither.
 */
import type { TokenLogprob } from '../core/types';

export class LogprobLineup {
  /** Every entry received, in token order. */
  readonly all: TokenLogprob[] = [];
  private given = 0;
  private givenChars = 0;
  private textChars = 0;

  add(entries: readonly TokenLogprob[] | undefined): void {
    if (entries) for (const e of entries) this.all.push(e);
  }

  /** The entries completed by the text streamed so far plus `text`. */
  take(text: string): TokenLogprob[] {
    this.textChars += text.length;
    const start = this.given;
    while (
      this.given < this.all.length &&
      this.givenChars + this.all[this.given]!.token.length <= this.textChars
    )
      this.givenChars += this.all[this.given++]!.token.length;
    return this.all.slice(start, this.given);
  }
}

/** The entries of the tokens that made the final text (a stop string cuts the text, not the list). */
export function trimLogprobs(lps: readonly TokenLogprob[], textLength: number): TokenLogprob[] {
  let n = 0;
  let chars = 0;
  while (n < lps.length && chars + lps[n]!.token.length <= textLength) chars += lps[n++]!.token.length;
  return lps.slice(0, n);
}
