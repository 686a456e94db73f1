/**
 * Gemini response → unified chunks. Each SSE `data:` (and the one non-streaming body)
 * is a GenerateContentResponse: `candidates[0].content.parts[].text`, a
 * `finishReason` on the last one, and `usageMetadata` (cumulative, so the last wins).
 * Gemini sends no terminator event: the stream is complete when a finishReason was
 * seen before the body ended.
 */
import type { FinishReason, TokenLogprob } from '../../../core/types';
import { UpstreamFailure, malformed } from '../failure';
import { parseStreamJson } from '../http';
import type { SseEvent } from '../sse';
import type { ProviderChunk } from '../types';

interface GeminiCandidate {
  token?: string;
  logProbability?: number;
}
interface GeminiResponse {
  candidates?: {
    content?: { parts?: { text?: string }[] };
    finishReason?: string;
    logprobsResult?: {
      chosenCandidates?: GeminiCandidate[];
      topCandidates?: { candidates?: GeminiCandidate[] }[];
    };
  }[];
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
  const first = out.length;
  if (parts) {
    for (const p of parts)
      if (typeof p.text === 'string' && p.text.length > 0) out.push({ kind: 'text', text: p.text });
  }
  // This response's steps ride on its last text (or on an empty text when it has none).
  const logprobs = toLogprobs(cand?.logprobsResult);
  if (logprobs) {
    const last = out.length > first ? out[out.length - 1] : undefined;
    if (last?.kind === 'text') last.logprobs = logprobs;
    else out.push({ kind: 'text', text: '', logprobs });
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

/** Gemini's `logprobsResult` (chosen and top candidates per step) as Colo's entries. */
function toLogprobs(
  lr: NonNullable<GeminiResponse['candidates']>[number]['logprobsResult'],
): TokenLogprob[] | undefined {
  const chosen = lr?.chosenCandidates;
  if (!chosen || chosen.length === 0) return undefined;
  const lp = (c: GeminiCandidate) => (typeof c.logProbability === 'number' ? c.logProbability : -Infinity);
  return chosen.map((c, i) => ({
    token: c.token ?? '',
    logprob: lp(c),
    top: (lr?.topCandidates?.[i]?.candidates ?? []).map((t) => ({ token: t.token ?? '', logprob: lp(t) })),
  }));
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
