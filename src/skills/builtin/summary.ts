/**
 * summary: an earnings call or filing excerpt condensed to key figures, guidance,
 * forward-looking statements and risks, plus one signal for the issuer. Direction comes
 * from guidance when it moved (raised +1, lowered or withdrawn -1), else from tone.
 * The whole summary is the result's `output` (and, as JSON, its `text`).
 */
import type { Signal, SignalDirection } from '../../core/types';
import type { SkillDefinition } from '../types';
import { CONFIDENCE, TICKER, cleanTicker, round, str } from './common';

export const GUIDANCE = ['raised', 'lowered', 'maintained', 'initiated', 'withdrawn', 'none'] as const;
export const TONES = ['positive', 'negative', 'mixed', 'neutral'] as const;

export interface SummaryOutput {
  entity: string;
  ticker: string;
  summary: string;
  key_figures: { name: string; value: string; change: string }[];
  guidance: { direction: string; detail: string };
  forward_looking: string[];
  risks: string[];
  tone: string;
  confidence: number;
}

export const summarySchema = {
  type: 'object',
  properties: {
    entity: str(32, 'the issuer'),
    ticker: TICKER,
    summary: str(160, 'two sentences at most'),
    key_figures: {
      type: 'array',
      minItems: 0,
      maxItems: 3,
      items: {
        type: 'object',
        properties: {
          name: str(24, 'e.g. revenue, EPS'),
          value: str(16, 'as stated, with unit'),
          change: str(16, 'e.g. +12% y/y, "" if not stated'),
        },
      },
    },
    guidance: {
      type: 'object',
      properties: { direction: { enum: [...GUIDANCE] }, detail: str(80) },
    },
    forward_looking: { type: 'array', minItems: 0, maxItems: 2, items: str(80) },
    risks: { type: 'array', minItems: 0, maxItems: 2, items: str(80) },
    tone: { enum: [...TONES] },
    confidence: CONFIDENCE,
  },
};

export function summaryDirection(o: Pick<SummaryOutput, 'guidance' | 'tone'>): SignalDirection {
  if (o.guidance.direction === 'raised') return 1;
  if (o.guidance.direction === 'lowered' || o.guidance.direction === 'withdrawn') return -1;
  return o.tone === 'positive' ? 1 : o.tone === 'negative' ? -1 : 0;
}

export function mapSummary(output: unknown): Signal[] {
  const o = output as SummaryOutput;
  const direction = summaryDirection(o);
  const moved = ['raised', 'lowered', 'withdrawn'].includes(o.guidance.direction);
  return [
    {
      entity: o.entity.trim(),
      ticker: cleanTicker(o.ticker),
      direction,
      score: round(direction * o.confidence),
      confidence: round(o.confidence),
      label: moved ? `guidance_${o.guidance.direction}` : `tone_${o.tone}`,
      rationale: o.summary.trim(),
      abstain: false,
    },
  ];
}

export const summarySkill: SkillDefinition = {
  name: 'summary',
  version: '1.0.0',
  description:
    'Earnings call or filing summary: key figures, guidance, forward-looking statements, risks, and one signal for the issuer.',
  state: 'published',
  template: {
    system:
      'You are an equity analyst. Summarize the earnings call or filing excerpt: the issuer, up to 3 key figures as stated, ' +
      'guidance and whether it was raised, lowered, maintained, initiated or withdrawn, up to 2 forward-looking statements, ' +
      'up to 2 risks, and the overall tone. Use only facts in the text. Answer with JSON only, in exactly this shape:\n{{shape}}',
    user: 'Text:\n"""\n{{input}}\n"""',
  },
  promptFormat: 'chat',
  outputSchema: summarySchema,
  threshold: 0.6,
  sampling: { temperature: 0, topP: 1 },
  maxInputBytes: 32768,
  map: mapSummary,
};
