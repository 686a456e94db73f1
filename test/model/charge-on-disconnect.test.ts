/**
 * A client that disconnects mid-stream pays for what was generated (hardening: "a client
 * that disconnects pays nothing"). A tenant with 400 tokens/min streams max_tokens 200
 * and disconnects after 40 tokens, again and again: each disconnect is charged and
 * audited with the tokens generated, so the quota runs out after a handful of requests.
 * Before the fix the settle step charged 0 and every request was served.
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
import { quietLog, SHARED_MODELS } from '../helpers/engine';
import { WsClient } from '../helpers/ws';

const PEPPER = 'test-pepper-0123456789';
const ADMIN_KEY = 'colo_admin_test_key_0123456789abcdef';
let colo: Colo;
let dir: string;
let key: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'colo-charge-'));
  colo = await startColo(
    parseConfig({
      server: { port: 0 },
      audit: { dir: join(dir, 'audit') },
      auth: {
        enabled: true,
        pepper: PEPPER,
        adminKeyHashes: [hashApiKey(ADMIN_KEY, PEPPER)],
        storePath: join(dir, 'auth.json'),
        requireSubscription: false,
      },
      limits: { tenant: { tokensPerMinute: 400 } },
      engine: {
        modelDirs: [SHARED_MODELS],
        models: [{ name: 'stories260K', sequences: 2, contextSize: 1024 }],
      },
    }),
    quietLog,
  );
  const admin = async (path: string, body: unknown) =>
    (await (
      await fetch(`http://127.0.0.1:${colo.port}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
        body: JSON.stringify(body),
      })
    ).json()) as { key: string };
  await admin('/admin/tenants', { id: 'desk', models: ['*'] });
  key = (await admin('/admin/keys', { tenant: 'desk' })).key;
}, 60_000);
afterAll(async () => colo?.shutdown('test end'));

describe('disconnects are charged', () => {
  it('charges and audits the tokens generated before a client disconnects, until the quota refuses', async () => {
    const codes: string[] = [];
    for (let i = 0; i < 10 && !codes.includes('RATE_LIMITED'); i++) {
      const c = await WsClient.connect(colo.port, { authorization: `Bearer ${key}` });
      c.send(
        encodeRequest({
          id: `d${i}`,
          model: 'stories260K',
          prompt: 'Once upon a time',
          // Greedy with a stop-free prompt: stories260K keeps writing past 40 tokens.
          sampling: { maxTokens: 200, temperature: 0 },
          stream: true,
        }),
      );
      const first = await c.next(
        (m) => m.kind === 'error' || (m.kind === 'token' && c.tokens(`d${i}`).length >= 40),
      );
      if (first.kind === 'error') {
        codes.push(first.error.code);
        await c.close();
        break;
      }
      codes.push('disconnected');
      c.ws.terminate(); // mid-stream, no close handshake
      // The next request starts once this one is settled (its audit record is written after the charge).
      await expect
        .poll(async () =>
          (await queryAudit(join(dir, 'audit'), { limit: 0 })).records.some((r) => r.requestId === `d${i}`),
        )
        .toBe(true);
    }
    expect(codes.at(-1)).toBe('RATE_LIMITED');
    expect(codes.filter((c) => c === 'disconnected').length).toBeGreaterThanOrEqual(2);
    // Every disconnected request is audited as cancelled, with the tokens it generated.
    await expect
      .poll(
        async () =>
          (await queryAudit(join(dir, 'audit'), { limit: 0 })).records.filter(
            (r) => r.errorCode === 'CANCELLED',
          ).length,
      )
      .toBe(codes.filter((c) => c === 'disconnected').length);
    const { records } = await queryAudit(join(dir, 'audit'), { limit: 0 });
    for (const r of records.filter((x) => x.errorCode === 'CANCELLED'))
      expect(r.tokens.completion).toBeGreaterThanOrEqual(40);
  });
});
