/**
 * The request-path checks: `authenticate` turns a header value into a Principal, and
 * `authorize` decides whether that principal may use a model or skill. Both are a few
 * map lookups and one HMAC (about a microsecond; see README.md), cheap enough to run on
 * every request and every WebSocket upgrade.
 */
import { timingSafeEqual } from 'node:crypto';
import { ColoError } from '../core/errors';
import type { AuthConfig } from './config';
import { extractKey, hashApiKey, isApiKeyShape, keyIdOf, verifyApiKey } from './keys';
import type { AuthStore, Principal, SubscriptionTarget, Tenant } from './types';

/** What a request wants to use. Either or both may be set (a skill runs on a model). */
export interface AuthTarget {
  /** The model name or alias exactly as the request named it. */
  model?: string | undefined;
  skill?: string | undefined;
}

const DUMMY_HASH = '0'.repeat(64);

export class Authenticator {
  private readonly adminHashes: Buffer[];

  constructor(
    readonly store: AuthStore,
    private readonly cfg: AuthConfig,
  ) {
    this.adminHashes = cfg.adminKeyHashes.map((h) => Buffer.from(h, 'hex'));
  }

  get enabled(): boolean {
    return this.cfg.enabled;
  }

  /**
   * Establishes who is calling from an `Authorization` (`Bearer colo_...`) or
   * `x-api-key` header value. With auth disabled everyone is the default tenant.
   * Throws UNAUTHENTICATED; the message never echoes the key.
   */
  async authenticate(headerValue: string | undefined | null): Promise<Principal> {
    if (!this.cfg.enabled) {
      return {
        tenant: this.cfg.defaultTenant,
        keyId: 'anonymous',
        keyName: 'anonymous',
        allowRemote: true,
        anonymous: true,
      };
    }
    const key = extractKey(headerValue);
    if (key === undefined) throw new ColoError('UNAUTHENTICATED', 'missing API key');
    if (!isApiKeyShape(key)) throw new ColoError('UNAUTHENTICATED', 'malformed API key');
    const rec = await this.store.getKey(keyIdOf(key));
    // Hash even for an unknown id so a miss costs the same as a wrong secret.
    const ok = verifyApiKey(key, this.cfg.pepper, rec?.hash ?? DUMMY_HASH);
    if (!rec || !ok) throw new ColoError('UNAUTHENTICATED', 'invalid API key');
    if (rec.revokedAt !== undefined)
      throw new ColoError('UNAUTHENTICATED', `API key ${rec.keyId} is revoked`);
    const tenant = await this.store.getTenant(rec.tenant);
    if (!tenant || tenant.disabled)
      throw new ColoError('UNAUTHENTICATED', `tenant of key ${rec.keyId} is disabled`);
    return {
      tenant: tenant.id,
      keyId: rec.keyId,
      keyName: rec.name,
      allowRemote: tenant.allowRemote,
      anonymous: false,
    };
  }

  /**
   * Checks the tenant's allow-list, then the key's subscription, for each target.
   * Throws PERMISSION_DENIED (not allowed, or subscription rejected/revoked),
   * SUBSCRIPTION_REQUIRED (never subscribed) or SUBSCRIPTION_PENDING (awaiting approval).
   */
  async authorize(p: Principal, target: AuthTarget): Promise<void> {
    if (p.anonymous || !this.cfg.enabled) return;
    const tenant = await this.store.getTenant(p.tenant);
    if (!tenant) throw new ColoError('UNAUTHENTICATED', `unknown tenant ${p.tenant}`);
    if (target.model !== undefined) await this.check(p, tenant, { kind: 'model', name: target.model });
    if (target.skill !== undefined) await this.check(p, tenant, { kind: 'skill', name: target.skill });
  }

  private async check(p: Principal, tenant: Tenant, t: SubscriptionTarget): Promise<void> {
    const allowed = t.kind === 'model' ? tenant.models : tenant.skills;
    if (!allowed.includes('*') && !allowed.includes(t.name)) {
      throw new ColoError('PERMISSION_DENIED', `tenant ${tenant.id} may not use ${t.kind} ${t.name}`);
    }
    if (!this.cfg.requireSubscription) return;
    const sub = await this.store.findSubscription(p.keyId, t);
    if (!sub)
      throw new ColoError(
        'SUBSCRIPTION_REQUIRED',
        `key ${p.keyId} has no subscription to ${t.kind} ${t.name}`,
      );
    switch (sub.state) {
      case 'approved':
        return;
      case 'pending':
        throw new ColoError(
          'SUBSCRIPTION_PENDING',
          `subscription ${sub.id} to ${t.kind} ${t.name} awaits approval`,
        );
      case 'rejected':
      case 'revoked':
        throw new ColoError(
          'PERMISSION_DENIED',
          `subscription ${sub.id} to ${t.kind} ${t.name} was ${sub.state}`,
        );
    }
  }

  /** The stored form of a key under this server's pepper. */
  hashKey(key: string): string {
    return hashApiKey(key, this.cfg.pepper);
  }

  /** Whether the header carries one of the configured admin keys (constant-time per hash). */
  isAdmin(headerValue: string | undefined | null): boolean {
    const key = extractKey(headerValue);
    if (key === undefined || this.adminHashes.length === 0) return false;
    const h = Buffer.from(hashApiKey(key, this.cfg.pepper), 'hex');
    let ok = false;
    // No early exit: every configured hash is compared.
    for (const a of this.adminHashes) ok = verifyHashBuf(a, h) || ok;
    return ok;
  }
}

function verifyHashBuf(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
