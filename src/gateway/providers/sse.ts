/**
 * Server-Sent Events parser, following the WHATWG HTML Living Standard,
 * §9.2.6 "Interpreting an event stream". Bytes may be split anywhere: inside a
 * UTF-8 sequence, inside a line, between CR and LF. The numbered comments below are
 * the spec's steps; the parser keeps no reconnection logic (the gateway retries whole
 * requests), but it does track `id` and `retry` as the spec says, for completeness.
 */

export interface SseEvent {
  /** `event:` field; 'message' when absent. */
  event: string;
  /** Data lines joined with LF, without the final LF. */
  data: string;
  /** Last event ID seen so far in the stream (spec: persists across events). */
  id: string;
}

export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private buffer = '';
  private sawFirstChunk = false;
  /** A CR ended the previous chunk; if the next chunk starts with LF, that LF belongs to it. */
  private pendingCr = false;
  private dataBuffer = '';
  private hasData = false;
  private eventType = '';
  private lastEventId = '';
  /** Reconnection time from `retry:`; unused by the gateway, kept per spec. */
  reconnectionTimeMs: number | undefined;

  /** Feeds raw bytes (or already-decoded text); returns the events completed by them. */
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
    let buf = this.buffer + text;
    let start = 0;
    // 3. Lines end with CRLF, a lone LF or a lone CR.
    for (let i = 0; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (c !== 0x0a && c !== 0x0d) continue;
      this.line(buf.slice(start, i), out);
      if (c === 0x0d) {
        if (i + 1 < buf.length) {
          if (buf.charCodeAt(i + 1) === 0x0a) i++;
        } else {
          // CR is the last character we have: an LF may follow in the next chunk.
          this.pendingCr = true;
        }
      }
      start = i + 1;
    }
    buf = buf.slice(start);
    this.buffer = buf;
    return out;
  }

  /**
   * End of stream. 8. Per spec, an event not yet terminated by a blank line is
   * discarded: an upstream that cuts mid-event must not yield half an event.
   */
  end(): void {
    this.buffer = '';
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
export async function* sseEvents(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseEvent> {
  const parser = new SseParser();
  for await (const chunk of body) {
    const events = parser.push(chunk);
    for (let i = 0; i < events.length; i++) yield events[i]!;
  }
  parser.end();
}
