/**
 * `Retry-After` (RFC 9110 §10.2.3): either delay-seconds (a non-negative integer) or an
 * HTTP-date. Also reads the millisecond variant some vendors send
 * (`retry-after-ms`, OpenAI and Anthropic), which wins when present because it is finer.
 */

/** Milliseconds to wait, or undefined when the headers say nothing usable. */
export function parseRetryAfter(
  headers: Record<string, string | string[] | undefined>,
  nowEpochMs: number = Date.now(),
): number | undefined {
  const ms = first(headers['retry-after-ms']);
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const raw = first(headers['retry-after']);
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // An HTTP-date always names a weekday or month; without letters, Date.parse would
  // accept things like "-1" as a year. It reads IMF-fixdate and the obsolete forms.
  if (!/[A-Za-z]/.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowEpochMs);
}

/**
 * What the upstream says about retrying this request (`x-should-retry`, which the OpenAI
 * and Anthropic SDKs obey; Anthropic's API and Colo's own errors send it), or undefined
 * when it says nothing. It overrides the status's default: a 429 or a 504 that no wait
 * can fix says false.
 */
export function upstreamSaysRetry(
  headers: Record<string, string | string[] | undefined>,
): boolean | undefined {
  const v = first(headers['x-should-retry'])?.trim().toLowerCase();
  return v === 'true' ? true : v === 'false' ? false : undefined;
}

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
