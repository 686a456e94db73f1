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
import { trainClassifier } from '../../src/classifier';
import type { CallRoute } from '../../src/core/routes';
import { SHARED_MODELS, startAuthColo, type AuthColo } from '../helpers/engine';

const DATA = join(SHARED_MODELS, '../data/twitter-financial-news-sentiment');
const NAMES = { model: 'stories260K', classifier: 'fin-sentiment', skill: 'events' };

let app: AuthColo;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'colo-routes-'));
  await trainClassifier({
    train: join(DATA, 'train.csv'),
    valid: join(DATA, 'valid.csv'),
    out: join(dir, 'clf'),
    seed: 1,
    epochs: 2,
  });
  app = await startAuthColo({
    dir,
    config: {
      limits: { key: { requestsPerMinute: 1 } },
      classifiers: { models: [{ name: NAMES.classifier, dir: join(dir, 'clf') }] },
    },
  });
  await app.admin('/admin/tenants', { id: 'desk', models: ['*'], skills: ['*'] });
}, 120_000);
afterAll(async () => app?.colo.shutdown('test end'));

/** The scope a route's example needs: the skill, the classifier, or the model. */
function scopeOf(route: CallRoute): { skill: string } | { model: string } {
  if (route.api === 'skill') return { skill: NAMES.skill };
  return { model: route.api === 'classify' ? NAMES.classifier : NAMES.model };
}

function request(route: CallRoute, key: string) {
  const body: unknown = JSON.parse(
    JSON.stringify(route.example)
      .replaceAll('{model}', NAMES.model)
      .replaceAll('{classifier}', NAMES.classifier),
  );
  return app.post(route.pattern.replace(':name', NAMES.skill), body, key);
}

describe('every route that runs a model authorizes, charges and audits', () => {
  it('the server lists its call routes: the OpenAI API, classify, skills and decide', () => {
    expect(app.colo.server.callRoutes().map((r) => r.pattern)).toEqual(
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
    const routes = app.colo.server.callRoutes();
    for (const route of routes) await checkRoute(route);
  });

  async function checkRoute(route: CallRoute): Promise<void> {
    const unsubscribed = await app.newKey('desk');
    const refused = await request(route, unsubscribed.key);
    expect(refused.status, route.pattern).toBe(403);
    expect(refused.body.error.code).toBe('SUBSCRIPTION_REQUIRED');

    const key = await app.newKey('desk');
    const sub = await app.admin('/admin/subscriptions', { keyId: key.keyId, ...scopeOf(route) });
    await app.admin(`/admin/subscriptions/${sub.id}/approve`, {});
    const served = await request(route, key.key);
    expect(served.status, `${route.pattern}: ${JSON.stringify(served.body)}`).toBe(200);
    const again = await request(route, key.key);
    expect(again.status, route.pattern).toBe(429);
    expect(again.body.error.code).toBe('RATE_LIMITED');

    const records = await app.audit();
    const of = (keyId: string) =>
      records.filter((r) => r.keyId === keyId).map((r) => r.errorCode ?? r.status);
    expect(of(unsubscribed.keyId)).toEqual(['SUBSCRIPTION_REQUIRED']);
    expect(of(key.keyId).sort()).toEqual(['RATE_LIMITED', 'ok']);
  }

  it('a key approved only for a skill cannot pick the skill a model it is not approved for', async () => {
    const key = await app.newKey('desk');
    const sub = await app.admin('/admin/subscriptions', { keyId: key.keyId, skill: NAMES.skill });
    await app.admin(`/admin/subscriptions/${sub.id}/approve`, {});
    const r = await app.post(
      `/v1/skills/${NAMES.skill}`,
      { input: 'Acme beats estimates', model: NAMES.model },
      key.key,
    );
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('SUBSCRIPTION_REQUIRED');
  });
});
