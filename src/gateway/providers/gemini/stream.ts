/**
 * Gemini response → unified chunks. Each SSE `data:` (and the one non-streaming body)
 * is a GenerateContentResponse: `candidates[0].content.parts[].text`, a
 * `finishReason` on the last one, and `usageMetadata` (cumulative, so the last wins).
 * Gemini sends no terminator event: the stream is complete when a finishReason was
 * seen before the body ended.
 */
import type { FinishReason } from '../../../core/types';
import { UpstreamFailure, malformed } from '../failure';
import { parseStreamJson } from '../http';
import type { SseEvent } from '../sse';
import type { ProviderChunk } from '../types';

interface GeminiResponse {
  candidates?: { content?: { parts?: { text?: string }[] }; finishReason?: string }[];
  usageMetadata?: { promptTokenCount?: number; candidatesTokenCount?: number };
  error?: { code?: number; status?: string; message?: string };
}

export function mapFinish(reason: string): FinishReason {
  // SAFETY, RECITATION, OTHER... end the text on purpose: a clean stop for Colo.
  return reason === 'MAX_TOKENS' ? 'length' : 'stop';
}

function translate(target: string, r: GeminiResponse | null, out: ProviderChunk[]): void {
  if (r === null || typeof r !== 'object') throw malformed(target, 'response');
  if (r.error) {
    throw new UpstreamFailure(
      'UPSTREAM_ERROR',
      `upstream ${target} stream error: ${String(r.error.status ?? r.error.code ?? 'error')}`,
      {
        transient: true,
      },
    );
  }
  const cand = r.candidates?.[0];
  const parts = cand?.content?.parts;
  if (parts) {
    for (const p of parts)
      if (typeof p.text === 'string' && p.text.length > 0) out.push({ kind: 'text', text: p.text });
  }
  if (r.usageMetadata) {
    out.push({
      kind: 'usage',
      promptTokens: r.usageMetadata.promptTokenCount,
      completionTokens: r.usageMetadata.candidatesTokenCount,
    });
  }
  if (cand?.finishReason && cand.finishReason !== 'FINISH_REASON_UNSPECIFIED') {
    out.push({ kind: 'finish', reason: mapFinish(cand.finishReason) });
  }
}

export function parseEvent(target: string, ev: SseEvent, out: ProviderChunk[]): void {
  translate(target, parseStreamJson(target, ev.data) as GeminiResponse, out);
}

export function parseBody(target: string, json: unknown): ProviderChunk[] {
  const out: ProviderChunk[] = [];
  const r = json as GeminiResponse | null;
  if (!r || !Array.isArray(r.candidates)) throw malformed(target, 'response (no candidates)');
  translate(target, r, out);
  return out;
}
