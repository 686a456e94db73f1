/**
 * Timestamps of one request, from receipt to its last token, on the main thread.
 * Inter-token gaps are kept (bounded) so metrics can record them once, at the end,
 * instead of crossing a module boundary per token.
 */
import type { Timings } from '../core/types';

const MAX_GAPS = 4096;

export class RequestTrace {
  readonly receivedAt: number;
  dispatchedAt = -1;
  firstTokenAt = -1;
  lastTokenAt = -1;
  endedAt = -1;
  tokens = 0;
  /** Inter-token gaps in microseconds. */
  readonly gapsUs: number[] = [];

  constructor(receivedAt?: number) {
    this.receivedAt = receivedAt ?? performance.now();
  }

  elapsedMs(): number {
    return performance.now() - this.receivedAt;
  }

  markDispatched(): void {
    this.dispatchedAt = performance.now();
  }

  markToken(): void {
    const now = performance.now();
    if (this.firstTokenAt < 0) this.firstTokenAt = now;
    else if (this.gapsUs.length < MAX_GAPS) this.gapsUs.push((now - this.lastTokenAt) * 1000);
    this.lastTokenAt = now;
    this.tokens++;
  }

  ttftMs(): number {
    return this.firstTokenAt < 0 ? 0 : this.firstTokenAt - this.receivedAt;
  }

  generateMs(): number {
    return this.firstTokenAt < 0 ? 0 : this.lastTokenAt - this.firstTokenAt;
  }

  finish(): Timings {
    if (this.endedAt < 0) this.endedAt = performance.now();
    return this.timings();
  }

  timings(): Timings {
    const us = (ms: number) => Math.max(0, Math.round(ms * 1000));
    const end = this.endedAt < 0 ? performance.now() : this.endedAt;
    return {
      queueUs: this.dispatchedAt < 0 ? us(end - this.receivedAt) : us(this.dispatchedAt - this.receivedAt),
      ttftUs: this.firstTokenAt < 0 ? 0 : us(this.firstTokenAt - this.receivedAt),
      totalUs: us(end - this.receivedAt),
    };
  }
}
