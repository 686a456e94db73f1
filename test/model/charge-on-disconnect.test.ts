/**
 * A client that disconnects mid-stream pays for what was generated (hardening: "a client
 * that disconnects pays nothing"). A tenant with 400 tokens/min streams max_tokens 200
 * and disconnects after 40 tokens, again and again: each disconnect is charged and
 * audited with the tokens generated, so the quota runs out after a handful of requests.
 * Before the fix the settle step charged 0 and every request was served.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRequest } from '../../src/protocol';
import { startAuthColo, type AuthColo } from '../helpers/engine';
import { WsClient } from '../helpers/ws';

let app: AuthColo;
let key: string;

beforeAll(async () => {
  app = await startAuthColo({
    requireSubscription: false,
    config: { limits: { tenant: { tokensPerMinute: 400 } } },
  });
  key = await app.tenantKey({ id: 'desk', models: ['*'] });
}, 60_000);
afterAll(async () => app?.colo.shutdown('test end'));

describe('disconnects are charged', () => {
  it('charges and audits the tokens generated before a client disconnects, until the quota refuses', async () => {
    const codes: string[] = [];
    for (let i = 0; i < 10 && !codes.includes('RATE_LIMITED'); i++) {
      const c = await WsClient.connect(app.colo.port, { authorization: `Bearer ${key}` });
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
      await expect.poll(async () => (await app.audit()).some((r) => r.requestId === `d${i}`)).toBe(true);
    }
    expect(codes.at(-1)).toBe('RATE_LIMITED');
    expect(codes.filter((c) => c === 'disconnected').length).toBeGreaterThanOrEqual(2);
    // Every disconnected request is audited as cancelled, with the tokens it generated.
    await expect
      .poll(async () => (await app.audit()).filter((r) => r.errorCode === 'CANCELLED').length)
      .toBe(codes.filter((c) => c === 'disconnected').length);
    for (const r of (await app.audit()).filter((x) => x.errorCode === 'CANCELLED'))
      expect(r.tokens.completion).toBeGreaterThanOrEqual(40);
  });
});
