/**
 * One call to one target. Owns the call's Cancel (so a hedge loser or a
 * stalled upstream is really cancelled: undici tears the HTTP request down), a
 * watchdog (time to first byte, then the longest silence between chunks), and the
 * target's accounting (in-flight count, breaker verdict, attempt event), settled
 * exactly once by `end`.
 */
import { ColoError } from '../core/errors';
import { attemptChannel } from './events';
import { isTransient } from './planner';
import { UpstreamFailure } from './providers/failure';
import type { ProviderChunk, UnifiedRequest } from './providers/types';
import type { Target } from './target';
import { Cancel, type CancelSignal } from '../core/cancel';

export type HeadOutcome =
  | { ok: true; attempt: Attempt; buffered: ProviderChunk[] }
  | { ok: false; attempt: Attempt; error: ColoError };

/** Abort reason for a hedge that lost the race. */
export const HEDGE_LOST = new ColoError('CANCELLED', 'hedge lost the race');

export class Attempt {
  readonly startedAt: number;
  /** now() of the first text chunk; 0 before it. */
  firstTokenAt = 0;
  /** Resolves (never rejects) on the first text or finish chunk, or on failure before either. */
  readonly head: Promise<HeadOutcome>;
  private readonly ctl = new Cancel();
  private it: AsyncIterator<ProviderChunk> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private opened = false;
  private ended = false;
  private readonly onParentAbort = (): void => this.ctl.abort(this.parent.reason);

  constructor(
    readonly target: Target,
    readonly requestId: string,
    readonly n: number,
    readonly hedge: boolean,
    req: UnifiedRequest,
    private readonly parent: CancelSignal,
    private readonly now: () => number,
  ) {
    this.startedAt = now();
    target.inFlight++;
    // An already-aborted signal never fires 'abort' again: take its reason now.
    if (parent.aborted) this.ctl.abort(parent.reason);
    else parent.addEventListener('abort', this.onParentAbort, { once: true });
    this.arm(target.config.ttfbTimeoutMs);
    this.head = this.pumpHead(req);
  }

  /** The next chunk after the head. Throws a ColoError. */
  async next(): Promise<IteratorResult<ProviderChunk>> {
    try {
      const r = await this.it!.next();
      if (!r.done) this.tick(r.value);
      return r;
    } catch (err) {
      throw this.toError(err);
    }
  }

  /** Cancels the upstream call (the HTTP request is torn down) and settles as aborted. */
  abort(reason: ColoError): void {
    this.ctl.abort(reason);
    this.end('aborted', reason);
  }

  /**
   * Settles the attempt once: frees the in-flight slot, gives the breaker its verdict
   * and publishes the attempt event. `aborted` says nothing about the target's health.
   */
  end(outcome: 'ok' | 'error' | 'aborted', err?: ColoError): void {
    if (this.ended) return;
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    this.parent.removeEventListener('abort', this.onParentAbort);
    const t = this.target;
    t.inFlight--;
    if (outcome === 'ok') t.breaker.onSuccess();
    else if (outcome === 'error' && err && countsAgainstTarget(err)) t.breaker.onFailure();
    else t.breaker.release();
    if (attemptChannel.hasSubscribers) {
      const now = this.now();
      attemptChannel.publish({
        requestId: this.requestId,
        target: t.name,
        provider: t.provider.name,
        model: t.config.model,
        attempt: this.n,
        hedge: this.hedge,
        outcome,
        code: err?.code,
        upstreamStatus: err instanceof UpstreamFailure ? err.upstreamStatus : undefined,
        ttftMs: this.firstTokenAt ? this.firstTokenAt - this.startedAt : undefined,
        durationMs: now - this.startedAt,
      });
    }
  }

  /** Maps anything thrown during the call to the ColoError the gateway reasons about. */
  toError(err: unknown): ColoError {
    const signal = this.ctl;
    if (signal.aborted) {
      return signal.reason instanceof ColoError
        ? signal.reason
        : new ColoError('CANCELLED', 'request cancelled');
    }
    if (err instanceof ColoError) return err;
    return new UpstreamFailure('UPSTREAM_ERROR', `upstream ${this.target.name} failed`, {
      transient: true,
      cause: err,
    });
  }

  private async pumpHead(req: UnifiedRequest): Promise<HeadOutcome> {
    const buffered: ProviderChunk[] = [];
    const t = this.target;
    try {
      this.it = t.provider
        .call({ target: t.providerTarget, http: t.pool, signal: this.ctl }, req)
        [Symbol.asyncIterator]();
      for (;;) {
        const r = await this.it.next();
        if (r.done) {
          const e = new UpstreamFailure(
            'STREAM_TRUNCATED',
            `upstream ${t.name} ended the stream before any token`,
          );
          return { ok: false, attempt: this, error: e };
        }
        this.tick(r.value);
        buffered.push(r.value);
        if (r.value.kind === 'text' || r.value.kind === 'finish')
          return { ok: true, attempt: this, buffered };
      }
    } catch (err) {
      return { ok: false, attempt: this, error: this.toError(err) };
    }
  }

  private tick(chunk: ProviderChunk): void {
    if (chunk.kind === 'text' && this.firstTokenAt === 0) this.firstTokenAt = this.now();
    if (!this.opened && chunk.kind === 'open') {
      // Headers arrived: from now on the watchdog measures silence between chunks.
      this.opened = true;
      this.arm(this.target.config.stallTimeoutMs);
    } else {
      this.timer?.refresh();
    }
  }

  private arm(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (ms <= 0) return;
    this.timer = setTimeout(this.onWatchdog, ms);
    this.timer.unref();
  }

  private readonly onWatchdog = (): void => {
    const t = this.target;
    const msg = this.opened
      ? `upstream ${t.name} stalled for ${t.config.stallTimeoutMs} ms`
      : `upstream ${t.name} sent no response headers within ${t.config.ttfbTimeoutMs} ms`;
    this.ctl.abort(new UpstreamFailure('UPSTREAM_TIMEOUT', msg));
  };
}

/** Failures that say the target is unhealthy; request-specific ones (a 400) do not. */
function countsAgainstTarget(err: ColoError): boolean {
  if (err instanceof UpstreamFailure) return err.breaker;
  return isTransient(err) && err.code !== 'RATE_LIMITED';
}
