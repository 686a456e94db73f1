/**
 * Server-Sent Events parser, following the WHATWG HTML Living Standard,
 * §9.2.6 "Interpreting an event stream". Bytes may be split anywhere: inside a
 * UTF-8 sequence, inside a line, between CR and LF. The numbered comments below are
 * the spec's steps; the parser keeps no reconnection logic (the gateway retries whole
 * requests), but it does track `id` and `retry` as the spec says, for completeness.
 * Parsing is linear in the bytes received, and a line (or an event's data) is capped:
 * an upstream that never sends a newline fails the attempt instead of stalling the
 * event loop and growing memory.
 */

export interface SseEvent {
  /** `event:` field; 'message' when absent. */
  event: string;
  /** Data lines joined with LF, without the final LF. */
  data: string;
  /** Last event ID seen so far in the stream (spec: persists across events). */
  id: string;
}

/** An upstream broke the event-stream format in a way the parser will not absorb. */
export class SseProtocolError extends Error {
  override readonly name = 'SseProtocolError';
}

export interface SseParserOptions {
  /**
   * Longest line, and longest event data, in characters (UTF-16 units: bytes for ASCII
   * JSON). Past it the parser throws SseProtocolError instead of buffering without
   * bound. Default 1048576.
   */
  maxLineChars?: number | undefined;
}

export const DEFAULT_MAX_SSE_LINE_CHARS = 1 << 20;

export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  /**
   * The line not yet terminated, as the pieces it arrived in: joined once when its
   * terminator comes, so a long line split into many chunks costs linear time (the old
   * `buffer + text` rescanned and recopied it on every chunk).
   */
  private readonly partial: string[] = [];
  private partialLen = 0;
  private readonly maxLine: number;
  private sawFirstChunk = false;
  /** A CR ended the previous chunk; if the next chunk starts with LF, that LF belongs to it. */
  private pendingCr = false;
  private dataBuffer = '';
  private hasData = false;
  private eventType = '';
  private lastEventId = '';
  /** Reconnection time from `retry:`; unused by the gateway, kept per spec. */
  reconnectionTimeMs: number | undefined;

  constructor(opts: SseParserOptions = {}) {
    this.maxLine = opts.maxLineChars ?? DEFAULT_MAX_SSE_LINE_CHARS;
  }

  /**
   * Feeds raw bytes (or already-decoded text); returns the events completed by them.
   * Throws SseProtocolError when a line or an event's data exceeds `maxLineChars`.
   */
  push(chunk: Uint8Array | string): SseEvent[] {
    // 1. The stream is decoded as UTF-8; `stream: true` keeps a split multi-byte
    //    sequence for the next chunk instead of emitting U+FFFD.
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    // 2. One leading U+FEFF BOM, if any, is stripped from the stream (only once).
    if (!this.sawFirstChunk && text.length > 0) {
      this.sawFirstChunk = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.pendingCr && text.length > 0) {
      this.pendingCr = false;
      if (text.charCodeAt(0) === 0x0a) text = text.slice(1);
    }
    const out: SseEvent[] = [];
    let start = 0;
    // 3. Lines end with CRLF, a lone LF or a lone CR. Each chunk is searched once, by
    //    native indexOf; a position is searched again only after it was passed.
    let lf = text.indexOf('\n');
    let cr = text.indexOf('\r');
    while (lf !== -1 || cr !== -1) {
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(lf, cr);
      let line = text.slice(start, end);
      if (this.partialLen > 0) {
        this.partial.push(line);
        line = this.partial.join('');
        this.partial.length = 0;
        this.partialLen = 0;
      }
      if (line.length > this.maxLine) this.tooLong('line', line.length);
      this.line(line, out);
      start = end + 1;
      if (end === cr) {
        if (start < text.length) {
          if (text.charCodeAt(start) === 0x0a) start++;
        } else {
          // CR is the last character we have: an LF may follow in the next chunk.
          this.pendingCr = true;
        }
      }
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
      if (cr !== -1 && cr < start) cr = text.indexOf('\r', start);
    }
    if (start < text.length) {
      const rest = start === 0 ? text : text.slice(start);
      this.partialLen += rest.length;
      // Fail as soon as the cap is passed, not when (if ever) the line ends.
      if (this.partialLen > this.maxLine) this.tooLong('line', this.partialLen);
      this.partial.push(rest);
    }
    return out;
  }

  private tooLong(what: 'line' | 'event data', n: number): never {
    this.end();
    throw new SseProtocolError(`SSE ${what} longer than ${this.maxLine} characters (${n} so far)`);
  }

  /**
   * End of stream. 8. Per spec, an event not yet terminated by a blank line is
   * discarded: an upstream that cuts mid-event must not yield half an event.
   */
  end(): void {
    this.partial.length = 0;
    this.partialLen = 0;
    this.dataBuffer = '';
    this.hasData = false;
    this.eventType = '';
  }

  private line(line: string, out: SseEvent[]): void {
    // 4. An empty line dispatches the event.
    if (line.length === 0) {
      this.dispatch(out);
      return;
    }
    // 5. A line starting with ':' is a comment (keep-alives); ignore it.
    if (line.charCodeAt(0) === 0x3a) return;
    const colon = line.indexOf(':');
    let field: string;
    let value: string;
    if (colon >= 0) {
      // 6. "field: value": the value starts after the colon, minus one leading space.
      field = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 0x20 ? line.slice(colon + 2) : line.slice(colon + 1);
    } else {
      // 7. A line without a colon is a field name with an empty value.
      field = line;
      value = '';
    }
    this.field(field, value);
  }

  private field(name: string, value: string): void {
    switch (name) {
      case 'event':
        this.eventType = value;
        return;
      case 'data':
        // "Append the field value to the data buffer, then append a single LF."
        // The LF is added lazily (between lines) so the common one-line case allocates less.
        this.dataBuffer = this.hasData ? `${this.dataBuffer}\n${value}` : value;
        this.hasData = true;
        // Many short data lines without a blank line must not grow the buffer forever either.
        if (this.dataBuffer.length > this.maxLine) this.tooLong('event data', this.dataBuffer.length);
        return;
      case 'id':
        // An id containing U+0000 NULL is ignored.
        if (!value.includes('\u0000')) this.lastEventId = value;
        return;
      case 'retry':
        // Only ASCII digits set the reconnection time; anything else is ignored.
        if (/^\d+$/.test(value)) this.reconnectionTimeMs = Number(value);
        return;
      default:
        // Any other field is ignored.
        return;
    }
  }

  private dispatch(out: SseEvent[]): void {
    // 4a. If the data buffer is empty, reset the event type and return without an event.
    if (!this.hasData) {
      this.eventType = '';
      return;
    }
    // 4b. The trailing LF is removed (ours was never added); 4c. type defaults to 'message'.
    out.push({
      event: this.eventType === '' ? 'message' : this.eventType,
      data: this.dataBuffer,
      id: this.lastEventId,
    });
    // 4d. Reset the data buffer and the event type.
    this.dataBuffer = '';
    this.hasData = false;
    this.eventType = '';
  }
}

/** Async view over a byte stream. Yields events as blank lines complete them. */
export async function* sseEvents(
  body: AsyncIterable<Uint8Array | string>,
  opts: SseParserOptions = {},
): AsyncGenerator<SseEvent> {
  const parser = new SseParser(opts);
  for await (const chunk of body) {
    const events = parser.push(chunk);
    for (let i = 0; i < events.length; i++) yield events[i]!;
  }
  parser.end();
}
