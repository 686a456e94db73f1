/**
 * Unified request → OpenAI `/chat/completions` or `/completions` body. The same body
 * works for OpenAI-compatible servers (vLLM, Ollama, llama-server), which is why
 * only widely supported fields are sent (`max_tokens`, not `max_completion_tokens`).
 */
import type { ChatMessage } from '../../../core/types';
import type { ProviderTarget, UnifiedRequest } from '../types';

export interface OpenAiRequest {
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export function buildRequest(target: ProviderTarget, req: UnifiedRequest): OpenAiRequest {
  const s = req.sampling;
  const body: Record<string, unknown> = {
    model: target.model,
    max_tokens: s.maxTokens,
    temperature: s.temperature,
    top_p: s.topP,
    stream: target.stream,
  };
  if (s.stop.length > 0) body.stop = s.stop;
  if (s.seed !== undefined) body.seed = s.seed;
  // Usage is only sent in a stream when asked for; it arrives in a last chunk with no choices.
  if (target.stream && target.streamUsage) body.stream_options = { include_usage: true };
  let path: string;
  if (target.endpoint === 'completion') {
    path = '/completions';
    body.prompt = req.prompt ?? flatten(req.messages ?? []);
  } else {
    path = '/chat/completions';
    body.messages = req.messages ?? [{ role: 'user', content: req.prompt ?? '' }];
    // Structured output (OpenAI, and vLLM / llama-server through the same field).
    if (req.responseSchema !== undefined) {
      body.response_format = {
        type: 'json_schema',
        json_schema: { name: 'colo_output', schema: req.responseSchema },
      };
    }
  }
  // Logprobs as each endpoint takes them: completions a count of alternatives, chat a flag
  // and `top_logprobs`.
  if (req.logprobs !== undefined) {
    if (target.endpoint === 'completion') body.logprobs = req.logprobs;
    else {
      body.logprobs = true;
      body.top_logprobs = req.logprobs;
    }
  }
  const headers: Record<string, string> = {};
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  return { path, headers, body };
}

/** Chat messages as one completion prompt, for completion-only servers. */
function flatten(messages: ChatMessage[]): string {
  return messages.map((m) => `${m.role}: ${m.content}`).join('\n') + '\nassistant:';
}
