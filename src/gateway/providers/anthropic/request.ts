/**
 * Unified request → Anthropic Messages API body (`POST /v1/messages`). System
 * messages move to the top-level `system` field; a bare prompt becomes one user turn.
 */
import type { ProviderTarget, UnifiedRequest } from '../types';

/** The API version this adapter speaks; a target may override it through `headers`. */
export const ANTHROPIC_VERSION = '2023-06-01';

export interface AnthropicRequest {
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export function buildRequest(target: ProviderTarget, req: UnifiedRequest): AnthropicRequest {
  const s = req.sampling;
  const system: string[] = [];
  const messages: { role: 'user' | 'assistant'; content: string }[] = [];
  for (const m of req.messages ?? [{ role: 'user' as const, content: req.prompt ?? '' }]) {
    if (m.role === 'system') system.push(m.content);
    else messages.push({ role: m.role, content: m.content });
  }
  const body: Record<string, unknown> = {
    model: target.model,
    max_tokens: s.maxTokens,
    messages,
    // Anthropic's range is [0, 1]; newer models reject temperature together with
    // top_p, so only temperature is sent.
    temperature: Math.min(1, Math.max(0, s.temperature)),
    stream: target.stream,
  };
  if (system.length > 0) body.system = system.join('\n\n');
  if (s.stop.length > 0) body.stop_sequences = s.stop;
  const headers: Record<string, string> = { 'anthropic-version': ANTHROPIC_VERSION };
  if (target.apiKey) headers['x-api-key'] = target.apiKey;
  return { path: '/messages', headers, body };
}
