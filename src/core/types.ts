/**
 * The unified request and result that every route (local engine, remote gateway,
 * cache, skills) speaks. The wire (FlatBuffers, OpenAI JSON) is decoded into these at
 * the edge and encoded from them on the way out.
 */
import { tickerSuffix } from './ticker';
import type { CancelSignal } from './cancel';

export type Role = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: Role;
  content: string;
}

export interface SamplingParams {
  /** Most tokens to generate. Default 128. */
  maxTokens: number;
  /** 0 means greedy. Default 0.8. */
  temperature: number;
  /** Default 0.95. */
  topP: number;
  /** Fixed seed makes sampling deterministic; undefined means random. */
  seed?: number | undefined;
  /** Generation stops before any of these strings. */
  stop: string[];
}

export interface InferenceRequest {
  /** Client-chosen id, unique per connection; echoed on every frame of the answer. */
  id: string;
  /** Model name or alias. */
  model: string;
  /** Completion prompt. Exactly one of prompt and messages is set. */
  prompt?: string | undefined;
  /** Chat messages. */
  messages?: ChatMessage[] | undefined;
  sampling: SamplingParams;
  /** Latency budget in ms from receipt; 0 means the server default. */
  deadlineMs: number;
  /**
   * Absolute deadline, performance.now() ms (src/core/deadline.ts makes it from
   * receivedAt + deadlineMs once, at the edge). Every layer reads what is left from it.
   */
  deadlineAt?: number | undefined;
  /** 0 (lowest) to 255; higher is admitted first. */
  priority: number;
  stream: boolean;
  /** Skill name, when the request asks for a typed signal instead of free text. */
  skill?: string | undefined;
  /** Several texts for one classifier call (POST /v1/classify with an array). */
  inputs?: readonly string[] | undefined;
  /** performance.now() when the request arrived; timings and the deadline count from here. */
  receivedAt?: number | undefined;
  /**
   * JSON Schema (as JSON text) the answer must follow. Set by skills, never decoded from
   * a client: local routes compile it to a grammar, remote providers that support
   * structured output receive it.
   */
  responseSchema?: string | undefined;
  /** Score these answers as continuations instead of generating (/v1/decide, WS `choices`). */
  choices?: string[] | undefined;
  /**
   * Return each generated token's log-probability and this many most likely alternatives
   * (0..20); undefined: none. Local models only.
   */
  logprobs?: number | undefined;
  /**
   * Fan-out: one answer per ticker (with `choices`: a decision each; with a skill that
   * supports it: a signal each), every ticker's prompt sharing the evaluated prompt as a
   * common prefix (src/core/ticker.ts).
   */
  tickers?: string[] | undefined;
  /** Caller identity, filled in by auth, never by the client. */
  tenant?: string | undefined;
  keyId?: string | undefined;
}

export type FinishReason = 'stop' | 'length' | 'cancelled' | 'deadline' | 'error';

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /**
   * Prompt tokens a local generation did not evaluate: held by the KV cache of its
   * sequence, or copied from another sequence's; OpenAI's `usage.prompt_tokens_details.cached_tokens`. Absent
   * where unknown (remote routes, scoring).
   */
  cachedTokens?: number;
}

export type RouteKind = 'local' | 'remote' | 'cache';

export interface Route {
  kind: RouteKind;
  /** 'local' for the engine, else the provider name (openai, anthropic, gemini, dummy...). */
  provider: string;
  /** The concrete model that answered. */
  model: string;
  cached: boolean;
}

/** All durations in microseconds, measured from receipt of the request. */
export interface Timings {
  queueUs: number;
  ttftUs: number;
  totalUs: number;
}

/** Bearish -1, neutral 0, bullish 1. */
export type SignalDirection = -1 | 0 | 1;

