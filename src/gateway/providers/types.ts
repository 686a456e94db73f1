/**
 * The one contract every provider adapter implements. A provider translates Colo's
 * unified request into its vendor's API and the vendor's response (streamed or not)
 * into one async stream of unified chunks. Providers know nothing of retries,
 * breakers, hedging or deadlines: the gateway owns those and cancels through `signal`.
 */
import type { Dispatcher } from 'undici';
import type { ChatMessage, FinishReason, SamplingParams, TokenLogprob } from '../../core/types';
import type { CancelSignal } from '../../core/cancel';

/** What the gateway asks of one upstream target, already resolved from config. */
export interface UnifiedRequest {
  /** Completion prompt; exactly one of prompt and messages is set. */
  prompt?: string | undefined;
  messages?: ChatMessage[] | undefined;
  sampling: SamplingParams;
  /** JSON Schema (parsed) the answer must follow, for providers with structured output. */
  responseSchema?: unknown;
  /**
   * Return each generated token's log-probability and this many top alternatives
   * (0..20); undefined: none. Sent only to providers with `logprobs: true`.
   */
  logprobs?: number | undefined;
}

/**
 * One piece of an upstream answer.
 * - `open`: the upstream accepted the request (HTTP headers with a 2xx status). Lets
 *   the gateway tell a time-to-first-byte stall from an inter-chunk stall.
 * - `text`: a text delta, in order, with the logprob entries of its tokens when the
 *   request asked for them (the text may then be empty).
 * - `usage`: token counts as far as the upstream reported them; a later chunk
 *   overrides the fields it sets.
 * - `finish`: the upstream ended the answer on purpose. A stream that ends without
 *   it was cut, and the gateway never reports it as a clean finish.
 */
export type ProviderChunk =
  | { kind: 'open' }
  | { kind: 'text'; text: string; logprobs?: TokenLogprob[] | undefined }
  | { kind: 'usage'; promptTokens?: number | undefined; completionTokens?: number | undefined }
  | { kind: 'finish'; reason: FinishReason };

/** The target as a provider sees it: where to send, which model, which credentials. */
export interface ProviderTarget {
  /** Target name from config, for messages only. */
  name: string;
  /** Base URL including any version prefix, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  /** Upstream model name. */
  model: string;
  /** The secret. Never put it in an error message, a log line or an event. */
  apiKey: string | undefined;
  /** Extra static headers sent with every request (from config). */
  headers: Readonly<Record<string, string>>;
  /** 'chat' or 'completion' endpoint, for providers that have both. */
  endpoint: 'chat' | 'completion';
  /** Ask the upstream to stream (true) or answer in one body (false). */
  stream: boolean;
  /** Ask for token usage inside the stream where the API needs asking (OpenAI). */
  streamUsage: boolean;
  /** Longest SSE line or event data accepted, in characters. Default 1048576 (sse.ts). */
  maxSseLineChars?: number | undefined;
}

/** One call: a target, its keep-alive pool (null for providers without HTTP) and a cancel signal. */
export interface ProviderCall {
  target: ProviderTarget;
  http: Dispatcher | null;
  signal: CancelSignal;
}

export interface Provider {
  /** Registry name used in config (`provider: "openai"`). */
  readonly name: string;
  /** Used when a target gives no baseUrl; null when the provider needs none. */
  readonly defaultBaseUrl: string | null;
  /** Whether the gateway must give this provider an HTTP pool. */
  readonly needsHttp: boolean;
  /** Endpoints the provider supports; config naming another fails at start-up. */
  readonly endpoints: readonly ('chat' | 'completion')[];
  /**
   * Whether the provider returns token log-probabilities. The gateway sends a request
   * with `logprobs` only to targets whose provider does, and refuses it (INVALID_ARGUMENT
   * naming `logprobs`) when none of a model's targets does. Default false.
   */
  readonly logprobs?: boolean;
  /** Rejects a model name at start-up (returns why), for providers that can tell. */
  validateModel?(model: string): string | undefined;
  /**
   * Starts the call. Yields `open` once, then text/usage chunks and, when the
   * upstream finished on purpose, one `finish`. Throws UpstreamFailure (a ColoError)
   * for upstream faults; stops promptly when `call.signal` aborts.
   */
  call(call: ProviderCall, req: UnifiedRequest): AsyncIterable<ProviderChunk>;
}
