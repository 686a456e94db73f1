/**
 * sentiment: per entity named in the text, a direction, a score in [-1, 1] and a
 * confidence. A score whose sign contradicts the stated sentiment makes that signal
 * abstain: the model did not give one reading, so there is nothing safe to act on.
 */
import type { Signal } from '../../core/types';
import type { SkillDefinition } from '../types';
import {
  CONFIDENCE,
  DIRECTION_WORDS,
  TICKER,
  cleanTicker,
  directionOf,
  round,
  signedUnit,
  str,
} from './common';

export interface SentimentOutput {
  entities: {
    entity: string;
    ticker: string;
    sentiment: string;
    score: number;
    confidence: number;
    rationale: string;
  }[];
}

export const sentimentSchema = {
  type: 'object',
  properties: {
    entities: {
      type: 'array',
      minItems: 1,
      maxItems: 3,
      items: {
        type: 'object',
        properties: {
          entity: str(32, 'company, asset or topic; "" for the market as a whole'),
          ticker: TICKER,
          sentiment: { enum: [...DIRECTION_WORDS] },
          score: signedUnit('-1 very bearish, +1 very bullish; its sign matches sentiment'),
          confidence: CONFIDENCE,
          rationale: str(80, 'one short reason'),
        },
      },
    },
  },
};

/** Neutral readings may lean a little either way, but not this far. */
const NEUTRAL_MAX_ABS_SCORE = 0.5;

export function consistent(direction: -1 | 0 | 1, score: number): boolean {
  if (direction === 0) return Math.abs(score) < NEUTRAL_MAX_ABS_SCORE;
  return Math.sign(score) === direction;
}

export function mapSentiment(output: unknown): Signal[] {
  return (output as SentimentOutput).entities.map((e) => {
    const direction = directionOf(e.sentiment);
    const ok = consistent(direction, e.score);
    return {
      entity: e.entity.trim(),
      ticker: cleanTicker(e.ticker),
      direction,
      score: round(e.score),
      confidence: round(e.confidence),
      label: e.sentiment,
      rationale: ok
        ? e.rationale.trim()
        : `inconsistent output: score ${e.score} against ${e.sentiment}; ${e.rationale.trim()}`,
      abstain: !ok,
    };
  });
}

export const sentimentSkill: SkillDefinition = {
  name: 'sentiment',
  version: '1.0.0',
  description:
    'Market sentiment per company or asset named in a headline or short text: direction, score in [-1, 1], confidence, rationale.',
  state: 'published',
  template: {
    system:
      'You are a financial news analyst. Rate the market sentiment the text implies for each company or asset it names (at most 3). ' +
      'If it names none, give one entry with entity "" for the market as a whole. ' +
      'Answer with JSON only, in exactly this shape:\n{{shape}}',
    user: 'Text:\n"""\n{{input}}\n"""',
  },
  promptFormat: 'chat',
  outputSchema: sentimentSchema,
  threshold: 0.6,
  sampling: { temperature: 0, topP: 1 },
  maxInputBytes: 4096,
  // `tickers`: one signal per ticker, scoring the direction words after each ticker's prompt.
  fanout: {
    template: {
      system:
        'You are a financial news analyst. Say whether the text is bullish, bearish or neutral for the stock whose ticker follows it. ' +
        'Answer with one word: bullish, bearish or neutral.',
      user: 'Text:\n"""\n{{input}}\n"""',
    },
    labels: DIRECTION_WORDS,
  },
  map: mapSentiment,
};
