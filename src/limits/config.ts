import { z } from 'zod';

/** One scope's quota. 0 means unlimited for every field. */
export const quotaSchema = z.strictObject({
  /** Requests per minute (token bucket: bursts up to this many, refills evenly). Default 0 (unlimited). */
  requestsPerMinute: z.number().min(0).default(0),
  /** LLM tokens per minute, reserved from max_tokens up front and settled after. Default 0 (unlimited). */
  tokensPerMinute: z.number().min(0).default(0),
  /** Requests in flight at once. Default 0 (unlimited). */
  concurrent: z.number().int().min(0).default(0),
  /** Cost budget per period in USD (counted in micro-dollars from `pricing`). Default 0 (unlimited). */
  costBudget: z.number().min(0).default(0),
  /** Length of a budget period in ms, aligned to the Unix epoch (UTC). Default 86400000 (a UTC day). */
  budgetPeriodMs: z.number().int().min(1000).default(86_400_000),
});
export type Quota = z.infer<typeof quotaSchema>;

/** Per-tenant or per-key override: only the fields given replace the defaults. */
export const quotaOverrideSchema = z.strictObject({
  requestsPerMinute: z.number().min(0).optional(),
  tokensPerMinute: z.number().min(0).optional(),
  concurrent: z.number().int().min(0).optional(),
  costBudget: z.number().min(0).optional(),
  budgetPeriodMs: z.number().int().min(1000).optional(),
});
export type QuotaOverride = z.infer<typeof quotaOverrideSchema>;

export const limitsConfigSchema = z.strictObject({
  /** Whether quotas are enforced at all. Default true (with every quota 0 this costs nothing). */
  enabled: z.boolean().default(true),
  /** Quota applied to every API key. Default: unlimited. */
  key: quotaSchema.default(quotaSchema.parse({})),
  /** Quota applied to every tenant (all its keys together). Default: unlimited. */
  tenant: quotaSchema.default(quotaSchema.parse({})),
  /** Overrides by tenant id. Default {}. */
  tenants: z.record(z.string(), quotaOverrideSchema).default({}),
  /** Overrides by key id (`colo_xxxxxxxx`). Default {}. */
  keys: z.record(z.string(), quotaOverrideSchema).default({}),
  /**
   * Redis backend: a concurrency slot not settled within this time is freed, so a box
   * that dies mid-request cannot leak slots forever. Default 600000 ms.
   */
  concurrencyLeaseMs: z.number().int().min(1000).default(600_000),
  /** Redis key prefix. Default 'colo:q:'. */
  redisPrefix: z.string().default('colo:q:'),
});
export type LimitsConfig = z.infer<typeof limitsConfigSchema>;
