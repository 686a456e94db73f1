/**
 * Fan-out answers (`tickers` on a skill that has `fanout`): the skill's labels are
 * scored after each ticker's prompt (src/core/ticker.ts), and each ticker's decision
 * becomes one signal. Pure: the scoring itself is the engine's (src/engine/score.ts).
 */
import type { Signal, TickerDecision } from '../core/types';
import { clamp, directionOf, round } from './builtin/common';

/**
 * One ticker's signal, before the threshold: the most probable label, its direction,
 * confidence = its probability, score = Σ direction(label) × p(label) (for
 * bullish/bearish/neutral: P(bullish) − P(bearish)).
 */
export function fanoutSignal(d: TickerDecision, labels: readonly string[]): Signal {
  let score = 0;
  labels.forEach((l, i) => (score += directionOf(l) * (d.probs[i] ?? 0)));
  return {
    entity: d.ticker,
    ticker: d.ticker,
    direction: directionOf(d.choice),
    score: round(clamp(score, -1, 1)),
    confidence: round(d.probs[labels.indexOf(d.choice)] ?? 0),
    label: d.choice,
    rationale: `scored ${labels.map((l, i) => `${l} ${(d.probs[i] ?? 0).toFixed(2)}`).join(', ')}`,
    abstain: false,
  };
}

/** The run's `output`: per ticker, in request order, the label and every label's probability. */
export function fanoutOutput(decisions: readonly TickerDecision[], labels: readonly string[]) {
  return {
    tickers: decisions.map((d) => ({
      ticker: d.ticker,
      label: d.choice,
      probabilities: Object.fromEntries(labels.map((l, i) => [l, round(d.probs[i] ?? 0)])),
    })),
  };
}
