/**
 * A typed trading signal, as a skill returns it and the Result frame carries it
 * (table Signal in schemas/colo.fbs). Defined here because the wire is its first user;
 * src/skills produces it.
 */

/** Bearish -1, neutral 0, bullish 1. */
export type SignalDirection = -1 | 0 | 1;

export interface Signal {
  /** The company, asset or topic the signal is about. */
  entity: string;
  /** Exchange ticker when known, else ''. */
  ticker: string;
  direction: SignalDirection;
  /** In [-1, 1]. */
  score: number;
  /** In [0, 1]. */
  confidence: number;
  /** The skill's class label (e.g. bullish, earnings_beat). */
  label: string;
  /** Short explanation, '' when the skill gives none. */
  rationale: string;
  /** True when confidence fell below the skill's threshold: do not act. */
  abstain: boolean;
}
