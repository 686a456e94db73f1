/**
 * Unified request → Gemini `generateContent` / `streamGenerateContent?alt=sse` body.
 * Roles are `user` and `model`; system messages go to `systemInstruction`. The key
 * travels in the `x-goog-api-key` header, never in the URL, so it cannot leak
 * through a logged URL.
 */
import type { ProviderTarget, UnifiedRequest } from '../types';

export interface GeminiRequest {
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export function buildRequest(target: ProviderTarget, req: UnifiedRequest): GeminiRequest {
  const s = req.sampling;
  const system: { text: string }[] = [];
  const contents: { role: 'user' | 'model'; parts: { text: string }[] }[] = [];
  for (const m of req.messages ?? [{ role: 'user' as const, content: req.prompt ?? '' }]) {
    if (m.role === 'system') system.push({ text: m.content });
    else contents.push({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] });
  }
  const generationConfig: Record<string, unknown> = {
    maxOutputTokens: s.maxTokens,
    temperature: s.temperature,
    topP: s.topP,
  };
  if (s.stop.length > 0) generationConfig.stopSequences = s.stop;
  if (s.seed !== undefined) generationConfig.seed = s.seed;
  // JSON mode only: Gemini's responseSchema takes an OpenAPI subset that a JSON Schema
  // may not fit, so the schema itself is checked by the caller (src/skills).
  if (req.responseSchema !== undefined) generationConfig.responseMimeType = 'application/json';
  // The chosen token's log-probability, and `logprobs` top candidates per step.
  if (req.logprobs !== undefined) {
    generationConfig.responseLogprobs = true;
    if (req.logprobs > 0) generationConfig.logprobs = req.logprobs;
  }
  const body: Record<string, unknown> = { contents, generationConfig };
  if (system.length > 0) body.systemInstruction = { parts: system };
  const model = encodeURIComponent(target.model);
  const path = target.stream
    ? `/models/${model}:streamGenerateContent?alt=sse`
    : `/models/${model}:generateContent`;
  const headers: Record<string, string> = {};
  if (target.apiKey) headers['x-goog-api-key'] = target.apiKey;
  return { path, headers, body };
}
