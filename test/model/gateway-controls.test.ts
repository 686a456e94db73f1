/**
 * The whole request path through the real server: local-first routing with a remote
 * fallback on a mock upstream, redaction before the request leaves, auth with
 * subscription approval, quotas, the response cache and the durable audit log.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startColo, type Colo } from '../../src/app/colo';
import { queryAudit } from '../../src/audit';
import { hashApiKey } from '../../src/auth';
import { parseConfig } from '../../src/config';
import { encodeRequest } from '../../src/protocol';
import { startMockUpstream, type MockUpstream } from '../mocks/upstream/server';
import { FIXTURE_TEXT } from '../mocks/upstream/fixtures';
import { quietLog, SHARED_MODELS } from '../helpers/engine';
import { WsClient } from '../helpers/ws';

const PEPPER = 'test-pepper-0123456789';
const ADMIN_KEY = 'colo_admin_test_key_0123456789abcdef';

let upstream: MockUpstream;
let dir: string;

function config(over: Record<string, unknown> = {}) {
  return parseConfig({
    server: { port: 0, shutdownGraceMs: 2000 },
    audit: { dir: join(dir, 'audit'), content: 'full' },
    auth: { storePath: join(dir, `auth-${Math.random()}.json`) },
    engine: {
      modelDirs: [SHARED_MODELS],
      models: [{ name: 'stories260K', sequences: 1, maxQueue: 0, fallback: 'remote-fast', contextSize: 512 }],
    },
    gateway: {
      targets: [
        {
          name: 'mock-openai',
          provider: 'openai',
          baseUrl: upstream.baseUrl.openai,
          model: 'gpt-mock',
          apiKey: 'sk-test-secret-key-000000',
        },
      ],
      aliases: [{ name: 'remote-fast', targets: ['mock-openai'] }],
    },
    ...over,
  });
}

async function post(base: string, body: unknown, key?: string) {
  const r = await fetch(`${base}/v1/completions`, {
    method: 'POST',
    headers: key ? { authorization: `Bearer ${key}` } : {},
    body: JSON.stringify(body),
  });
  return { status: r.status, headers: r.headers, body: (await r.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

beforeAll(async () => {
  upstream = await startMockUpstream();
  dir = mkdtempSync(join(tmpdir(), 'colo-gw-'));
});
afterAll(async () => {
  await upstream?.close();
});

describe('routing and controls, open (auth off)', () => {
  let colo: Colo;
  let base: string;
  beforeAll(async () => {
    colo = await startColo(config(), quietLog);
    base = `http://127.0.0.1:${colo.port}`;
  });
  afterAll(async () => colo?.shutdown('test end'));

  it('serves locally while a sequence is free and falls back to the remote alias when local is full', async () => {
    const bodies = Array.from({ length: 3 }, (_, i) => ({
      model: 'stories260K',
      prompt: `Once upon a time ${i}`,
      max_tokens: 200,
      temperature: 0.7,
    }));
    const results = await Promise.all(bodies.map((b) => post(base, b)));
    const routes = results.map((r) => r.body.colo.route);
    expect(routes.filter((r) => r.kind === 'local')).toHaveLength(1);
    const remote = routes.filter((r) => r.kind === 'remote');
    expect(remote).toHaveLength(2);
    expect(remote[0]).toMatchObject({ provider: 'openai', model: 'gpt-mock' });
    expect(results.find((r) => r.body.colo.route.kind === 'remote')!.body.choices[0].text).toBe(FIXTURE_TEXT);
  });

  it('masks sensitive data before it leaves for a remote provider; the local route sees it unmasked', async () => {
    const before = upstream.requests.length;
    const prompt =
      'Email jane.doe@example.com about IBAN GB82WEST12345698765432 with key sk-live-4eC39HqLyjWDarjtT1zdp7dc';
    const r = await post(base, { model: 'remote-fast', prompt, max_tokens: 16 });
    expect(r.status).toBe(200);
    expect(r.body.colo.route.kind).toBe('remote');
    expect(upstream.requests.length).toBe(before + 1);
    const sent = JSON.stringify(upstream.requests[before]!.body);
    expect(sent).not.toContain('jane.doe@example.com');
    expect(sent).not.toContain('GB82WEST12345698765432');
    expect(sent).toContain('<EMAIL_1>');
    expect(sent).toContain('<IBAN_1>');
    expect(sent).not.toContain('sk-live-4eC39');
    expect(sent).toContain('<SECRET_1>');
    // audit.content 'full' keeps the masked form, never the raw PII.
    const { records } = await queryAudit(join(dir, 'audit'), { limit: 0 });
    const rec = records.find((x) => x.requestId === r.body.id);
    expect(rec?.prompt).toBe('Email <EMAIL_1> about IBAN <IBAN_1> with key <SECRET_1>');
    expect(JSON.stringify(records)).not.toContain('jane.doe@example.com');
    // The provider key went to the upstream, and nowhere a client can see.
    expect(upstream.requests[before]!.headers.authorization).toBe('Bearer sk-test-secret-key-000000');
    expect(JSON.stringify(r.body)).not.toContain('sk-test-secret');
  });

  it('answers a repeated deterministic request from the cache, flagged as cached', async () => {
    const body = { model: 'stories260K', prompt: 'The cat sat', max_tokens: 8, temperature: 0 };
    const a = await post(base, body);
    const b = await post(base, body);
    expect(b.body.choices[0].text).toBe(a.body.choices[0].text);
    expect(b.body.colo.route).toMatchObject({ kind: 'cache', cached: true });
  });

  it('writes one audit record per request, durable before the answer', async () => {
    const r = await post(base, { model: 'stories260K', prompt: 'Audit me', max_tokens: 4, temperature: 0.9 });
    const { records } = await queryAudit(join(dir, 'audit'), { limit: 0 });
    const rec = records.find((x) => x.requestId === r.body.id);
    expect(rec).toBeDefined();
    expect(rec).toMatchObject({ status: 'ok', model: 'stories260K', tokens: { completion: 4 } });
    expect(JSON.stringify(records)).not.toContain('sk-test-secret-key');
    const bad = await post(base, { model: 'nope', prompt: 'x' });
    const after = await queryAudit(join(dir, 'audit'), { limit: 0 });
    expect(
      after.records.find((x) => x.requestId === bad.body.id || x.errorCode === 'MODEL_NOT_FOUND'),
    ).toBeDefined();
  });
});

describe('auth, subscriptions and quotas', () => {
  let colo: Colo;
  let base: string;
  beforeAll(async () => {
    colo = await startColo(
      config({
        auth: {
          enabled: true,
          pepper: PEPPER,
          adminKeyHashes: [hashApiKey(ADMIN_KEY, PEPPER)],
          storePath: join(dir, 'auth-on.json'),
        },
        limits: { key: { requestsPerMinute: 3 } },
      }),
      quietLog,
    );
    base = `http://127.0.0.1:${colo.port}`;
  });
  afterAll(async () => colo?.shutdown('test end'));

  const admin = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: (await r.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  it('refuses requests and WebSocket upgrades without a valid key', async () => {
    expect((await post(base, { model: 'stories260K', prompt: 'x' })).body.error.code).toBe('UNAUTHENTICATED');
    expect(
      (await post(base, { model: 'stories260K', prompt: 'x' }, 'colo_not_a_real_key_000000000000')).status,
    ).toBe(401);
    await expect(WsClient.connect(colo.port)).rejects.toThrow(/401/);
  });

  it('needs a subscription approved by an admin, then enforces the per-key quota with retry-after', async () => {
    expect((await admin('POST', '/admin/tenants', { id: 'desk-a', models: ['stories260K'] })).status).toBe(
      201,
    );
    const key = (await admin('POST', '/admin/keys', { tenant: 'desk-a', name: 'algo-1' })).body;
    expect(key.key).toMatch(/^colo_/);
    const body = { model: 'stories260K', prompt: 'Once', max_tokens: 4, temperature: 0.9 };
    expect((await post(base, body, key.key)).body.error.code).toBe('SUBSCRIPTION_REQUIRED');
    const sub = (await admin('POST', '/admin/subscriptions', { keyId: key.keyId, model: 'stories260K' }))
      .body;
    expect((await post(base, body, key.key)).body.error.code).toBe('SUBSCRIPTION_PENDING');
    expect((await admin('POST', `/admin/subscriptions/${sub.id}/approve`, {})).status).toBe(200);
    const ok = await post(base, body, key.key);
    expect(ok.status).toBe(200);

    // The same key over the WebSocket: the upgrade succeeds and requests run as that key.
    const c = await WsClient.connect(colo.port, { authorization: `Bearer ${key.key}` });
    c.send(
      encodeRequest({
        id: 'w1',
        model: 'stories260K',
        prompt: 'Once',
        sampling: { maxTokens: 4, temperature: 0.9 },
      }),
    );
    expect((await c.final('w1')).kind).toBe('result');
    await c.close();

    // requestsPerMinute 3: the HTTP call, the WS call and one more; the fourth is refused.
    expect((await post(base, body, key.key)).status).toBe(200);
    const limited = await post(base, body, key.key);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('rejects admin calls without the admin key', async () => {
    const r = await fetch(`${base}/admin/tenants`);
    expect(r.status).toBe(401);
  });
});

describe('a tenant barred from remote providers stays local, also inside a skill', () => {
  let colo: Colo;
  let base: string;
  beforeAll(async () => {
    colo = await startColo(
      config({
        auth: {
          enabled: true,
          pepper: PEPPER,
          adminKeyHashes: [hashApiKey(ADMIN_KEY, PEPPER)],
          storePath: join(dir, 'auth-remote.json'),
        },
        engine: {
          modelDirs: [SHARED_MODELS],
          models: [
            { name: 'stories260K', sequences: 2, maxQueue: 4, fallback: 'remote-fast', contextSize: 2048 },
          ],
        },
      }),
      quietLog,
    );
    base = `http://127.0.0.1:${colo.port}`;
  });
  afterAll(async () => colo?.shutdown('test end'));

  const admin = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      body: body ? JSON.stringify(body) : undefined,
    });
    return (await r.json()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const keyFor = async (tenant: string, allowRemote: boolean) => {
    await admin('POST', '/admin/tenants', {
      id: tenant,
      models: ['stories260K'],
      skills: ['events'],
      allowRemote,
    });
    const key = await admin('POST', '/admin/keys', { tenant });
    const sub = await admin('POST', '/admin/subscriptions', { keyId: key.keyId, skill: 'events' });
    await admin('POST', `/admin/subscriptions/${sub.id}/approve`, {});
    return key.key as string;
  };
  // A 150 ms deadline cannot be met by the local estimate of a skill's long JSON answer, so an
  // allowed tenant falls back to remote (20 ms left too little for the remote hop on a loaded box).
  const callSkill = (key: string) =>
    fetch(`${base}/v1/skills/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ input: '$MSFT to acquire $ATVI', deadline_ms: 150 }),
    }).then((r) => r.json() as Promise<Record<string, any>>); // eslint-disable-line @typescript-eslint/no-explicit-any

  it('sends the allowed tenant remote and keeps the barred tenant local', async () => {
    const allowed = await keyFor('remote-ok', true);
    const barred = await keyFor('local-only', false);
    const before = upstream.requests.length;
    await callSkill(allowed);
    expect(upstream.requests.length).toBe(before + 1);
    // The skill's schema went to the provider as structured output.
    const format = (
      upstream.requests[before]!.body as {
        response_format?: { type: string; json_schema: { schema: { type: string } } };
      }
    ).response_format;
    expect(format?.type).toBe('json_schema');
    expect(format?.json_schema.schema.type).toBe('object');
    await callSkill(barred);
    expect(upstream.requests.length).toBe(before + 1);
  });
});
