/**
 * Every HTTP route that runs a model goes through the one pipeline: for each route the
 * server registers (enumerated from the server, so a new route is covered without
 * editing this file), a key without a subscription is refused, a subscribed key is
 * charged (a quota of one request per minute then refuses the second) and every call,
 * refused or served, leaves an audit record with the key.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startColo, type Colo } from '../../src/app/colo';
import { queryAudit } from '../../src/audit';
import { hashApiKey } from '../../src/auth';
import { trainClassifier } from '../../src/classifier';
import { parseConfig } from '../../src/config';
import type { CallRoute } from '../../src/core/routes';
import { quietLog, SHARED_MODELS } from '../helpers/engine';

const DATA = join(SHARED_MODELS, '../data/twitter-financial-news-sentiment');
const PEPPER = 'test-pepper-0123456789';
const ADMIN_KEY = 'colo_admin_test_key_0123456789abcdef';
const NAMES = { model: 'stories260K', classifier: 'fin-sentiment', skill: 'events' };

let colo: Colo;
let base: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'colo-routes-'));
  await trainClassifier({
    train: join(DATA, 'train.csv'),
    valid: join(DATA, 'valid.csv'),
    out: join(dir, 'clf'),
    seed: 1,
    epochs: 2,
  });
  colo = await startColo(
    parseConfig({
      server: { port: 0 },
      audit: { dir: join(dir, 'audit') },
      auth: {
        enabled: true,
        pepper: PEPPER,
        adminKeyHashes: [hashApiKey(ADMIN_KEY, PEPPER)],
        storePath: join(dir, 'auth.json'),
      },
      limits: { key: { requestsPerMinute: 1 } },
      engine: {
        modelDirs: [SHARED_MODELS],
        models: [{ name: 'stories260K', sequences: 2, contextSize: 1024 }],
      },
      classifiers: { models: [{ name: NAMES.classifier, dir: join(dir, 'clf') }] },
    }),
    quietLog,
  );
  base = `http://127.0.0.1:${colo.port}`;
  await admin('POST', '/admin/tenants', { id: 'desk', models: ['*'], skills: ['*'] });
}, 120_000);
afterAll(async () => colo?.shutdown('test end'));

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function admin(method: string, path: string, body?: unknown): Promise<Json> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
    body: body ? JSON.stringify(body) : undefined,
  });
  return (await r.json()) as Json;
}

/** The scope a route's example needs: the skill, the classifier, or the model. */
function scopeOf(route: CallRoute): { skill: string } | { model: string } {
  if (route.api === 'skill') return { skill: NAMES.skill };
  return { model: route.api === 'classify' ? NAMES.classifier : NAMES.model };
}

function request(route: CallRoute, key: string) {
  const body = JSON.stringify(route.example)
    .replaceAll('{model}', NAMES.model)
    .replaceAll('{classifier}', NAMES.classifier);
  return fetch(`${base}${route.pattern.replace(':name', NAMES.skill)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body,
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Json }));
}

describe('every route that runs a model authorizes, charges and audits', () => {
  it('the server lists its call routes: the OpenAI API, classify, skills and decide', () => {
    expect(colo.server.callRoutes().map((r) => r.pattern)).toEqual(
      expect.arrayContaining([
        '/v1/completions',
        '/v1/chat/completions',
        '/v1/classify',
        '/v1/skills/:name',
        '/v1/decide',
      ]),
    );
  });

  it('each call route: unsubscribed → refused; subscribed → served and charged; both audited', async () => {
    const routes = colo.server.callRoutes();
    for (const route of routes) await checkRoute(route);
  });

  async function checkRoute(route: CallRoute): Promise<void> {
    const unsubscribed = (await admin('POST', '/admin/keys', { tenant: 'desk' })) as {
      key: string;
      keyId: string;
    };
    const refused = await request(route, unsubscribed.key);
    expect(refused.status, route.pattern).toBe(403);
    expect(refused.body.error.code).toBe('SUBSCRIPTION_REQUIRED');

    const key = (await admin('POST', '/admin/keys', { tenant: 'desk' })) as { key: string; keyId: string };
    const sub = await admin('POST', '/admin/subscriptions', { keyId: key.keyId, ...scopeOf(route) });
    await admin('POST', `/admin/subscriptions/${sub.id}/approve`, {});
    const served = await request(route, key.key);
    expect(served.status, `${route.pattern}: ${JSON.stringify(served.body)}`).toBe(200);
    const again = await request(route, key.key);
    expect(again.status, route.pattern).toBe(429);
    expect(again.body.error.code).toBe('RATE_LIMITED');

    const { records } = await queryAudit(join(dir, 'audit'), { limit: 0 });
    const of = (keyId: string) =>
      records.filter((r) => r.keyId === keyId).map((r) => r.errorCode ?? r.status);
    expect(of(unsubscribed.keyId)).toEqual(['SUBSCRIPTION_REQUIRED']);
    expect(of(key.keyId).sort()).toEqual(['RATE_LIMITED', 'ok']);
  }

  it('a key approved only for a skill cannot pick the skill a model it is not approved for', async () => {
    const key = (await admin('POST', '/admin/keys', { tenant: 'desk' })) as { key: string; keyId: string };
    const sub = await admin('POST', '/admin/subscriptions', { keyId: key.keyId, skill: NAMES.skill });
    await admin('POST', `/admin/subscriptions/${sub.id}/approve`, {});
    const r = await fetch(`${base}/v1/skills/${NAMES.skill}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}` },
      body: JSON.stringify({ input: 'Acme beats estimates', model: NAMES.model }),
    });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('SUBSCRIPTION_REQUIRED');
  });
});
