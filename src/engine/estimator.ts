/**
 * Service-time estimates for admission: EWMAs of time to first token and of time
 * per generated token, learnt from finished requests. The router compares
 * wait + service against a request's deadline to pick local or remote.
 */
export class ServiceEstimator {
  private ttftMs: number;
  private perTokenMs: number;
  private samples = 0;

  constructor(
    initialTtftMs = 5,
    initialPerTokenMs = 2,
    private readonly alpha = 0.2,
  ) {
    this.ttftMs = initialTtftMs;
    this.perTokenMs = initialPerTokenMs;
  }

  observe(ttftMs: number, generateMs: number, tokens: number): void {
    const a = this.samples < 5 ? 0.5 : this.alpha;
    this.samples++;
    this.ttftMs += a * (ttftMs - this.ttftMs);
    if (tokens > 1) this.perTokenMs += a * (generateMs / (tokens - 1) - this.perTokenMs);
  }

  /** Expected service time of one request generating up to maxTokens. */
  serviceMs(maxTokens: number): number {
    return this.ttftMs + this.perTokenMs * Math.max(0, maxTokens - 1);
  }

  snapshot(): { ttftMs: number; perTokenMs: number; samples: number } {
    return { ttftMs: this.ttftMs, perTokenMs: this.perTokenMs, samples: this.samples };
  }
}
