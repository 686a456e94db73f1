/**
 * One upstream target at run time: its provider, its keep-alive pool, its breaker,
 * its EWMA of time to first token, its in-flight count and any rate-limit pause the
 * upstream asked for. Shared by all requests; owns the pool (closed by `close`).
 */
import { Pool } from 'undici';
import { CircuitBreaker, type BreakerState } from './breaker';
import type { BreakerConfig, TargetConfig } from './config';
import { breakerChannel } from './events';
import type { Provider, ProviderTarget } from './providers/types';

export interface TargetStats {
  name: string;
  provider: string;
  model: string;
  breaker: BreakerState;
  consecutiveFailures: number;
  /** EWMA of time to first token in ms; undefined until the first success. */
  ewmaTtftMs: number | undefined;
  inFlight: number;
  /** Milliseconds the upstream asked us to wait (retry-after on a 429); 0 when none. */
  rateLimitedForMs: number;
}

export class Target {
  readonly name: string;
  readonly config: TargetConfig;
  readonly provider: Provider;
  readonly providerTarget: ProviderTarget;
  readonly pool: Pool | null;
  readonly breaker: CircuitBreaker;
  ewmaTtftMs: number | undefined = undefined;
  inFlight = 0;
  /** `now()` before which the upstream asked not to be called (shared by all requests). */
  rateLimitedUntil = 0;

  constructor(
    config: TargetConfig,
    provider: Provider,
    apiKey: string | undefined,
    breakerCfg: BreakerConfig,
    private readonly alpha: number,
    private readonly now: () => number,
  ) {
    this.name = config.name;
    this.config = config;
    this.provider = provider;
    const baseUrl = config.baseUrl ?? provider.defaultBaseUrl ?? 'http://invalid.local';
    this.providerTarget = Object.freeze({
      name: config.name,
      baseUrl,
      model: config.model,
      apiKey,
      headers: Object.freeze({ ...config.headers }),
      endpoint: config.endpoint,
      stream: config.stream,
      streamUsage: config.streamUsage,
      maxSseLineChars: config.maxSseLineChars,
    });
    this.pool = provider.needsHttp
      ? new Pool(new URL(baseUrl).origin, {
          connections: config.connections,
          keepAliveTimeout: config.keepAliveTimeoutMs,
          connect: { timeout: config.connectTimeoutMs },
          pipelining: 1,
        })
      : null;
    this.breaker = new CircuitBreaker(breakerCfg, now, (from, to) => {
      if (breakerChannel.hasSubscribers) breakerChannel.publish({ target: this.name, from, to });
    });
  }

  recordTtft(ms: number): void {
    this.ewmaTtftMs =
      this.ewmaTtftMs === undefined ? ms : this.ewmaTtftMs + this.alpha * (ms - this.ewmaTtftMs);
  }

  rateLimitedForMs(): number {
    return Math.max(0, this.rateLimitedUntil - this.now());
  }

  stats(): TargetStats {
    return {
      name: this.name,
      provider: this.provider.name,
      model: this.config.model,
      breaker: this.breaker.state,
      consecutiveFailures: this.breaker.consecutiveFailures,
      ewmaTtftMs: this.ewmaTtftMs,
      inFlight: this.inFlight,
      rateLimitedForMs: this.rateLimitedForMs(),
    };
  }

  async close(): Promise<void> {
    // destroy, not close: the gateway has already cancelled its in-flight attempts.
    if (this.pool) await this.pool.destroy();
  }
}
