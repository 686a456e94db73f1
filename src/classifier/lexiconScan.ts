/**
 * Step 1 of the lexicon (lexicon.ts): one pass over a sentence, no regular expressions,
 * into parallel arrays reused across calls. Unlike tokenize.ts it keeps what the
 * lexicon needs and the hashed features do not: number values with their magnitude,
 * and clause / segment breaks.
 *
 *   - Numbers: "1,840" (thousands), "9,8" (decimal comma), "1.2 billion", "45m", "7 %".
 *     Years (1900-2100, bare) and day numbers next to a month name are not figures.
 *   - Clause breaks: , ( ) and dashes. Segment breaks: . ; : ! ? and the contrast words
 *     but / while / whereas / although / though / however / despite (dropped).
 *   - `paren[i]` marks a number right after "(" (currency words between are allowed):
 *     "EUR 27.5 million (EUR 19.2 million)".
 */
import { MAGNITUDE } from './lexiconWords';

export interface Scan {
  n: number;
  /** The word, or '' for a number. */
  words: string[];
  /** Lexicon flags of the word (0 when unknown or a number). */
  flags: Int32Array;
  /** The number's value; NaN for words. */
  num: Float64Array;
  clause: Int32Array;
  seg: Int32Array;
  paren: Uint8Array;
}

/** The lexicon flag of currency words (lexicon.ts `F.Currency`). */
export const CURRENCY_FLAG = 256;

const CONTRAST = new Set(['but', 'while', 'whereas', 'although', 'though', 'however', 'despite']);
const MONTHS = new Set(
  'january february march april may june july august september october november december jan feb mar apr jun jul aug sep sept oct nov dec'.split(
    ' ',
  ),
);
const CURRENCY_SIGNS = new Set([36, 0x20ac, 0xa3, 0xa5]); // $ € £ ¥

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isLetter = (c: number): boolean =>
  (c >= 97 && c <= 122) ||
  (c > 127 && c !== 0x2013 && c !== 0x2014 && c !== 0x2019 && c !== 0xa0 && !CURRENCY_SIGNS.has(c));
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13) || c === 0xa0;

function grow(s: Scan): void {
  const cap = s.flags.length * 2;
  const g = <T extends Int32Array | Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
    const b = make(cap);
    b.set(a);
    return b;
  };
  s.flags = g(s.flags, (n) => new Int32Array(n));
  s.num = g(s.num, (n) => new Float64Array(n));
  s.clause = g(s.clause, (n) => new Int32Array(n));
  s.seg = g(s.seg, (n) => new Int32Array(n));
  s.paren = g(s.paren, (n) => new Uint8Array(n));
}

/** "1,840" → 1840, "9,8" → 9.8, "1,234.5" → 1234.5. */
export function parseFigure(raw: string): number {
  const comma = raw.indexOf(',');
  if (comma < 0) return Number(raw);
  if (raw.includes('.')) return Number(raw.replaceAll(',', ''));
  const groups = raw.split(',');
  const thousands = groups.slice(1).every((g) => g.length === 3);
  return Number(thousands ? groups.join('') : groups.join('.'));
}

/** Scans `text` into `s` (reset first) and returns it. */
export function scanSentence(text: string, s: Scan, flagsOf: ReadonlyMap<string, number>): Scan {
  const t = text.toLowerCase();
  const len = t.length;
  s.n = 0;
  s.words.length = 0;
  let clause = 0;
  let seg = 0;
  let parenNext = false;
  const push = (word: string, flags: number, num: number): void => {
    if (s.n === s.flags.length) grow(s);
    const k = s.n++;
    s.words[k] = word;
    s.flags[k] = flags;
    s.num[k] = num;
    s.clause[k] = clause;
    s.seg[k] = seg;
    s.paren[k] = parenNext && !Number.isNaN(num) ? 1 : 0;
  };
  let i = 0;
  while (i < len) {
    const c = t.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const next = i + 1 < len ? t.charCodeAt(i + 1) : 0;
    if (isDigit(c) || (c === 46 && isDigit(next))) {
      let j = i;
      while (j < len) {
        const d = t.charCodeAt(j);
        if (isDigit(d) || ((d === 44 || d === 46) && j + 1 < len && isDigit(t.charCodeAt(j + 1)))) j++;
        else break;
      }
      let value = parseFigure(t.slice(i, j));
      let k = j;
      while (k < len && t.charCodeAt(k) >= 97 && t.charCodeAt(k) <= 122) k++;
      const mag = MAGNITUDE.get(t.slice(j, k));
      let scaled = false;
      if (mag !== undefined) {
        value *= mag;
        scaled = true;
        j = k;
      }
      let p = j;
      while (p < len && t.charCodeAt(p) === 32) p++;
      const pct = p < len && t.charCodeAt(p) === 37;
      if (pct) j = p + 1;
      const prev = s.n > 0 ? s.words[s.n - 1] : undefined;
      const isYear = !scaled && !pct && Number.isInteger(value) && value >= 1900 && value <= 2100;
      const isDay = prev !== undefined && MONTHS.has(prev);
      push('', 0, isYear || isDay ? NaN : value);
      parenNext = false;
      i = j;
      continue;
    }
    if (CURRENCY_SIGNS.has(c)) {
      push('$', flagsOf.get('usd') ?? 0, NaN);
      i++;
      continue;
    }
    if (isLetter(c)) {
      let j = i + 1;
      while (j < len) {
        const d = t.charCodeAt(j);
        if (isLetter(d) || isDigit(d) || d === 39 || d === 0x2019) j++;
        else if (d === 45 && j + 1 < len && isLetter(t.charCodeAt(j + 1))) j++;
        else break;
      }
      const word = t.slice(i, j).replaceAll('\u2019', "'");
      i = j;
      if (CONTRAST.has(word)) {
        seg++;
        clause++;
        continue;
      }
      const last = s.n - 1;
      const mag = MAGNITUDE.get(word);
      if (mag !== undefined && last >= 0 && !Number.isNaN(s.num[last] as number) && s.words[last] === '') {
        s.num[last] = (s.num[last] as number) * mag;
        s.words[last] = ' '; // scaled once; a second magnitude word is a word
        continue;
      }
      if (MONTHS.has(word) && last >= 0 && s.words[last] === '') s.num[last] = NaN; // "12 May"
      const flags = flagsOf.get(word);
      if (flags === undefined && word.includes('-')) {
        // "stronger-than-expected": the parts, unless the whole is listed ("write-down").
        for (const part of word.split('-')) push(part, flagsOf.get(part) ?? 0, NaN);
      } else push(word, flags ?? 0, NaN);
      if (!((flags ?? 0) & CURRENCY_FLAG)) parenNext = false; // "(EUR 19.2 million)": a currency keeps "(" pending
      continue;
    }
    if (c === 44 || c === 0x2013 || c === 0x2014 || (c === 45 && isSpace(next))) clause++;
    else if (c === 40) {
      clause++;
      parenNext = true;
    } else if (c === 41) clause++;
    else if (c === 46 || c === 59 || c === 58 || c === 33 || c === 63) {
      seg++;
      clause++;
    }
    i++;
  }
  return s;
}
