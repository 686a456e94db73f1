/**
 * OpenAI response → unified chunks. Streaming: `data:` events holding
 * `chat.completion.chunk` (delta.content) or `text_completion` (text) objects, an
 * optional usage-only chunk (`stream_options.include_usage`), then `data: [DONE]`.
 * Non-streaming: one JSON object with `choices[0].message.content` or `.text`.
 */
import type { FinishReason, TokenLogprob } from '../../../core/types';
import { UpstreamFailure, malformed } from '../failure';
import { parseStreamJson } from '../http';
import type { SseEvent } from '../sse';
import type { ProviderChunk } from '../types';

interface ChatLogprob {
  token?: string;
  logprob?: number;
  top_logprobs?: { token?: string; logprob?: number }[] | null;
}
interface Choice {
  delta?: { content?: string | null };
  message?: { content?: string | null };
  text?: string | null;
  finish_reason?: string | null;
  /** Chat: `content`; completions: parallel arrays. */
  logprobs?: {
    content?: ChatLogprob[] | null;
    tokens?: string[];
    token_logprobs?: (number | null)[];
    top_logprobs?: (Record<string, number> | null)[] | null;
  } | null;
}
interface OpenAiPayload {
  choices?: Choice[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string; type?: string; code?: unknown };
}

export function mapFinish(reason: string): FinishReason {
  // content_filter and tool_calls end the text on purpose: a clean stop for Colo.
  return reason === 'length' ? 'length' : 'stop';
}

/** Translates one SSE event; pushes chunks into `out`. Returns true at `[DONE]`. */
export function parseEvent(target: string, ev: SseEvent, out: ProviderChunk[]): boolean {
  if (ev.data === '[DONE]') return true;
  const payload = parseStreamJson(target, ev.data) as OpenAiPayload;
  if (payload === null || typeof payload !== 'object') throw malformed(target, 'stream event');
  if (payload.error) {
    // An error inside a 200 stream (OpenAI and vLLM do this on overload).
    throw new UpstreamFailure(
      'UPSTREAM_ERROR',
      `upstream ${target} stream error: ${String(payload.error.type ?? 'error')}`,
      {
        transient: true,
      },
    );
  }
  const choice = payload.choices?.[0];
  if (choice) {
    const text = choice.delta?.content ?? choice.text;
    const logprobs = toLogprobs(choice.logprobs);
    if ((typeof text === 'string' && text.length > 0) || logprobs)
      out.push({ kind: 'text', text: typeof text === 'string' ? text : '', logprobs });
    if (choice.finish_reason) out.push({ kind: 'finish', reason: mapFinish(choice.finish_reason) });
  }
  if (payload.usage) {
    out.push({
      kind: 'usage',
      promptTokens: payload.usage.prompt_tokens,
      completionTokens: payload.usage.completion_tokens,
    });
  }
  return false;
}

/**
 * OpenAI's logprobs (chat `content[]`, or the completions' parallel arrays) as Colo's
 * entries; undefined when the upstream sent none (a `null` or an empty list).
 */
export function toLogprobs(lp: Choice['logprobs']): TokenLogprob[] | undefined {
  if (!lp) return undefined;
  const num = (x: number | null | undefined) => (typeof x === 'number' ? x : -Infinity);
  let out: TokenLogprob[];
  if (Array.isArray(lp.content)) {
    out = lp.content.map((c) => ({
      token: c.token ?? '',
      logprob: num(c.logprob),
      top: (c.top_logprobs ?? []).map((a) => ({ token: a.token ?? '', logprob: num(a.logprob) })),
    }));
  } else if (Array.isArray(lp.tokens)) {
    out = lp.tokens.map((token, i) => ({
      token,
      logprob: num(lp.token_logprobs?.[i]),
      top: Object.entries(lp.top_logprobs?.[i] ?? {}).map(([t, l]) => ({ token: t, logprob: l })),
    }));
  } else return undefined;
  return out.length > 0 ? out : undefined;
}

/** Translates a whole non-streaming body. */
export function parseBody(target: string, json: unknown): ProviderChunk[] {
  const payload = json as OpenAiPayload | null;
  const choice = payload?.choices?.[0];
  if (!choice) throw malformed(target, 'response (no choices)');
  const text = choice.message?.content ?? choice.text ?? '';
  const out: ProviderChunk[] = [];
  const logprobs = toLogprobs(choice.logprobs);
  if (text.length > 0 || logprobs) out.push({ kind: 'text', text, logprobs });
  if (payload.usage) {
    out.push({
      kind: 'usage',
      promptTokens: payload.usage.prompt_tokens,
      completionTokens: payload.usage.completion_tokens,
    });
  }
  out.push({ kind: 'finish', reason: mapFinish(choice.finish_reason ?? 'stop') });
  return out;
}
