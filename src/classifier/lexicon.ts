/**
 * The directional financial lexicon: reads a sentence for movements of metrics and turns
 * them into a few polarity tokens (`<lex+>`, `<lex->`, ...) that the featurizer hashes
 * like words. A linear model trained on headlines learns what `<lex+>` means from
 * "revenue rises" tweets and applies it to "net sales increased to EUR 70.4 million",
 * whose words it never saw.
 *
 * Per sentence, in order:
 *   1. Scan: words, numbers (value × magnitude: "1.2 billion", "45m", "1,840", "9,8"),
 *      clause breaks (, ( ) dashes) and segment breaks (. ; : ! ? but while although...).
 *   2. Movement words (rose, fell, widened, narrowed, cut, lower...) take the sign of the
 *      movement times the polarity of their metric: the nearest metric word before them in
 *      the clause, else after, else the last one of the segment, else "good". A bad metric
 *      (loss, costs, debt...) flips: "the operating loss widened" is `<lex->`, "costs
 *      decreased" is `<lex+>`.
 *   3. Words polar in themselves (record, beat, warning, impairment...) count unless a
 *      movement or a comparison (step 5, run before this one) used them as its metric.
 *   4. A negator (not, no, never, without, n't) up to NEGATION_WINDOW words before a polar
 *      word in its clause flips it: "did not meet", "no longer expects a loss".
 *   5. Comparisons of two figures: "to A from B", "from B to A", "A compared with B",
 *      "A versus B", "A (B)"; sign(A - B) times the polarity of the metric before A. This
 *      covers "operating profit was EUR 5.3 mn, compared to EUR 7.1 mn", which has no
 *      movement word at all.
 *   6. Summary tokens: `<lexnet+>`/`<lexnet->` for the net sign, `<lexmix>` when both
 *      signs occur, `<lexflat>` per "unchanged/stable/in line" word, `<lex0>` when
 *      nothing polar was found.
 */
import {
  BAD_METRIC,
  COMPARE,
  CURRENCY,
  DOWN,
  FLAT,
  GOOD_METRIC,
  MAGNITUDE,
  NEGATION_WINDOW,
  NEGATIVE,
  NEGATORS,
  POSITIVE,
  UP,
} from './lexiconWords';
import { scanSentence, type Scan } from './lexiconScan';

export const LEX_POS = '<lex+>';
export const LEX_NEG = '<lex->';
export const LEX_NONE = '<lex0>';
export const LEX_FLAT = '<lexflat>';
export const LEX_NET_POS = '<lexnet+>';
export const LEX_NET_NEG = '<lexnet->';
export const LEX_MIX = '<lexmix>';

const enum F {
  Up = 1,
  Down = 2,
  Pos = 4,
  Neg = 8,
  Bad = 16,
  Good = 32,
  Negator = 64,
  Compare = 128,
  Currency = 256,
  Flat = 512,
}

const FLAGS = new Map<string, number>();
const add = (words: ReadonlySet<string>, flag: number): void => {
  for (const w of words) FLAGS.set(w, (FLAGS.get(w) ?? 0) | flag);
};
add(UP, F.Up);
add(DOWN, F.Down);
add(POSITIVE, F.Pos);
add(NEGATIVE, F.Neg);
add(BAD_METRIC, F.Bad);
add(GOOD_METRIC, F.Good);
add(NEGATORS, F.Negator);
add(COMPARE, F.Compare);
add(CURRENCY, F.Currency);
add(FLAT, F.Flat);
for (const m of MAGNITUDE.keys()) if (!FLAGS.has(m)) FLAGS.set(m, 0);

/** What the lexicon found in one text: counts, and the tokens to hash. */
export interface LexiconReading {
  positive: number;
  negative: number;
  flat: number;
  tokens: string[];
}

/** Reads `text` (any case). Allocation: the scan's arrays are reused across calls. */
export class Lexicon {
  private readonly scan: Scan = {
    n: 0,
    words: [],
    flags: new Int32Array(256),
    num: new Float64Array(256),
    clause: new Int32Array(256),
    seg: new Int32Array(256),
    paren: new Uint8Array(256),
  };
  private used = new Uint8Array(256);

  read(text: string, tokens: string[] = []): LexiconReading {
    tokens.length = 0;
    const s = scanSentence(text, this.scan, FLAGS);
    if (this.used.length < s.flags.length) this.used = new Uint8Array(s.flags.length);
    const used = this.used;
    used.fill(0, 0, s.n);
    let pos = 0;
    let neg = 0;
    let flat = 0;
    const emit = (sign: number): void => {
      if (sign > 0) {
        pos++;
        tokens.push(LEX_POS);
      } else if (sign < 0) {
        neg++;
        tokens.push(LEX_NEG);
      }
    };
    // 2. movements.
    for (let i = 0; i < s.n; i++) {
      const f = s.flags[i] as number;
      if (!(f & (F.Up | F.Down))) continue;
      if (s.words[i] === 'up' && s.words[i + 1] === 'to') continue; // "up to 5 %"
      const dir = f & F.Up ? 1 : -1;
      emit(dir * metricPolarity(s, i, used) * negation(s, i));
      used[i] = 1;
    }
    // 5. comparisons of two figures, at most one per segment.
    let segStart = 0;
    for (let i = 0; i <= s.n; i++) {
      if (i < s.n && s.seg[i] === s.seg[segStart]) continue;
      const cmp = compareFigures(s, segStart, i);
      if (cmp !== null) emit(cmp.sign * metricBefore(s, cmp.at, segStart, used));
      segStart = i;
    }
    // 3. words polar in themselves.
    for (let i = 0; i < s.n; i++) {
      const f = s.flags[i] as number;
      if (used[i]) continue;
      if (f & F.Flat) flat++;
      if (!(f & (F.Pos | F.Neg))) continue;
      emit((f & F.Pos ? 1 : -1) * negation(s, i));
    }
    // 6. summary.
    for (let k = 0; k < flat; k++) tokens.push(LEX_FLAT);
    if (pos === 0 && neg === 0) tokens.push(LEX_NONE);
    else if (pos > neg) tokens.push(LEX_NET_POS);
    else if (neg > pos) tokens.push(LEX_NET_NEG);
    if (pos > 0 && neg > 0) tokens.push(LEX_MIX);
    return { positive: pos, negative: neg, flat, tokens };
  }
}

