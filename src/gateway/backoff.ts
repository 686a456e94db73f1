/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff
 * and Jitter"): the n-th retry waits uniform(0, min(cap, base·2^n)). Full jitter
 * spreads synchronized clients best; a server's `retry-after` is a floor on top.
 */
import type { RetryConfig } from './config';

/** `retry` is 0 for the first retry. `random` returns [0, 1). */
export function backoffMs(cfg: RetryConfig, retry: number, random: () => number): number {
  const ceiling = Math.min(cfg.maxDelayMs, cfg.baseDelayMs * 2 ** Math.min(retry, 30));
  return Math.floor(random() * ceiling);
}
