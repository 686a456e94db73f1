/**
 * The admin API as framework-agnostic handlers: the server passes
 * `{method, path, headers, body}` and writes back `{status, body}`. Routes are listed in
 * README.md. Every route needs an admin key except `POST /admin/subscriptions`, which a
 * key may also call for itself (self-service subscribe; the admin then approves).
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ColoError, ERROR_INFO, toColoError } from '../core/errors';
import type { Authenticator } from './authenticator';
import { generateApiKey, keyIdOf } from './keys';
import type { Subscription, SubscriptionState, SubscriptionTarget, Tenant } from './types';

export interface AdminRequest {
  method: string;
  /** Path with optional query string, e.g. '/admin/keys?tenant=acme'. */
  path: string;
  /**
   * Query string without '?' (e.g. 'tenant=acme'), as HTTP servers hand it over
   * separately from the path; when given it is the query (any in `path` is ignored).
   * Default: the query in `path`, if any.
   */
  query?: string | undefined;
  /** Header names in any case. */
  headers: Record<string, string | undefined>;
  /** Parsed JSON, a JSON string, or undefined. */
  body?: unknown;
}

export interface AdminResponse {
  status: number;
  body: unknown;
}

const idRe = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const tenantCreate = z.strictObject({
  id: z.string().regex(idRe),
  name: z.string().optional(),
  models: z.array(z.string().min(1)).default([]),
  skills: z.array(z.string().min(1)).default([]),
  allowRemote: z.boolean().default(true),
});
const tenantPatch = z.strictObject({
  name: z.string().optional(),
  models: z.array(z.string().min(1)).optional(),
  skills: z.array(z.string().min(1)).optional(),
  allowRemote: z.boolean().optional(),
  disabled: z.boolean().optional(),
});
const keyCreate = z.strictObject({ tenant: z.string().min(1), name: z.string().default('') });
const subCreate = z
  .strictObject({
    keyId: z.string().optional(),
    model: z.string().min(1).optional(),
    skill: z.string().min(1).optional(),
  })
  .refine((b) => (b.model === undefined) !== (b.skill === undefined), {
    message: 'exactly one of model and skill',
  });
const decision = z.strictObject({ note: z.string().optional() });
const states = ['pending', 'approved', 'rejected', 'revoked'] as const;

const now = (): string => new Date().toISOString();

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = body.length === 0 ? {} : JSON.parse(body);
    } catch {
      throw new ColoError('INVALID_ARGUMENT', 'body: not valid JSON', { field: 'body' });
    }
  }
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue?.path.join('.') || 'body';
    throw new ColoError('INVALID_ARGUMENT', `${field}: ${issue?.message ?? 'invalid'}`, { field });
  }
  return r.data;
}

function header(h: Record<string, string | undefined>, name: string): string | undefined {
  for (const [k, v] of Object.entries(h)) if (k.toLowerCase() === name) return v;
  return undefined;
}

export type AdminHandler = (req: AdminRequest) => Promise<AdminResponse>;

