/**
 * The classifier and the model as two voices on one text. Each voice votes for a
 * direction with its confidence, weighted (classifier `weight`, model 1 - weight):
 * - direction: the one with the most weighted confidence (a tie goes to neutral);
 * - confidence: that mass minus the mass against it, so disagreement cancels out;
 * - score: the weighted mean of the two scores.
 * Agreement is reported per signal from which voices clear the skill's threshold; when
 * only the classifier does, the rationale says so, so nobody mistakes it for the model's
 * view. The classifier reads the whole text, so its one vote is paired with every
 * entity the model names.
 */
import { firstCashtag } from '../core/ticker';
import type { Signal, SignalDirection } from '../core/types';
import { DIRECTION_WORD, clamp, directionOf, round } from './builtin/common';
import { applyThreshold } from './skill';
import type { Agreement, SkillClassifier, Vote } from './types';

type Classification = Awaited<ReturnType<SkillClassifier['classify']>>[number];

/** A classification as a vote: direction from the label, score P(bullish) - P(bearish), confidence P(label). */
export function classifierVote(labels: readonly string[], c: Classification): Vote {
  let score = 0;
  labels.forEach((l, i) => (score += directionOf(l) * (c.probs[i] ?? 0)));
  return {
    direction: directionOf(c.label),
    score: round(clamp(score, -1, 1)),
    confidence: round(c.confidence),
    label: c.label,
  };
}

/** Classifier-only mode: one signal for the text, entity and ticker from its first $CASHTAG. */
export function classifierSignal(vote: Vote, text: string, classifier: string, threshold: number): Signal {
  const ticker = firstCashtag(text);
  return {
    entity: ticker,
    ticker,
    direction: vote.direction,
    score: vote.score,
    confidence: vote.confidence,
    label: vote.label,
    rationale: `classifier ${classifier}: ${vote.label} ${vote.confidence.toFixed(2)}`,
    abstain: vote.confidence < threshold,
  };
}

export const llmVote = (s: Signal): Vote => ({
  direction: s.direction,
  score: s.score,
  confidence: s.confidence,
  label: s.label,
});

export function agreementOf(
  clf: Vote | undefined,
  llm: Vote,
  llmUsable: boolean,
  threshold: number,
): Agreement {
  const c = clf !== undefined && clf.confidence >= threshold;
  const l = llmUsable && llm.confidence >= threshold;
  if (c && l) return clf!.direction === llm.direction ? 'agree' : 'disagree';
  return c ? 'classifier-only' : l ? 'llm-only' : 'neither';
}

const fmt = (v: Vote) => `${DIRECTION_WORD[v.direction]} ${v.confidence.toFixed(2)}`;

/**
 * One model signal (before the threshold) combined with the classifier's vote, then
 * thresholded. A model signal that already abstained for its own reasons (inconsistent
 * output) counts as no confidence.
 */
export function combine(
  llm: Signal,
  clf: Vote | undefined,
  weight: number,
  threshold: number,
): { signal: Signal; agreement: Agreement } {
  const usable = !llm.abstain;
  const lv = llmVote(llm);
  const agreement = agreementOf(clf, lv, usable, threshold);
  if (!clf) return { signal: applyThreshold(llm, threshold), agreement };
  const votes: { w: number; v: Vote; c: number }[] = [
    { w: weight, v: clf, c: clf.confidence },
    { w: 1 - weight, v: lv, c: usable ? lv.confidence : 0 },
  ];
  const mass = new Map<SignalDirection, number>([
    [-1, 0],
    [0, 0],
    [1, 0],
  ]);
  for (const x of votes) mass.set(x.v.direction, mass.get(x.v.direction)! + x.w * x.c);
  let dir: SignalDirection = 0;
  for (const d of [-1, 1] as const) if (mass.get(d)! > mass.get(dir)!) dir = d;
  let against = 0;
  for (const [d, m] of mass) if (d !== dir) against += m;
  const confidence = round(clamp(mass.get(dir)! - against, 0, 1));
  const score = round(clamp(weight * clf.score + (1 - weight) * (usable ? lv.score : 0), -1, 1));
  const note =
    agreement === 'classifier-only'
      ? `only the classifier is confident (${fmt(clf)}); llm ${usable ? fmt(lv) : 'output unusable'}`
      : `classifier ${fmt(clf)}, llm ${usable ? fmt(lv) : 'output unusable'}`;
  return {
    agreement,
    signal: {
      ...llm,
      direction: dir,
      score,
      confidence,
      label: DIRECTION_WORD[dir],
      rationale: `ensemble ${agreement}: ${note}${llm.rationale ? `; ${llm.rationale}` : ''}`,
      abstain: confidence < threshold,
    },
  };
}
