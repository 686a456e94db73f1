import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  authConfigSchema,
  Authenticator,
  createAdminHandler,
  extractKey,
  FileAuthStore,
  generateApiKey,
  hashApiKey,
  isApiKeyShape,
  keyIdOf,
  MemoryAuthStore,
  verifyApiKey,
  type AdminHandler,
  type AuthStore,
} from '../../src/auth';
import { ColoError } from '../../src/core/errors';

const PEPPER = 'test-pepper-0123456789';
const ADMIN_KEY = generateApiKey();
const admin = { authorization: `Bearer ${ADMIN_KEY}` };

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    if (err instanceof ColoError) return err.code;
    throw err;
  }
}

describe('keys', () => {
  it('generates distinct well-shaped keys with a short id prefix', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a).not.toBe(b);
    expect(isApiKeyShape(a)).toBe(true);
    expect(keyIdOf(a)).toBe(a.slice(0, 13));
    expect(keyIdOf(a).startsWith('colo_')).toBe(true);
  });

  it('verifies only the exact key under the same pepper', () => {
    const k = generateApiKey();
    const h = hashApiKey(k, PEPPER);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(verifyApiKey(k, PEPPER, h)).toBe(true);
    expect(verifyApiKey(k, 'other-pepper-0123456', h)).toBe(false);
    const flipped = k.slice(0, -1) + (k.endsWith('a') ? 'b' : 'a');
    expect(verifyApiKey(flipped, PEPPER, h)).toBe(false);
    expect(verifyApiKey(k, PEPPER, 'abcd')).toBe(false);
  });

  it('extracts keys from Bearer and bare header values', () => {
    expect(extractKey('Bearer colo_x')).toBe('colo_x');
    expect(extractKey('bearer   colo_x ')).toBe('colo_x');
    expect(extractKey('colo_x')).toBe('colo_x');
    expect(extractKey('')).toBeUndefined();
    expect(extractKey(undefined)).toBeUndefined();
  });

  it('config demands a pepper when auth is enabled', () => {
    expect(() => authConfigSchema.parse({ enabled: true })).toThrow(/pepper/);
    expect(authConfigSchema.parse({}).enabled).toBe(false);
    expect(() => authConfigSchema.parse({ enabeld: true })).toThrow();
  });
});

