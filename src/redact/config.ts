import { z } from 'zod';

const compiles = (flags: string) => (p: string) => {
  try {
    new RegExp(p, flags);
    return true;
  } catch {
    return false;
  }
};

/**
 * Default account-number pattern: digits after a word that says "account". Group 1
 * is what gets masked, so the label stays readable.
 */
export const DEFAULT_ACCOUNT_PATTERN = String.raw`\b(?:account|acct|a/c)(?:\s*(?:no\.?|number|#))?[\s:#.]*(\d[\d-]{4,22}\d)\b`;

export const customPatternSchema = z
  .strictObject({
    /** Placeholder label: `<NAME_1>`. Upper case, digits and underscores. Required. */
    name: z.string().regex(/^[A-Z][A-Z0-9_]*$/),
    /** JavaScript regular expression source; group 1, when present, is what gets masked. Required. */
    pattern: z.string().min(1),
    /** Regex flags besides 'g' (e.g. 'i'). Default ''. */
    flags: z
      .string()
      .regex(/^[imsuy]*$/)
      .default(''),
  })
  .refine((c) => compiles(c.flags)(c.pattern), { message: 'pattern does not compile', path: ['pattern'] });

export const redactConfigSchema = z.strictObject({
  /** Whether prompts are redacted at all. Default true. */
  enabled: z.boolean().default(true),
  /** 'remote' redacts only requests sent to remote providers; 'all' also local ones. Default 'remote'. */
  applyTo: z.enum(['remote', 'all']).default('remote'),
  /** Whether placeholders in the answer are mapped back to the originals. Default true. */
  restore: z.boolean().default(true),
  /** Built-in detectors to run. Default: all on. */
  detectors: z
    .strictObject({
      /** Default true. */
      email: z.boolean().default(true),
      /** Default true. */
      phone: z.boolean().default(true),
      /** IBANs with a valid mod-97 check. Default true. */
      iban: z.boolean().default(true),
      /** 13-19 digit card numbers with a valid Luhn check. Default true. */
      card: z.boolean().default(true),
      /** Account numbers by `accountPatterns`. Default true. */
      account: z.boolean().default(true),
      /**
       * Credentials (src/core/secrets.ts): `sk-…`/`sk-live-…` keys, AWS key ids
       * (`AKIA…`), bearer tokens, JWTs, private-key blocks, GitHub/Slack/Google/Colo
       * keys. Placeholder `<SECRET_n>`. Default true.
       */
      secret: z.boolean().default(true),
    })
    .default({ email: true, phone: true, iban: true, card: true, account: true, secret: true }),
  /** Account-number patterns (regex source, case-insensitive; group 1 is masked). Default [DEFAULT_ACCOUNT_PATTERN]. */
  accountPatterns: z
    .array(z.string().refine(compiles('gi'), 'pattern does not compile'))
    .default([DEFAULT_ACCOUNT_PATTERN]),
  /** Extra patterns, each with its own placeholder label. Default []. */
  custom: z.array(customPatternSchema).default([]),
});
export type RedactConfig = z.infer<typeof redactConfigSchema>;
