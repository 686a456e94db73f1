/**
 * One request's redaction state: the value ↔ placeholder map. The same value always
 * gets the same placeholder within a request (`<EMAIL_1>` twice means the same
 * address), across the prompt and every message, so the model can still reason about
 * identity. The restorer maps placeholders in the answer back, also when a streamed
 * answer splits a placeholder across chunks.
 */
import { detect, type Detector } from './detectors';

const PLACEHOLDER_RE = /<([A-Z][A-Z0-9_]*_\d+)>/g;
/** A trailing fragment that could still grow into a placeholder: `<`, `<EM`, `<EMAIL_1`. */
const PARTIAL_RE = /<[A-Z0-9_]*$/;

export class RedactionSession {
  private readonly byValue = new Map<string, string>();
  private readonly byPlaceholder = new Map<string, string>();
  private readonly counters = new Map<string, number>();
  private longest = 0;

  constructor(private readonly detectors: readonly Detector[]) {}

  /** Number of distinct values masked so far. */
  get size(): number {
    return this.byValue.size;
  }

  /** Placeholder → original, for audit or debugging (never log it for real traffic). */
  entries(): [string, string][] {
    return [...this.byPlaceholder.entries()];
  }

  private placeholderFor(type: string, value: string): string {
    const known = this.byValue.get(value);
    if (known) return known;
    const n = (this.counters.get(type) ?? 0) + 1;
    this.counters.set(type, n);
    const ph = `<${type}_${n}>`;
    this.byValue.set(value, ph);
    this.byPlaceholder.set(ph, value);
    this.longest = Math.max(this.longest, ph.length);
    return ph;
  }

  /** Masks every detected value in `text`. */
  mask(text: string): string {
    const spans = detect(text, this.detectors);
    if (spans.length === 0) return text;
    let out = '';
    let at = 0;
    for (const s of spans) {
      out += text.slice(at, s.start) + this.placeholderFor(s.type, text.slice(s.start, s.end));
      at = s.end;
    }
    return out + text.slice(at);
  }

  /** Replaces this session's placeholders with the originals; unknown ones stay as they are. */
  restore(text: string): string {
    if (this.byPlaceholder.size === 0 || !text.includes('<')) return text;
    return text.replace(PLACEHOLDER_RE, (ph) => this.byPlaceholder.get(ph) ?? ph);
  }

  /** A restorer for one streamed answer. */
  createRestorer(): StreamRestorer {
    return new StreamRestorer(this, () => this.longest);
  }
}

/**
 * Restores a stream chunk by chunk. Holds back at most one placeholder's length of
 * text when a chunk ends in something that could be the start of a placeholder, and
 * releases it with the next chunk (or `flush`). Text that cannot be a placeholder is
 * never delayed.
 */
export class StreamRestorer {
  private held = '';

  constructor(
    private readonly session: RedactionSession,
    private readonly longest: () => number,
  ) {}

  push(chunk: string): string {
    const text = this.held + chunk;
    this.held = '';
    const max = this.longest();
    if (max === 0) return text;
    const m = PARTIAL_RE.exec(text);
    if (m && text.length - m.index < max) {
      this.held = text.slice(m.index);
      return this.session.restore(text.slice(0, m.index));
    }
    return this.session.restore(text);
  }

  /** Releases whatever is held back; call once when the stream ends. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return this.session.restore(rest);
  }
}