const METRIC_BACK = 5;
const METRIC_FORWARD = 4;

/** Step 2: +1 for a good metric (or none found), -1 for a bad one; marks the metric used. */
function metricPolarity(s: Scan, i: number, used: Uint8Array): number {
  const clause = s.clause[i];
  for (let j = i - 1; j >= 0 && j >= i - METRIC_BACK && s.clause[j] === clause; j--) {
    const p = polarityAt(s, j);
    if (p !== 0) {
      used[j] = 1;
      return p;
    }
  }
  for (let j = i + 1; j < s.n && j <= i + METRIC_FORWARD && s.clause[j] === clause; j++) {
    const p = polarityAt(s, j);
    if (p !== 0) {
      used[j] = 1;
      return p;
    }
  }
  // "Operating profit improved to GBP 22 million, up from GBP 17.5 million": the metric is
  // in an earlier clause of the same segment.
  for (let j = i - 1; j >= 0 && s.seg[j] === s.seg[i]; j--) {
    const p = polarityAt(s, j);
    if (p !== 0) return p;
  }
  return 1;
}

/** The polarity of the nearest metric before `at` in its segment (marked used); +1 if none. */
function metricBefore(s: Scan, at: number, segStart: number, used: Uint8Array): number {
  for (let j = at - 1; j >= segStart; j--) {
    const p = polarityAt(s, j);
    if (p !== 0) {
      used[j] = 1;
      return p;
    }
  }
  return 1;
}

/** Metric polarity of word j; 0 for a non-metric and for a denominator ("loss per share"). */
function polarityAt(s: Scan, j: number): number {
  if (j > 0 && s.words[j - 1] === 'per') return 0;
  const f = s.flags[j] as number;
  return f & F.Bad ? -1 : f & F.Good ? 1 : 0;
}

/** Step 4: -1 if a negator precedes word i closely in its clause. */
function negation(s: Scan, i: number): number {
  const clause = s.clause[i];
  for (let j = i - 1; j >= 0 && j >= i - NEGATION_WINDOW && s.clause[j] === clause; j--) {
    if ((s.flags[j] as number) & F.Negator || (s.words[j] as string).endsWith("n't")) return -1;
  }
  return 1;
}

const isNum = (s: Scan, j: number): boolean => !Number.isNaN(s.num[j] as number);

/** The next number within `within` items after i, skipping currency words; -1 if none. */
function numberAfter(s: Scan, i: number, end: number, within: number): number {
  for (let j = i + 1; j < end && j <= i + within; j++) {
    if (isNum(s, j)) return j;
    if (!((s.flags[j] as number) & F.Currency)) return -1;
  }
  return -1;
}

function wordAfter(s: Scan, i: number, end: number, within: number, word: string): number {
  for (let j = i + 1; j < end && j <= i + within; j++) if (s.words[j] === word) return j;
  return -1;
}

/** Step 5: the first "A vs B" of the segment [start, end): sign(A - B) and A's index. */
function compareFigures(s: Scan, start: number, end: number): { sign: number; at: number } | null {
  for (let i = start; i < end; i++) {
    const w = s.words[i];
    let a = -1;
    let b = -1;
    if (w === 'from') {
      b = numberAfter(s, i, end, 3);
      const to = b < 0 ? -1 : wordAfter(s, b, end, 4, 'to');
      a = to < 0 ? -1 : numberAfter(s, to, end, 3);
    } else if (w === 'to') {
      a = numberAfter(s, i, end, 3);
      const from = a < 0 ? -1 : wordAfter(s, a, end, 8, 'from');
      b = from < 0 ? -1 : numberAfter(s, from, end, 3);
    } else if (isNum(s, i)) {
      a = i;
      for (let j = i + 1; j < end && j <= i + 4; j++) {
        if (isNum(s, j)) {
          if (s.paren[j]) b = j;
          break;
        }
        if ((s.flags[j] as number) & F.Compare) {
          b = numberAfter(s, j + (s.words[j + 1] === 'with' || s.words[j + 1] === 'to' ? 1 : 0), end, 4);
          break;
        }
      }
    }
    if (a >= 0 && b >= 0) {
      const d = (s.num[a] as number) - (s.num[b] as number);
      if (d !== 0) return { sign: d > 0 ? 1 : -1, at: Math.min(a, b, i) };
    }
  }
  return null;
}
