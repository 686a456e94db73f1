/**
 * The one place a request's deadline becomes an absolute time. Every layer (router,
 * engine queue, gateway retries, skills) reads what is left from here, so a request
 * has one deadline whichever route and transport it took.
 *
 * Times are `performance.now()` milliseconds. `deadline_ms` on the wire is a uint32:
 * 0 means the configured default, and anything past MAX_DEADLINE_MS means "a long time"
 * (clamped, so no timer overflows: Node's timers fire at once past 2^31-1 ms).
 */

/** Longest deadline honoured, in ms (24 h); longer ones are clamped to it. */
export const MAX_DEADLINE_MS = 24 * 3600 * 1000;

/** Absolute deadline for a request received at `receivedAt` asking for `deadlineMs` (0 = default). */
export function absoluteDeadline(receivedAt: number, deadlineMs: number, defaultMs: number): number {
  const ms = deadlineMs > 0 ? deadlineMs : defaultMs;
  return receivedAt + Math.min(ms, MAX_DEADLINE_MS);
}

/** Milliseconds left before `deadlineAt`; negative once passed. */
export function remainingMs(deadlineAt: number, now = performance.now()): number {
  return deadlineAt - now;
}

/** A safe setTimeout delay for what is left (never above 2^31-1, never negative). */
export function timerDelay(deadlineAt: number, now = performance.now()): number {
  return Math.max(0, Math.min(remainingMs(deadlineAt, now), 0x7fffffff));
}
