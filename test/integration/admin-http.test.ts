/**
 * Issue 10 item 18: the admin API's query filters work over HTTP (the route handed the
 * handler the path without its query string, so `?tenant=` was ignored and every key
 * came back). A real Colo on port 0 with auth on; no model needed.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startColo, type Colo } from '../../src/app/colo';
import { hashApiKey } from '../../src/auth';
import { parseConfig } from '../../src/config';
import { quietLog } from '../helpers/engine';

const PEPPER = 'admin-http-pepper-0123456789';
const ADMIN = 'colo_admin_http_test_key_0123456789ab';
let colo: Colo;
let base: string;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'colo-admin-http-'));
  colo = await startColo(
    parseConfig({
      server: { port: 0, shutdownGraceMs: 500 },
      audit: { enabled: false },
      auth: {
        enabled: true,
        pepper: PEPPER,
        adminKeyHashes: [hashApiKey(ADMIN, PEPPER)],
        storePath: join(dir, 'auth.json'),
      },
      engine: { models: [] },
    }),
    quietLog,
  );
  base = `http://127.0.0.1:${colo.port}`;
});
afterAll(async () => colo?.shutdown('test end'));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

describe('admin API over HTTP', () => {
  it('applies query filters: keys by tenant, subscriptions by state and tenant', async () => {
    for (const id of ['alpha', 'beta']) {
      expect((await admin('POST', '/admin/tenants', { id, models: ['m'] })).status).toBe(201);
    }
    const a = (await admin('POST', '/admin/keys', { tenant: 'alpha' })).body;
    const b = (await admin('POST', '/admin/keys', { tenant: 'beta' })).body;
    await admin('POST', '/admin/keys', { tenant: 'beta' });

    const all = await admin('GET', '/admin/keys');
    expect(all.body.keys).toHaveLength(3);
    const alpha = await admin('GET', '/admin/keys?tenant=alpha');
    expect(alpha.status).toBe(200);
    expect(alpha.body.keys.map((k: { keyId: string }) => k.keyId)).toEqual([a.keyId]);
    expect((await admin('GET', '/admin/keys?tenant=beta')).body.keys).toHaveLength(2);

    const sa = (await admin('POST', '/admin/subscriptions', { keyId: a.keyId, model: 'm' })).body;
    await admin('POST', '/admin/subscriptions', { keyId: b.keyId, model: 'm' });
    await admin('POST', `/admin/subscriptions/${sa.id}/approve`, {});
    const approved = await admin('GET', '/admin/subscriptions?state=approved');
    expect(approved.body.subscriptions.map((s: { id: string }) => s.id)).toEqual([sa.id]);
    const pendingBeta = await admin('GET', '/admin/subscriptions?state=pending&tenant=beta');
    expect(pendingBeta.body.subscriptions).toHaveLength(1);
    expect(pendingBeta.body.subscriptions[0].keyId).toBe(b.keyId);
    // A bad filter value reaches the handler and is refused by name.
    const bad = await admin('GET', '/admin/subscriptions?state=bogus');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_ARGUMENT');
  });
});
