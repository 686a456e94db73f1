/**
 * Maps a sentiment classification onto the typed Signal an execution engine acts on:
 * direction from the label (bearish/negative -1, bullish/positive +1, else 0), score =
 * P(bullish) - P(bearish), confidence = P(label), ticker from the first $CASHTAG.
 * The signal abstains below `threshold` and whenever the classification is marked
 * `escalate` (the cascade: low confidence, hand it to the LLM).
 */
import { firstCashtag } from '../core/ticker';
import type { Signal, SignalDirection } from '../core/types';
import type { Classification } from './classifier';

const NEGATIVE = /^(bearish|negative|neg|down|sell)$/i;
const POSITIVE = /^(bullish|positive|pos|up|buy)$/i;

export function directionOfLabel(label: string): SignalDirection {
  return NEGATIVE.test(label) ? -1 : POSITIVE.test(label) ? 1 : 0;
}

export function classificationToSignal(
  c: Classification,
  labels: readonly string[],
  text: string,
  threshold = 0,
): Signal {
  let score = 0;
  labels.forEach((l, i) => (score += directionOfLabel(l) * (c.probs[i] ?? 0)));
  const ticker = firstCashtag(text);
  return {
    entity: ticker,
    ticker,
    direction: directionOfLabel(c.label),
    score: Math.max(-1, Math.min(1, score)),
    confidence: c.confidence,
    label: c.label,
    rationale: '',
    abstain: c.confidence < threshold || c.escalate,
  };
}