/** A typed trading signal (table Signal in schemas/colo.fbs), produced by skills. */
export interface Signal {
  /** The company, asset or topic the signal is about. */
  entity: string;
  /** Exchange ticker when known, else ''. */
  ticker: string;
  direction: SignalDirection;
  /** In [-1, 1]. */
  score: number;
  /** In [0, 1]. */
  confidence: number;
  /** The skill's class label (e.g. bullish, earnings). */
  label: string;
  /** Short explanation, '' when the skill gives none. */
  rationale: string;
  /** True when confidence fell below the skill's threshold: do not act. */
  abstain: boolean;
}

/** One ticker's scored choices (a `choices` request with `tickers`). */
export interface TickerDecision {
  ticker: string;
  /** The most probable choice. */
  choice: string;
  /** Each choice's probability, in request order (sums to 1). */
  probs: number[];
  /** Each choice's total log-probability, in request order (the WebSocket Result carries probabilities only). */
  logprobs?: number[] | undefined;
}

/** One generated token and its log-probability (natural log), with the top alternatives. */
export interface TokenLogprob {
  token: string;
  logprob: number;
  top: { token: string; logprob: number }[];
}

export interface CompletionResult {
  id: string;
  text: string;
  finishReason: FinishReason;
  usage: Usage;
  route: Route;
  timings: Timings;
  /** Skill name, for skill requests. */
  skill?: string | undefined;
  /** Typed signals, for skill requests. */
  signals?: Signal[] | undefined;
  /** For `choices` requests: the most probable choice and each choice's probability (request order). */
  choice?: string | undefined;
  choiceProbs?: number[] | undefined;
  /** Total log-probability of each choice (request order). */
  choiceLogprobs?: number[] | undefined;
  /** For `choices` requests with `tickers`: one decision per ticker, in request order (`choice` unset). */
  decisions?: TickerDecision[] | undefined;
  /** For classifier calls: each text's label, confidence and per-label probabilities. */
  classifications?:
    | { label: string; confidence: number; probs: Record<string, number>; escalate?: boolean | undefined }[]
    | undefined;
  /** Per generated token, when the request asked for logprobs. */
  logprobs?: TokenLogprob[] | undefined;
  /** Cost in micro-dollars from the configured prices (0 when unpriced). */
  costMicros?: number | undefined;
}

/** Receives streamed text as it is produced. Must not throw. */
export interface TokenSink {
  /**
   * `logprobs`: when the request asked for them, the entries of the tokens this text
   * completes (OpenAI's per-chunk logprobs); a chunk may carry none.
   */
  onToken(text: string, logprobs?: readonly TokenLogprob[]): void;
}

/** Anything that can complete a request: the engine, the gateway, the router. */
export interface Completer {
  complete(req: InferenceRequest, sink: TokenSink | null, signal: CancelSignal): Promise<CompletionResult>;
}

export const DEFAULT_SAMPLING: Readonly<SamplingParams> = Object.freeze({
  maxTokens: 128,
  temperature: 0.8,
  topP: 0.95,
  seed: undefined,
  stop: [],
});

/**
 * Characters of a request's input text, for token estimates before a tokenizer has
 * seen it: the prompt, the classifier inputs, and each chat message's content plus
 * `perMessage` characters for its share of the chat template. Scoring evaluates its
 * choices as input too (one space each for the join), once per ticker on a fan-out,
 * and each ticker adds its prompt suffix (src/core/ticker.ts).
 */
export function promptChars(
  req: Pick<InferenceRequest, 'prompt' | 'messages' | 'inputs' | 'choices' | 'tickers'>,
  perMessage: number,
): number {
  let chars = req.prompt?.length ?? 0;
  if (req.messages) for (const m of req.messages) chars += m.content.length + perMessage;
  if (req.inputs) for (const t of req.inputs) chars += t.length;
  const chat = req.prompt === undefined;
  if (req.tickers) for (const t of req.tickers) chars += tickerSuffix(t, chat).length;
  if (req.choices) {
    let c = 0;
    for (const x of req.choices) c += x.length + 1;
    chars += c * Math.max(1, req.tickers?.length ?? 0);
  }
  return chars;
}
