/**
 * The shapes of credentials, in one place: redaction masks them before a prompt
 * leaves the box (detector `secret`, placeholder `<SECRET_n>`), and the audit log
 * scrubs them from any text it keeps. Each pattern is anchored on a fixed prefix or
 * label and has bounded repetition, so matching stays linear in the text.
 */

export interface SecretShape {
  /** What it is, for docs and tests. */
  kind: string;
  /** Regex source. When it has a capture group, only group 1 is the secret. */
  source: string;
  /** Extra flags besides 'g'/'d'. */
  flags?: string;
}

/** Not preceded by a character that would make the match the tail of a longer token. */
const B = String.raw`(?<![A-Za-z0-9_-])`;
/** Not followed by one. */
const E = String.raw`(?![A-Za-z0-9_-])`;

export const SECRET_SHAPES: readonly SecretShape[] = [
  // OpenAI / Anthropic / generic `sk-…` keys, including sk-live-…, sk-proj-…, sk-ant-api03-….
  { kind: 'sk-key', source: String.raw`${B}sk-[A-Za-z0-9_-]{16,256}${E}` },
  // Stripe-style `sk_live_…`, `rk_test_…`.
  { kind: 'stripe-key', source: String.raw`${B}[sr]k_(?:live|test)_[A-Za-z0-9]{16,256}${E}` },
  // AWS access key ids (AKIA long-term, ASIA temporary, and the other IAM id prefixes).
  {
    kind: 'aws-access-key-id',
    source: String.raw`${B}(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}${E}`,
  },
  // AWS secret access keys, only where labelled (40 base64 chars alone are too common).
  {
    kind: 'aws-secret-access-key',
    source: String.raw`aws_?secret_?(?:access_?)?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])`,
    flags: 'i',
  },
  // Colo's own API keys.
  { kind: 'colo-key', source: String.raw`${B}colo_[0-9A-Za-z]{32}${E}` },
  // Google API keys.
  { kind: 'google-api-key', source: String.raw`${B}AIza[0-9A-Za-z_-]{30,64}${E}` },
  // GitHub tokens.
  { kind: 'github-token', source: String.raw`${B}gh[pousr]_[A-Za-z0-9]{36,255}${E}` },
  // Slack tokens.
  { kind: 'slack-token', source: String.raw`${B}xox[abprs]-[A-Za-z0-9-]{10,255}${E}` },
  // JWTs: base64url JSON header and payload (both start `{"` = `eyJ`), then a signature.
  {
    kind: 'jwt',
    source: String.raw`${B}eyJ[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,16384}\.[A-Za-z0-9_-]{0,4096}${E}`,
  },
  // Bearer tokens (the token only; the word stays readable).
  { kind: 'bearer', source: String.raw`\b[Bb]earer\s+([A-Za-z0-9._~+/=-]{16,4096})` },
  // PEM / OpenSSH / PGP private-key blocks; a block cut off before its END line is still masked.
  {
    kind: 'private-key',
    source: String.raw`-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----(?:(?!-----END)[\s\S]){0,16384}(?:-----END[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----)?`,
  },
];

/** A fresh global regex for one shape ('d' gives group indices). */
export const secretRegex = (s: SecretShape): RegExp => new RegExp(s.source, `g${s.flags ?? ''}d`);