describe('authenticate / authorize / admin API', () => {
  let store: AuthStore;
  let auth: Authenticator;
  let handle: AdminHandler;

  beforeEach(() => {
    store = new MemoryAuthStore();
    const cfg = authConfigSchema.parse({
      enabled: true,
      pepper: PEPPER,
      adminKeyHashes: [hashApiKey(ADMIN_KEY, PEPPER)],
    });
    auth = new Authenticator(store, cfg);
    handle = createAdminHandler(auth);
  });

  async function newKey(tenant = 'acme'): Promise<{ key: string; keyId: string }> {
    const r = await handle({
      method: 'POST',
      path: '/admin/keys',
      headers: admin,
      body: { tenant, name: 'engine-1' },
    });
    expect(r.status).toBe(201);
    return r.body as { key: string; keyId: string };
  }

  beforeEach(async () => {
    const r = await handle({
      method: 'POST',
      path: '/admin/tenants',
      headers: admin,
      body: { id: 'acme', models: ['fast', 'stories260K'], skills: ['sentiment'] },
    });
    expect(r.status).toBe(201);
  });

  it('rejects missing, malformed, unknown and revoked keys with UNAUTHENTICATED', async () => {
    const { key, keyId } = await newKey();
    expect(await codeOf(auth.authenticate(undefined))).toBe('UNAUTHENTICATED');
    expect(await codeOf(auth.authenticate('Bearer nope'))).toBe('UNAUTHENTICATED');
    expect(await codeOf(auth.authenticate(`Bearer ${generateApiKey()}`))).toBe('UNAUTHENTICATED');
    // Same id prefix, different secret.
    const forged = key.slice(0, 13) + generateApiKey().slice(13);
    expect(await codeOf(auth.authenticate(`Bearer ${forged}`))).toBe('UNAUTHENTICATED');
    const p = await auth.authenticate(`Bearer ${key}`);
    expect(p).toMatchObject({ tenant: 'acme', keyId, keyName: 'engine-1', anonymous: false });
    const del = await handle({ method: 'DELETE', path: `/admin/keys/${keyId}`, headers: admin });
    expect(del.status).toBe(200);
    expect(await codeOf(auth.authenticate(`Bearer ${key}`))).toBe('UNAUTHENTICATED');
  });

  it('stores only the hash; the plaintext is returned once and never listed', async () => {
    const { key, keyId } = await newKey();
    const rec = await store.getKey(keyId);
    expect(rec?.hash).toBe(hashApiKey(key, PEPPER));
    expect(JSON.stringify(rec)).not.toContain(key);
    const list = await handle({ method: 'GET', path: '/admin/keys?tenant=acme', headers: admin });
    expect(JSON.stringify(list.body)).not.toContain(key);
    expect(JSON.stringify(list.body)).not.toContain(rec!.hash);
  });

  it('walks the subscription lifecycle: required → pending → approved → revoked', async () => {
    const { key, keyId } = await newKey();
    const p = await auth.authenticate(key);
    expect(await codeOf(auth.authorize(p, { model: 'fast' }))).toBe('SUBSCRIPTION_REQUIRED');
    expect(await codeOf(auth.authorize(p, { model: 'gpt-4o' }))).toBe('PERMISSION_DENIED');

    // Self-service subscribe with the key itself.
    const sub = await handle({
      method: 'POST',
      path: '/admin/subscriptions',
      headers: { 'x-api-key': key },
      body: { model: 'fast' },
    });
    expect(sub.status).toBe(201);
    const subId = (sub.body as { id: string; state: string }).id;
    expect((sub.body as { state: string }).state).toBe('pending');
    expect(await codeOf(auth.authorize(p, { model: 'fast' }))).toBe('SUBSCRIPTION_PENDING');

    const pending = await handle({ method: 'GET', path: '/admin/subscriptions/pending', headers: admin });
    expect((pending.body as { subscriptions: { id: string }[] }).subscriptions.map((s) => s.id)).toEqual([
      subId,
    ]);

    // A key cannot approve itself.
    const selfApprove = await handle({
      method: 'POST',
      path: `/admin/subscriptions/${subId}/approve`,
      headers: { 'x-api-key': key },
    });
    expect(selfApprove.status).toBe(401);

    const ok = await handle({
      method: 'POST',
      path: `/admin/subscriptions/${subId}/approve`,
      headers: admin,
      body: {},
    });
    expect(ok.status).toBe(200);
    expect(await codeOf(auth.authorize(p, { model: 'fast' }))).toBe('OK');
    // Approval is per target: the skill still needs its own.
    expect(await codeOf(auth.authorize(p, { model: 'fast', skill: 'sentiment' }))).toBe(
      'SUBSCRIPTION_REQUIRED',
    );

    await handle({
      method: 'POST',
      path: `/admin/subscriptions/${subId}/revoke`,
      headers: admin,
      body: { note: 'offboarded' },
    });
    expect(await codeOf(auth.authorize(p, { model: 'fast' }))).toBe('PERMISSION_DENIED');
    expect(keyId).toBe(p.keyId);
  });

  it('rejected subscriptions deny; re-subscribing returns them to pending', async () => {
    const { key, keyId } = await newKey();
    const p = await auth.authenticate(key);
    const sub = await handle({
      method: 'POST',
      path: '/admin/subscriptions',
      headers: admin,
      body: { keyId, skill: 'sentiment' },
    });
    const id = (sub.body as { id: string }).id;
    expect(
      (await handle({ method: 'POST', path: `/admin/subscriptions/${id}/reject`, headers: admin })).status,
    ).toBe(200);
    expect(await codeOf(auth.authorize(p, { skill: 'sentiment' }))).toBe('PERMISSION_DENIED');
    // Rejecting twice is an illegal transition.
    expect(
      (await handle({ method: 'POST', path: `/admin/subscriptions/${id}/reject`, headers: admin })).status,
    ).toBe(400);
    const again = await handle({
      method: 'POST',
      path: '/admin/subscriptions',
      headers: { authorization: `Bearer ${key}` },
      body: { skill: 'sentiment' },
    });
    expect(again.body).toMatchObject({ id, state: 'pending' });
    expect(await codeOf(auth.authorize(p, { skill: 'sentiment' }))).toBe('SUBSCRIPTION_PENDING');
  });

  it('guards the admin API and validates bodies', async () => {
    const noKey = await handle({ method: 'GET', path: '/admin/tenants', headers: {} });
    expect(noKey.status).toBe(401);
    expect((noKey.body as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
    const { key } = await newKey();
    expect(
      (await handle({ method: 'GET', path: '/admin/tenants', headers: { authorization: `Bearer ${key}` } }))
        .status,
    ).toBe(401);
    const bad = await handle({
      method: 'POST',
      path: '/admin/tenants',
      headers: admin,
      body: { id: 'x', modles: [] },
    });
    expect(bad.status).toBe(400);
    const dup = await handle({
      method: 'POST',
      path: '/admin/tenants',
      headers: admin,
      body: '{"id":"acme"}',
    });
    expect(dup.status).toBe(409);
    expect((await handle({ method: 'GET', path: '/admin/nope', headers: admin })).status).toBe(404);
    // Subscribing to something the tenant may not use is refused up front.
    const denied = await handle({
      method: 'POST',
      path: '/admin/subscriptions',
      headers: { 'x-api-key': key },
      body: { model: 'gpt-4o' },
    });
    expect(denied.status).toBe(403);
  });

  it('a disabled tenant locks out its keys; PATCH updates the allow-list', async () => {
    const { key } = await newKey();
    await handle({ method: 'PATCH', path: '/admin/tenants/acme', headers: admin, body: { disabled: true } });
    expect(await codeOf(auth.authenticate(key))).toBe('UNAUTHENTICATED');
    const r = await handle({
      method: 'PATCH',
      path: '/admin/tenants/acme',
      headers: admin,
      body: { disabled: false, models: ['*'] },
    });
    expect(r.body).toMatchObject({ models: ['*'], disabled: false });
    const p = await auth.authenticate(key);
    expect(await codeOf(auth.authorize(p, { model: 'anything' }))).toBe('SUBSCRIPTION_REQUIRED');
  });

  it('with auth disabled, everyone is the default tenant and allowed', async () => {
    const off = new Authenticator(store, authConfigSchema.parse({}));
    const p = await off.authenticate(undefined);
    expect(p).toMatchObject({ tenant: 'default', anonymous: true });
    await expect(off.authorize(p, { model: 'x', skill: 'y' })).resolves.toBeUndefined();
  });
});

describe('FileAuthStore', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'colo-auth-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('persists atomically and reloads tenants, keys and subscriptions', async () => {
    const path = join(dir, 'sub', 'auth.json');
    const s1 = await FileAuthStore.open(path);
    const t = {
      id: 'acme',
      name: 'Acme',
      models: ['m'],
      skills: [],
      allowRemote: false,
      disabled: false,
      createdAt: 'now',
    };
    // Concurrent writes coalesce and every one is on disk when its promise resolves.
    await Promise.all([
      s1.putTenant(t),
      s1.putKey({
        keyId: 'colo_abcdefgh',
        tenant: 'acme',
        name: 'k',
        hash: 'f'.repeat(64),
        createdAt: 'now',
      }),
      s1.putSubscription({
        id: 'sub_1',
        keyId: 'colo_abcdefgh',
        tenant: 'acme',
        target: { kind: 'model', name: 'm' },
        state: 'approved',
        requestedAt: 'now',
      }),
    ]);
    await s1.close();
    const onDisk = JSON.parse(readFileSync(path, 'utf8')) as { tenants: unknown[]; keys: unknown[] };
    expect(onDisk.tenants).toHaveLength(1);
    const s2 = await FileAuthStore.open(path);
    expect(await s2.getTenant('acme')).toEqual(t);
    expect((await s2.findSubscription('colo_abcdefgh', { kind: 'model', name: 'm' }))?.state).toBe(
      'approved',
    );
    expect(await s2.listKeys('acme')).toHaveLength(1);
    await s2.close();
  });

  it('refuses a corrupt store file instead of starting empty', async () => {
    const path = join(dir, 'auth.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, '{"version":1,"tenants":[');
    await expect(FileAuthStore.open(path)).rejects.toMatchObject({ code: 'INTERNAL' });
  });
});