export function createAdminHandler(auth: Authenticator): AdminHandler {
  const store = auth.store;

  const publicKey = (k: {
    keyId: string;
    tenant: string;
    name: string;
    createdAt: string;
    revokedAt?: string | undefined;
  }) => ({
    keyId: k.keyId,
    tenant: k.tenant,
    name: k.name,
    createdAt: k.createdAt,
    revokedAt: k.revokedAt,
  });

  async function subscribe(keyId: string, target: SubscriptionTarget): Promise<AdminResponse> {
    const key = await store.getKey(keyId);
    if (!key || key.revokedAt) throw new ColoError('NOT_FOUND', `no active key ${keyId}`);
    const tenant = await store.getTenant(key.tenant);
    const allowed = target.kind === 'model' ? tenant?.models : tenant?.skills;
    if (!allowed || (!allowed.includes('*') && !allowed.includes(target.name))) {
      throw new ColoError(
        'PERMISSION_DENIED',
        `tenant ${key.tenant} may not use ${target.kind} ${target.name}`,
      );
    }
    const existing = await store.findSubscription(keyId, target);
    if (existing && (existing.state === 'pending' || existing.state === 'approved'))
      return { status: 200, body: existing };
    const sub: Subscription = {
      id: existing?.id ?? `sub_${randomBytes(6).toString('hex')}`,
      keyId,
      tenant: key.tenant,
      target,
      state: 'pending',
      requestedAt: now(),
    };
    await store.putSubscription(sub);
    return { status: 201, body: sub };
  }

  async function decide(id: string, to: SubscriptionState, body: unknown): Promise<AdminResponse> {
    const { note } = parseBody(decision, body);
    const sub = await store.getSubscription(id);
    if (!sub) throw new ColoError('NOT_FOUND', `no subscription ${id}`);
    const legal: Record<string, SubscriptionState[]> = {
      approved: ['pending', 'rejected', 'revoked'],
      rejected: ['pending'],
      revoked: ['approved', 'pending'],
    };
    if (!legal[to]?.includes(sub.state)) {
      throw new ColoError('INVALID_ARGUMENT', `subscription ${id} is ${sub.state}; cannot become ${to}`, {
        field: 'state',
      });
    }
    const next: Subscription = { ...sub, state: to, decidedAt: now(), note };
    await store.putSubscription(next);
    return { status: 200, body: next };
  }

  async function route(req: AdminRequest, isAdmin: boolean): Promise<AdminResponse> {
    const url = new URL(req.path, 'http://admin.invalid');
    if (req.query !== undefined) url.search = req.query;
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const q = (n: string): string | undefined => url.searchParams.get(n) ?? undefined;
    const m = req.method.toUpperCase();
    if (parts[0] !== 'admin') throw new ColoError('NOT_FOUND', `no route ${m} ${url.pathname}`);
    const [, res, id, action] = parts;

    // The one route a non-admin key may call: subscribing itself.
    if (res === 'subscriptions' && id === undefined && m === 'POST') {
      const b = parseBody(subCreate, req.body);
      const target: SubscriptionTarget =
        b.model !== undefined ? { kind: 'model', name: b.model } : { kind: 'skill', name: b.skill! };
      if (isAdmin) {
        if (!b.keyId)
          throw new ColoError('INVALID_ARGUMENT', 'keyId: required for admin', { field: 'keyId' });
        return subscribe(b.keyId, target);
      }
      const p = await auth.authenticate(
        header(req.headers, 'authorization') ?? header(req.headers, 'x-api-key'),
      );
      if (b.keyId !== undefined && b.keyId !== p.keyId)
        throw new ColoError('PERMISSION_DENIED', 'a key may only subscribe itself');
      return subscribe(p.keyId, target);
    }
    if (!isAdmin) throw new ColoError('UNAUTHENTICATED', 'admin key required');

    if (res === 'tenants') {
      if (id === undefined && m === 'GET')
        return { status: 200, body: { tenants: await store.listTenants() } };
      if (id === undefined && m === 'POST') {
        const b = parseBody(tenantCreate, req.body);
        if (await store.getTenant(b.id))
          throw new ColoError('DUPLICATE_ID', `tenant ${b.id} exists`, { field: 'id' });
        const t: Tenant = {
          id: b.id,
          name: b.name ?? b.id,
          models: b.models,
          skills: b.skills,
          allowRemote: b.allowRemote,
          disabled: false,
          createdAt: now(),
        };
        await store.putTenant(t);
        return { status: 201, body: t };
      }
      if (id !== undefined && action === undefined) {
        const t = await store.getTenant(id);
        if (!t) throw new ColoError('NOT_FOUND', `no tenant ${id}`);
        if (m === 'GET') return { status: 200, body: t };
        if (m === 'PATCH') {
          const b = parseBody(tenantPatch, req.body);
          const next: Tenant = {
            ...t,
            ...Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)),
          };
          await store.putTenant(next);
          return { status: 200, body: next };
        }
      }
    }
    if (res === 'keys') {
      if (id === undefined && m === 'GET')
        return { status: 200, body: { keys: (await store.listKeys(q('tenant'))).map(publicKey) } };
      if (id === undefined && m === 'POST') {
        const b = parseBody(keyCreate, req.body);
        if (!(await store.getTenant(b.tenant))) throw new ColoError('NOT_FOUND', `no tenant ${b.tenant}`);
        let key = generateApiKey();
        // Key ids are 8 base62 chars: a clash is astronomically rare, but cheap to rule out.
        while (await store.getKey(keyIdOf(key))) key = generateApiKey();
        const rec = {
          keyId: keyIdOf(key),
          tenant: b.tenant,
          name: b.name,
          hash: auth.hashKey(key),
          createdAt: now(),
        };
        await store.putKey(rec);
        return { status: 201, body: { ...publicKey(rec), key } };
      }
      if (id !== undefined && action === undefined && m === 'DELETE') {
        const k = await store.getKey(id);
        if (!k) throw new ColoError('NOT_FOUND', `no key ${id}`);
        const next = { ...k, revokedAt: k.revokedAt ?? now() };
        await store.putKey(next);
        return { status: 200, body: publicKey(next) };
      }
    }
    if (res === 'subscriptions') {
      if (m === 'GET' && (id === undefined || id === 'pending')) {
        const st = id === 'pending' ? 'pending' : q('state');
        if (st !== undefined && !(states as readonly string[]).includes(st)) {
          throw new ColoError('INVALID_ARGUMENT', `state: one of ${states.join(', ')}`, { field: 'state' });
        }
        const subs = await store.listSubscriptions({
          state: st as SubscriptionState | undefined,
          tenant: q('tenant'),
          keyId: q('keyId'),
        });
        return { status: 200, body: { subscriptions: subs } };
      }
      if (id !== undefined && m === 'POST') {
        if (action === 'approve') return decide(id, 'approved', req.body);
        if (action === 'reject') return decide(id, 'rejected', req.body);
        if (action === 'revoke') return decide(id, 'revoked', req.body);
      }
    }
    throw new ColoError('NOT_FOUND', `no route ${m} ${url.pathname}`);
  }

  return async (req) => {
    try {
      const isAdmin = auth.isAdmin(header(req.headers, 'authorization') ?? header(req.headers, 'x-api-key'));
      return await route(req, isAdmin);
    } catch (err) {
      const e = toColoError(err);
      return {
        status: ERROR_INFO[e.code].status,
        body: { error: { code: e.code, message: e.message, type: ERROR_INFO[e.code].type, field: e.field } },
      };
    }
  };
}
