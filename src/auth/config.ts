import { z } from 'zod';

/** Hex SHA-256 digest (64 lowercase hex chars), as printed by `hashApiKey`. */
const hexHash = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'expected a 64-char lowercase hex HMAC-SHA-256 (see hashApiKey)');

export const authConfigSchema = z
  .strictObject({
    /**
     * Whether requests must carry an API key. Default false: everyone is the
     * `defaultTenant` with every model and skill (fine on 127.0.0.1 only).
     */
    enabled: z.boolean().default(false),
    /**
     * Server-side secret mixed into every key hash (HMAC key). Keep it out of the store
     * (env `COLO_AUTH_PEPPER` via the config loader). Required (>= 16 chars) when enabled.
     * Default '' (only valid while auth is disabled).
     */
    pepper: z.string().default(''),
    /** HMAC-SHA-256 hashes (hex) of admin keys allowed on /admin/*. Default [] (admin API closed). */
    adminKeyHashes: z.array(hexHash).default([]),
    /** JSON file of the embedded store (tenants, key hashes, subscriptions). Default 'data/auth.json'. */
    storePath: z.string().default('data/auth.json'),
    /**
     * Whether a key needs an approved subscription per model/skill on top of its tenant's
     * allow-list. Default true.
     */
    requireSubscription: z.boolean().default(true),
    /** Tenant id used when auth is disabled. Default 'default'. */
    defaultTenant: z.string().min(1).default('default'),
    /**
     * With the Redis store: how long a box may serve a cached key/tenant/subscription
     * record before re-reading it, i.e. how long a revocation may take to reach every
     * box. Default 1000 ms; 0 reads Redis on every request.
     */
    redisCacheTtlMs: z.number().int().min(0).default(1000),
    /** Redis key prefix for the shared store. Default 'colo:auth:'. */
    redisPrefix: z.string().default('colo:auth:'),
  })
  .superRefine((c, ctx) => {
    if (c.enabled && c.pepper.length < 16) {
      ctx.addIssue({
        code: 'custom',
        path: ['pepper'],
        message: 'auth.pepper must be at least 16 characters when auth is enabled',
      });
    }
  });

export type AuthConfig = z.infer<typeof authConfigSchema>;
