/**
 * Per-target circuit breaker.
 *   closed ──(N consecutive failures, or failure rate ≥ r over the window)──▶ open
 *   open ──(cooldown elapsed, on the next acquire)──▶ half-open
 *   half-open: exactly one probe in flight; success ▶ closed, failure ▶ open again.
 * Outcomes that say nothing about the target's health (a client cancel, a hedge
 * loser, a 400) are `release`d: they free a probe slot without moving the state.
 */
import type { BreakerConfig } from './config';

export type BreakerState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  private stateValue: BreakerState = 'closed';
  private consecutive = 0;
  private openedAt = 0;
  private probeInFlight = false;
  /** Ring of recent outcomes, 1 = failure. */
  private readonly ring: Uint8Array;
  private ringPos = 0;
  private ringCount = 0;
  private ringFailures = 0;

  constructor(
    private readonly cfg: BreakerConfig,
    private readonly now: () => number,
    private readonly onChange: (from: BreakerState, to: BreakerState) => void = () => {},
  ) {
    this.ring = new Uint8Array(cfg.window);
  }

  get state(): BreakerState {
    return this.stateValue;
  }

  get consecutiveFailures(): number {
    return this.consecutive;
  }

  /** Milliseconds until an open breaker lets a probe through; 0 when not open. */
  retryInMs(): number {
    if (this.stateValue !== 'open') return 0;
    return Math.max(0, this.openedAt + this.cfg.cooldownMs - this.now());
  }

  /** Whether a request may go to the target now, without taking a probe slot. */
  wouldAllow(): boolean {
    if (this.stateValue === 'closed') return true;
    if (this.stateValue === 'open') return this.retryInMs() === 0;
    return !this.probeInFlight;
  }

  /** Takes permission to send. In half-open only one caller gets it until it reports back. */
  tryAcquire(): boolean {
    if (this.stateValue === 'closed') return true;
    if (this.stateValue === 'open') {
      if (this.retryInMs() > 0) return false;
      this.transition('half-open');
    }
    if (this.probeInFlight) return false;
    this.probeInFlight = true;
    return true;
  }

  onSuccess(): void {
    this.consecutive = 0;
    this.record(0);
    if (this.stateValue === 'half-open') {
      this.probeInFlight = false;
      this.resetWindow();
      this.transition('closed');
    }
  }

  onFailure(): void {
    this.consecutive++;
    this.record(1);
    if (this.stateValue === 'half-open') {
      this.probeInFlight = false;
      this.open();
      return;
    }
    if (this.stateValue !== 'closed') return;
    const rateTripped =
      this.cfg.failureRate < 1 &&
      this.ringCount >= this.cfg.minRequests &&
      this.ringFailures / this.ringCount >= this.cfg.failureRate;
    if (this.consecutive >= this.cfg.consecutiveFailures || rateTripped) this.open();
  }

  /** The attempt ended without saying anything about the target's health. */
  release(): void {
    if (this.stateValue === 'half-open') this.probeInFlight = false;
  }

  private open(): void {
    this.openedAt = this.now();
    this.transition('open');
  }

  private record(failed: 0 | 1): void {
    if (this.ringCount === this.ring.length) this.ringFailures -= this.ring[this.ringPos]!;
    else this.ringCount++;
    this.ring[this.ringPos] = failed;
    this.ringFailures += failed;
    this.ringPos = (this.ringPos + 1) % this.ring.length;
  }

  private resetWindow(): void {
    this.ring.fill(0);
    this.ringPos = this.ringCount = this.ringFailures = 0;
  }

  private transition(to: BreakerState): void {
    const from = this.stateValue;
    if (from === to) return;
    this.stateValue = to;
    this.onChange(from, to);
  }
}
