/**
 * Headline tokenizer for the hashed featurizer: one pass over the lowercased text with
 * no regular expressions (this runs once per headline on the signal path).
 *
 * Rules, in order of precedence at each position:
 *   1. URLs (`http://`, `https://`, `www.`) are dropped up to the next whitespace.
 *   2. `$` + letter is a cashtag kept whole (`$aapl`), since tickers carry signal.
 *   3. Numbers become class tokens: `<pct+>`, `<pct->`, `<pct>` for percentages (the sign
 *      is what matters: "+5%" vs "-5%"), `<money>` for `$` amounts, `<num+>`/`<num->`/`<num>` otherwise.
 *      A magnitude suffix (k, m, b, bn, mln) is absorbed.
 *   4. Words are runs of letters, digits, apostrophes and non-ASCII letters; `#` and
 *      other punctuation separate tokens.
 */

const enum C {
  Dollar = 36,
  Percent = 37,
  Plus = 43,
  Minus = 45,
  Dot = 46,
  Comma = 44,
  Apos = 39,
  RApos = 0x2019,
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isLower = (c: number): boolean => c >= 97 && c <= 122;
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13) || c === 0xa0;
/** Word characters: ASCII letters and digits, apostrophes, and anything non-ASCII but not a space. */
const isWordChar = (c: number): boolean =>
  isLower(c) ||
  isDigit(c) ||
  c === C.Apos ||
  c === C.RApos ||
  (c > 127 && !isSpace(c) && c !== 0x2014 && c !== 0x2013);

function startsWithAt(s: string, i: number, prefix: string): boolean {
  return s.startsWith(prefix, i);
}

/** Appends the tokens of `text` to `out` (cleared first) and returns it. */
export function tokenize(text: string, out: string[] = []): string[] {
  out.length = 0;
  const s = text.toLowerCase();
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 104 /* h */ && (startsWithAt(s, i, 'http://') || startsWithAt(s, i, 'https://'))) {
      while (i < n && !isSpace(s.charCodeAt(i))) i++;
      continue;
    }
    if (c === 119 /* w */ && startsWithAt(s, i, 'www.')) {
      while (i < n && !isSpace(s.charCodeAt(i))) i++;
      continue;
    }
    const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
    if (c === C.Dollar && isLower(next)) {
      let j = i + 1;
      while (j < n) {
        const d = s.charCodeAt(j);
        if (
          isLower(d) ||
          isDigit(d) ||
          ((d === C.Dot || d === 95) && j + 1 < n && isLower(s.charCodeAt(j + 1)))
        )
          j++;
        else break;
      }
      out.push(s.slice(i, j));
      i = j;
      continue;
    }
    const signed =
      (c === C.Plus || c === C.Minus) &&
      (isDigit(next) || (next === C.Dot && i + 2 < n && isDigit(s.charCodeAt(i + 2))));
    const money = c === C.Dollar && (isDigit(next) || next === C.Dot);
    if (isDigit(c) || signed || money || (c === C.Dot && isDigit(next))) {
      let j = signed || money ? i + 1 : i;
      while (j < n) {
        const d = s.charCodeAt(j);
        if (isDigit(d) || ((d === C.Dot || d === C.Comma) && j + 1 < n && isDigit(s.charCodeAt(j + 1)))) j++;
        else break;
      }
      if (j < n && s.charCodeAt(j) === C.Percent) {
        out.push(c === C.Plus ? '<pct+>' : c === C.Minus ? '<pct->' : '<pct>');
        i = j + 1;
        continue;
      }
      // Absorb a magnitude suffix ("5m", "1.2bn", "300mln") but not a following word.
      let k = j;
      while (k < n && isLower(s.charCodeAt(k))) k++;
      const suffix = s.slice(j, k);
      if (
        suffix === 'k' ||
        suffix === 'm' ||
        suffix === 'b' ||
        suffix === 'bn' ||
        suffix === 'mln' ||
        suffix === 'mn'
      )
        j = k;
      if (money) out.push('<money>');
      else out.push(c === C.Plus ? '<num+>' : c === C.Minus ? '<num->' : '<num>');
      i = j;
      continue;
    }
    if (isWordChar(c) && c !== C.Apos && c !== C.RApos) {
      let j = i + 1;
      while (j < n && isWordChar(s.charCodeAt(j))) j++;
      // Trailing apostrophes are quotes, not part of the word.
      let end = j;
      while (end > i && (s.charCodeAt(end - 1) === C.Apos || s.charCodeAt(end - 1) === C.RApos)) end--;
      out.push(s.slice(i, end));
      i = j;
      continue;
    }
    i++;
  }
  return out;
}

const SUFFIXES = ['ing', 'ied', 'ies', 'ed', 'es', 'ly', 's'] as const;

/**
 * A deliberately light stemmer: strips one common English suffix when at least three
 * characters remain. Class tokens (`<num>`), cashtags and words ending in "ss" are kept.
 */
export function stem(tok: string): string {
  const first = tok.charCodeAt(0);
  if (first === 60 /* < */ || first === C.Dollar || tok.length < 5) return tok;
  for (const suf of SUFFIXES) {
    if (tok.endsWith(suf) && tok.length - suf.length >= 3) {
      if (suf === 's' && (tok.endsWith('ss') || tok.endsWith('us') || tok.endsWith('is'))) return tok;
      if (suf === 'ied' || suf === 'ies') return `${tok.slice(0, -3)}y`;
      return tok.slice(0, -suf.length);
    }
  }
  return tok;
}
