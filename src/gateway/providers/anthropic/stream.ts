/**
 * Anthropic response → unified chunks. Streaming SSE event types, in order:
 * message_start (usage.input_tokens), content_block_start, content_block_delta
 * (text_delta), content_block_stop, message_delta (stop_reason, usage.output_tokens),
 * message_stop; `ping` may come anywhere and `error` ends the stream with a fault.
 */
import type { FinishReason } from '../../../core/types';
import { UpstreamFailure, malformed } from '../failure';
import { parseStreamJson } from '../http';
import type { SseEvent } from '../sse';
import type { ProviderChunk } from '../types';

interface Usage {
  input_tokens?: number;
  output_tokens?: number;
}
interface AnthropicEvent {
  type?: string;
  message?: { usage?: Usage };
  delta?: { type?: string; text?: string; stop_reason?: string | null };
  usage?: Usage;
  error?: { type?: string; message?: string };
}
interface AnthropicMessage {
  type?: string;
  content?: { type?: string; text?: string }[];
  stop_reason?: string | null;
  usage?: Usage;
}

export function mapFinish(reason: string): FinishReason {
  return reason === 'max_tokens' ? 'length' : 'stop';
}

/** Translates one SSE event into `out`. Returns true at message_stop. */
export function parseEvent(target: string, ev: SseEvent, out: ProviderChunk[]): boolean {
  // The `event:` field and the payload's `type` agree; the payload is authoritative.
  if (ev.event === 'ping') return false;
  const e = parseStreamJson(target, ev.data) as AnthropicEvent;
  if (e === null || typeof e !== 'object') throw malformed(target, 'stream event');
  switch (e.type) {
    case 'message_start':
      if (e.message?.usage) {
        out.push({
          kind: 'usage',
          promptTokens: e.message.usage.input_tokens,
          completionTokens: e.message.usage.output_tokens,
        });
      }
      return false;
    case 'content_block_delta':
      if (e.delta?.type === 'text_delta' && e.delta.text) out.push({ kind: 'text', text: e.delta.text });
      return false;
    case 'message_delta':
      if (e.usage)
        out.push({
          kind: 'usage',
          completionTokens: e.usage.output_tokens,
          promptTokens: e.usage.input_tokens,
        });
      if (e.delta?.stop_reason) out.push({ kind: 'finish', reason: mapFinish(e.delta.stop_reason) });
      return false;
    case 'message_stop':
      return true;
    case 'error': {
      const type = e.error?.type ?? 'error';
      const overloaded = type === 'overloaded_error';
      throw new UpstreamFailure(
        overloaded ? 'UPSTREAM_UNAVAILABLE' : 'UPSTREAM_ERROR',
        `upstream ${target} stream error: ${type}`,
        {
          transient: true,
        },
      );
    }
    default:
      // content_block_start/stop and future event types carry nothing Colo needs.
      return false;
  }
}

export function parseBody(target: string, json: unknown): ProviderChunk[] {
  const m = json as AnthropicMessage | null;
  if (!m || !Array.isArray(m.content)) throw malformed(target, 'response (no content)');
  const text = m.content.map((b) => (b.type === 'text' && b.text ? b.text : '')).join('');
  const out: ProviderChunk[] = [];
  if (text.length > 0) out.push({ kind: 'text', text });
  if (m.usage)
    out.push({ kind: 'usage', promptTokens: m.usage.input_tokens, completionTokens: m.usage.output_tokens });
  out.push({ kind: 'finish', reason: mapFinish(m.stop_reason ?? 'end_turn') });
  return out;
}
