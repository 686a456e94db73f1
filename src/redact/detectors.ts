/**
 * Detectors find sensitive spans in text. Each is a regex that proposes candidates
 * plus, where one exists, a check that confirms them (Luhn, mod-97, digit counts), so
 * that numbers common in financial text — prices, percentages, dates, share counts,
 * tickers — are left alone. False positives on real headlines are counted by
 * test/unit/redact.test.ts against the labelled headline set.
 */
import { SECRET_SHAPES, secretRegex } from '../core/secrets';
import { ibanValid, luhnValid } from './checks';
import type { RedactConfig } from './config';

export interface Span {
  start: number;
  end: number;
  /** Placeholder label, e.g. 'EMAIL'. */
  type: string;
}

export interface Detector {
  type: string;
  find(text: string): Span[];
}

/**
 * Runs a global regex. With `group1`, masks capture group 1 when it matched (operator
 * patterns: `account (\d+)` keeps the label readable); built-ins mask the whole match.
 */
function regexDetector(
  type: string,
  re: RegExp,
  accept: (value: string) => boolean = () => true,
  group1 = false,
): Detector {
  return {
    type,
    find(text) {
      const out: Span[] = [];
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        if (m[0].length === 0) {
          re.lastIndex++;
          continue;
        }
        const g = group1 ? m.indices?.[1] : undefined;
        const start = g ? g[0] : m.index;
        const value = g ? text.slice(g[0], g[1]) : m[0];
        if (value.length > 0 && accept(value)) out.push({ start, end: start + value.length, type });
      }
      return out;
    },
  };
}

const digitCount = (s: string): number => s.replace(/\D/g, '').length;

export const EMAIL_RE = /\b[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b/g;

/**
 * Phone numbers in shapes people write them, never bare digit runs:
 *  1. international: `+CC` then groups separated by space, dot or dash (8-15 digits);
 *  2. North American: `(212) 555-0123` or `212-555-0123` / `212.555.0123`;
 *  3. national trunk-prefixed: `020 7946 0958`, `030-1234-5678`.
 * Not preceded by `$`, a digit, a letter or a decimal point, and not followed by a
 * digit, letter, `%` or a decimal part, which keeps prices, percentages, dates
 * (2024-01-15, 01/02/2024), times and tickers out.
 */
export const PHONE_RE =
  /(?<![\w$€£¥.,/:+-])(?:\+\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,5}){2,6}|\(\d{3}\) ?\d{3}[ .-]\d{4}|\d{3}([.-])\d{3}\1\d{4}|0\d{1,4}([ -])\d{3,4}\2\d{3,4})(?![\w%]|[.,/:-]\d)/g;

const phoneOk = (v: string): boolean => {
  const n = digitCount(v);
  return v.startsWith('+') ? n >= 8 && n <= 15 : n >= 10 && n <= 12;
};

export const IBAN_RE = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b/g;

export const CARD_RE = /(?<![\d.,-])\d(?:[ -]?\d){12,18}(?![\d]|[.,]\d)/g;

const cardOk = (v: string): boolean => {
  const d = v.replace(/[ -]/g, '');
  return d.length >= 13 && d.length <= 19 && luhnValid(d);
};

/** The detectors a config asks for, in priority order (earlier wins on overlap of equal spans). */
export function buildDetectors(cfg: RedactConfig): Detector[] {
  const out: Detector[] = [];
  // Custom first: the operator's own patterns are the most specific.
  for (const c of cfg.custom)
    out.push(regexDetector(c.name, new RegExp(c.pattern, c.flags + 'gd'), undefined, true));
  // Credentials next: a key must never reach a provider, whatever else it resembles.
  if (cfg.detectors.secret)
    for (const s of SECRET_SHAPES) out.push(regexDetector('SECRET', secretRegex(s), undefined, true));
  if (cfg.detectors.email) out.push(regexDetector('EMAIL', new RegExp(EMAIL_RE)));
  if (cfg.detectors.iban) out.push(regexDetector('IBAN', new RegExp(IBAN_RE), ibanValid));
  if (cfg.detectors.card) out.push(regexDetector('CARD', new RegExp(CARD_RE), cardOk));
  if (cfg.detectors.account)
    for (const p of cfg.accountPatterns)
      out.push(regexDetector('ACCOUNT', new RegExp(p, 'gid'), undefined, true));
  if (cfg.detectors.phone) out.push(regexDetector('PHONE', new RegExp(PHONE_RE), phoneOk));
  return out;
}

/**
 * All spans, non-overlapping: earliest start wins, then the longest, then detector
 * order. Returned sorted by start.
 */
export function detect(text: string, detectors: readonly Detector[]): Span[] {
  const all: (Span & { rank: number })[] = [];
  detectors.forEach((d, rank) => {
    for (const s of d.find(text)) all.push({ ...s, rank });
  });
  if (all.length <= 1) return all;
  all.sort((a, b) => a.start - b.start || b.end - b.start - (a.end - a.start) || a.rank - b.rank);
  const out: Span[] = [];
  let end = -1;
  for (const s of all) {
    if (s.start >= end) {
      out.push(s);
      end = s.end;
    }
  }
  return out;
}
