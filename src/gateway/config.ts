/**
 * The gateway's config section. Strict objects: an unknown key fails start-up. Every
 * field's doc comment states its default. Cross-field checks (alias targets exist,
 * providers are registered) happen in `Gateway.create`, which knows the registry.
 */
import { z } from 'zod';

const ms = () => z.number().int().min(0);

export const targetSchema = z.strictObject({
  /** Unique name; requests may name it directly as their model. Required. */
  name: z.string().min(1),
  /** Registered provider: 'openai' | 'anthropic' | 'gemini' | 'dummy'. Required. */
  provider: z.string().min(1),
  /** Base URL with version prefix (e.g. `http://127.0.0.1:8000/v1` for vLLM). Default: the provider's public API. */
  baseUrl: z.url().optional(),
  /** Upstream model name (for dummy: the behaviour). Required. */
  model: z.string().min(1),
  /** Literal API key. Prefer apiKeyEnv. Default: none. */
  apiKey: z.string().min(1).optional(),
  /** Name of the environment variable holding the API key, read once at start-up. Default: none. */
  apiKeyEnv: z.string().min(1).optional(),
  /** 'chat' or 'completion' (OpenAI-style `/completions`). Default 'chat'. */
  endpoint: z.enum(['chat', 'completion']).default('chat'),
  /** Stream from the upstream (needed for hedging on first token and stall detection). Default true. */
  stream: z.boolean().default(true),
  /** Ask for usage in the stream (OpenAI `stream_options.include_usage`); turn off for servers that reject it. Default true. */
  streamUsage: z.boolean().default(true),
  /** Extra static headers sent upstream (e.g. `OpenAI-Organization`). Never secrets from clients. Default {}. */
  headers: z.record(z.string(), z.string()).default({}),
  /** Relative weight under the `weighted` policy. Default 1. */
  weight: z.number().min(0).default(1),
  /** Time from send to response headers before the attempt fails with UPSTREAM_TIMEOUT. Default 5000 ms. */
  ttfbTimeoutMs: ms().default(5000),
  /** Longest silence between stream chunks (also before the first token). Default 10000 ms. */
  stallTimeoutMs: ms().default(10_000),
  /** TCP connect timeout. Default 2000 ms. */
  connectTimeoutMs: ms().default(2000),
  /** Keep-alive connections in this target's pool. Default 64. */
  connections: z.number().int().min(1).max(10_000).default(64),
  /**
   * Longest SSE line (and event data) accepted from this upstream, in characters;
   * past it the attempt fails with UPSTREAM_ERROR (protocol) instead of buffering
   * without bound. Default 1048576.
   */
  maxSseLineChars: z
    .number()
    .int()
    .min(1024)
    .max(256 << 20)
    .default(1 << 20),
  /** Idle keep-alive socket lifetime. Default 30000 ms. */
  keepAliveTimeoutMs: ms().default(30_000),
});
export type TargetConfig = z.infer<typeof targetSchema>;

export const aliasSchema = z.strictObject({
  /** Name clients use as `model`. Must not equal a target name. Required. */
  name: z.string().min(1),
  /** Target names, in preference order. Required, at least one. */
  targets: z.array(z.string().min(1)).min(1),
  /** 'fallback' (in order), 'weighted' (random by weight), 'least-latency' (EWMA time to first token). Default 'fallback'. */
  policy: z.enum(['fallback', 'weighted', 'least-latency']).default('fallback'),
  /** Send a hedge to the next target when no token came after this long; 0 disables hedging. Default 0. */
  hedgeDelayMs: ms().default(0),
  /** Most hedges in flight beside the first attempt. Default 1. */
  maxHedges: z.number().int().min(0).max(8).default(1),
});
export type AliasConfig = z.infer<typeof aliasSchema>;

export const retrySchema = z.strictObject({
  /** Attempts per target per request (1 = no retry on the same target). Default 2. */
  maxAttemptsPerTarget: z.number().int().min(1).max(20).default(2),
  /** Attempts across all targets per request, hedges included. Default 6. */
  maxAttempts: z.number().int().min(1).max(50).default(6),
  /** First backoff cap; the n-th retry waits uniform(0, min(maxDelayMs, baseDelayMs·2^n)). Default 50 ms. */
  baseDelayMs: ms().default(50),
  /** Largest backoff. Default 2000 ms. */
  maxDelayMs: ms().default(2000),
  /** Cap on a `retry-after` the gateway will honour by waiting; longer ones fail over or fail fast. Default 10000 ms. */
  maxRetryAfterMs: ms().default(10_000),
});
export type RetryConfig = z.infer<typeof retrySchema>;

export const breakerSchema = z.strictObject({
  /** Consecutive failures that open the breaker. Default 5. */
  consecutiveFailures: z.number().int().min(1).default(5),
  /** Failure rate over the window that opens the breaker (0..1; 1 disables). Default 0.5. */
  failureRate: z.number().min(0).max(1).default(0.5),
  /** Outcomes remembered for the failure rate. Default 20. */
  window: z.number().int().min(1).max(10_000).default(20),
  /** Outcomes needed in the window before the rate counts. Default 10. */
  minRequests: z.number().int().min(1).default(10),
  /** Time open before one probe is let through (half-open). Default 5000 ms. */
  cooldownMs: ms().default(5000),
});
export type BreakerConfig = z.infer<typeof breakerSchema>;

export const gatewayConfigSchema = z.strictObject({
  /** Upstream targets. Default []. */
  targets: z.array(targetSchema).default([]),
  /** Names that map to ordered target lists under a policy. Default []. */
  aliases: z.array(aliasSchema).default([]),
  /** Retry and backoff. Default: see retrySchema. */
  retry: retrySchema.default(retrySchema.parse({})),
  /** Per-target circuit breaker. Default: see breakerSchema. */
  breaker: breakerSchema.default(breakerSchema.parse({})),
  /** Weight of the newest sample in the per-target EWMA of time to first token. Default 0.2. */
  ewmaAlpha: z.number().gt(0).max(1).default(0.2),
});
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
/** What callers may pass before defaults are applied. */
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
