/**
 * The auth data model: tenants own keys; keys subscribe to models (aliases) and
 * skills; an admin approves each subscription before calls succeed.
 */

/** A tenant: the unit that owns keys and whose allowed models/skills bound its keys. */
export interface Tenant {
  id: string;
  name: string;
  /** Model names/aliases the tenant may use; '*' allows every model. */
  models: string[];
  /** Skill names the tenant may use; '*' allows every skill. */
  skills: string[];
  /** Whether requests may go to remote providers (the router reads this). */
  allowRemote: boolean;
  /** Whether every key of the tenant is disabled. */
  disabled: boolean;
  createdAt: string;
}

/** A stored key. The plaintext is never stored; `hash` is HMAC-SHA-256 under the pepper. */
export interface ApiKeyRecord {
  /** Public short id: the key's first 13 characters (`colo_` + 8). */
  keyId: string;
  tenant: string;
  /** Human label, e.g. 'prod-engine-1'. */
  name: string;
  hash: string;
  createdAt: string;
  /** Set when revoked; a revoked key never authenticates again. */
  revokedAt?: string | undefined;
}

export type SubscriptionTargetKind = 'model' | 'skill';
export type SubscriptionState = 'pending' | 'approved' | 'rejected' | 'revoked';

export interface SubscriptionTarget {
  kind: SubscriptionTargetKind;
  name: string;
}

export interface Subscription {
  /** `sub_` + random; stable for one (keyId, target) pair. */
  id: string;
  keyId: string;
  tenant: string;
  target: SubscriptionTarget;
  state: SubscriptionState;
  requestedAt: string;
  decidedAt?: string | undefined;
  /** Free text from the admin, e.g. why rejected. */
  note?: string | undefined;
}

/** Who is calling, as established by `authenticate`. Attached to the request. */
/** The authenticated caller; defined in src/core/routes.ts so the server can carry it. */
export type { Principal } from '../core/routes';

export interface SubscriptionFilter {
  state?: SubscriptionState | undefined;
  tenant?: string | undefined;
  keyId?: string | undefined;
}

/**
 * Where auth data lives. The embedded default is a JSON file; the Redis one is shared
 * by several boxes. Lookups on the request path are `getKey`, `getTenant` and
 * `findSubscription`; everything else is admin traffic.
 */
export interface AuthStore {
  getTenant(id: string): Promise<Tenant | undefined>;
  putTenant(tenant: Tenant): Promise<void>;
  listTenants(): Promise<Tenant[]>;

  getKey(keyId: string): Promise<ApiKeyRecord | undefined>;
  putKey(key: ApiKeyRecord): Promise<void>;
  listKeys(tenant?: string): Promise<ApiKeyRecord[]>;

  getSubscription(id: string): Promise<Subscription | undefined>;
  findSubscription(keyId: string, target: SubscriptionTarget): Promise<Subscription | undefined>;
  putSubscription(sub: Subscription): Promise<void>;
  listSubscriptions(filter?: SubscriptionFilter): Promise<Subscription[]>;

  close(): Promise<void>;
}

export const subscriptionKey = (keyId: string, t: SubscriptionTarget): string =>
  `${keyId}|${t.kind}|${t.name}`;

export function matchesFilter(s: Subscription, f: SubscriptionFilter | undefined): boolean {
  if (!f) return true;
  return (
    (f.state === undefined || s.state === f.state) &&
    (f.tenant === undefined || s.tenant === f.tenant) &&
    (f.keyId === undefined || s.keyId === f.keyId)
  );
}
