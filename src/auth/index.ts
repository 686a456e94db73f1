/** Auth: API keys, tenants, subscriptions and the admin API. See README.md. */
import type { Redis } from 'ioredis';
import { createAdminHandler, type AdminHandler } from './admin';
import { Authenticator } from './authenticator';
import type { AuthConfig } from './config';
import { FileAuthStore } from './file-store';
import { RedisAuthStore } from './redis-store';
import type { AuthStore } from './types';

export { authConfigSchema, type AuthConfig } from './config';
export { Authenticator, type AuthTarget } from './authenticator';
export { createAdminHandler, type AdminHandler, type AdminRequest, type AdminResponse } from './admin';
export { FileAuthStore, MemoryAuthStore } from './file-store';
export { RedisAuthStore, type RedisAuthStoreOptions } from './redis-store';
export { extractKey, generateApiKey, hashApiKey, isApiKeyShape, keyIdOf, verifyApiKey } from './keys';
export type * from './types';

export interface AuthService {
  auth: Authenticator;
  admin: AdminHandler;
  store: AuthStore;
  close(): Promise<void>;
}

/**
 * Builds auth from its config: the Redis store when a client is given (the lead
 * creates one from the top-level `redis.url`), else the JSON file store.
 */
export async function createAuth(
  cfg: AuthConfig,
  opts: { redis?: Redis | undefined } = {},
): Promise<AuthService> {
  const store: AuthStore = opts.redis
    ? new RedisAuthStore(opts.redis, { prefix: cfg.redisPrefix, cacheTtlMs: cfg.redisCacheTtlMs })
    : await FileAuthStore.open(cfg.storePath);
  const auth = new Authenticator(store, cfg);
  return { auth, admin: createAdminHandler(auth), store, close: () => store.close() };
}
