/**
 * Stop-sequence detection on streamed text, with OpenAI semantics: output ends just
 * before the first stop string, and no part of a stop string is ever streamed.
 * Text that could be the start of a stop string is held back until the next chunk
 * decides. (node-llama-cpp's customStopTriggers missed strings with leading or
 * trailing spaces on SentencePiece models here, e.g. " park".)
 */
export class StopDetector {
  private held = '';
  private readonly maxLen: number;
  stopped = false;

  constructor(private readonly stops: readonly string[]) {
    this.maxLen = stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /** Feeds a chunk; returns the text that is safe to emit now. */
  push(chunk: string): string {
    if (this.stopped) return '';
    if (this.maxLen === 0) return chunk;
    const text = this.held + chunk;
    let cut = -1;
    for (const s of this.stops) {
      const i = text.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.stopped = true;
      this.held = '';
      return text.slice(0, cut);
    }
    const keep = this.partialSuffix(text);
    this.held = text.slice(text.length - keep);
    return text.slice(0, text.length - keep);
  }

  /** Text still held back at the end of generation (not a stop string after all). */
  flush(): string {
    const t = this.held;
    this.held = '';
    return this.stopped ? '' : t;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
  private partialSuffix(text: string): number {
    for (let k = Math.min(this.maxLen - 1, text.length); k > 0; k--) {
      const tail = text.slice(text.length - k);
      if (this.stops.some((s) => s.startsWith(tail))) return k;
    }
    return 0;
  }
}
