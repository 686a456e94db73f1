/** Pieces the built-in skills share: direction words, bounded fields, ticker clean-up. */
import type { SignalDirection } from '../../core/types';
import type { JsonSchema } from '../types';

export const DIRECTION_WORDS = ['bullish', 'bearish', 'neutral'] as const;
export type DirectionWord = (typeof DIRECTION_WORDS)[number];

const NEGATIVE = /^(bearish|negative|neg|down|sell|short)$/i;
const POSITIVE = /^(bullish|positive|pos|up|buy|long)$/i;

/** bullish/positive/up/buy/long → +1, bearish/negative/down/sell/short → -1, anything else 0 (also classifier labels). */
export function directionOf(word: string): SignalDirection {
  return NEGATIVE.test(word) ? -1 : POSITIVE.test(word) ? 1 : 0;
}

export const DIRECTION_WORD: Readonly<Record<SignalDirection, DirectionWord>> = {
  [-1]: 'bearish',
  0: 'neutral',
  1: 'bullish',
};

export const str = (maxLength: number, description?: string): JsonSchema => ({
  type: 'string',
  maxLength,
  ...(description ? { description } : {}),
});

export const unit = (description: string): JsonSchema => ({
  type: 'number',
  minimum: 0,
  maximum: 1,
  description,
});
export const signedUnit = (description: string): JsonSchema => ({
  type: 'number',
  minimum: -1,
  maximum: 1,
  description,
});

export const CONFIDENCE = unit('probability that this reading is right');
export const TICKER = str(8, 'exchange ticker, "" if unknown');

const TICKER_SHAPE = /^[A-Z0-9][A-Z0-9.\-]{0,9}$/;

/**
 * "$aapl " → "AAPL": models echo cashtags and casing as they find them. Anything that
 * does not look like a ticker becomes '' (unknown): an engine may route orders on it.
 */
export function cleanTicker(t: string): string {
  const s = t.trim().replace(/^\$/, '').toUpperCase();
  return TICKER_SHAPE.test(s) ? s : '';
}

export const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

/** Tidies -0 and float noise so signals compare and print cleanly. */
export const round = (x: number): number => Math.round(x * 1e6) / 1e6 + 0;
