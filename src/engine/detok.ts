/**
 * Incremental detokenization for streaming: turns one sampled token at a time into
 * text that is safe to send now.
 *
 * 1. A token is detokenized with the tokens before it as context, the prompt's last
 *    tokens for the first one (SentencePiece drops the leading space of a text's first
 *    piece: " there" would stream as "there").
 * 2. A multi-byte UTF-8 character can be split across byte tokens (`<0xE2>` `<0x82>`
 *    `<0xAC>`): alone, each decodes to U+FFFD. Such tokens are held back and decoded
 *    together with the next ones, until the text no longer ends in U+FFFD (or
 *    MAX_HELD tokens, the longest UTF-8 sequence, have been held: then the bytes really
 *    are invalid and U+FFFD is the honest text).
 * 3. At the end, whatever is held is flushed as is.
 */
import type { Token } from 'node-llama-cpp';

/** What the detokenizer needs of a model (LlamaModel has it). */
export interface Detokenizer {
  detokenize(tokens: readonly Token[], specialTokens?: boolean, lastTokens?: readonly Token[]): string;
  isSpecialToken(token: Token | undefined): boolean;
}

const REPLACEMENT = '\uFFFD';
const MAX_HELD = 4;
/** Context tokens passed to the detokenizer (node-llama-cpp uses at most its own small window). */
const CONTEXT = 4;

export class StreamDetokenizer {
  /** The prompt's tail, then every token generated so far. */
  private readonly tokens: Token[];
  private readonly base: number;
  private held = 0;

  constructor(
    private readonly model: Detokenizer,
    prompt: readonly Token[] = [],
  ) {
    this.tokens = prompt.slice(-CONTEXT);
    this.base = this.tokens.length;
  }

  /** Tokens generated so far (held ones included): the exact completion count. */
  get count(): number {
    return this.tokens.length - this.base;
  }

  /** Adds one generated token; returns the text it completes ('' while bytes are held). */
  push(token: Token): string {
    const t = this.tokens;
    t.push(token);
    const n = this.held + 1;
    const start = t.length - n;
    const ctx = start > 0 ? t.slice(Math.max(0, start - CONTEXT), start) : undefined;
    const text =
      n === 1
        ? this.model.detokenize([token], false, ctx)
        : this.model.detokenize(t.slice(start), false, ctx);
    if (text.endsWith(REPLACEMENT) && n < MAX_HELD && !this.model.isSpecialToken(token)) {
      this.held = n;
      return '';
    }
    this.held = 0;
    return text;
  }

  /** Text of tokens still held at the end of generation. */
  flush(): string {
    if (this.held === 0) return '';
    const t = this.tokens;
    const start = t.length - this.held;
    this.held = 0;
    return this.model.detokenize(t.slice(start), false, t.slice(Math.max(0, start - CONTEXT), start));
  }
}
