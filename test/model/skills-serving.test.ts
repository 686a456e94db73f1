/** Skills through the real server: HTTP catalogue and calls, WebSocket skill requests, audit. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit } from '../../src/audit';
import type { Colo } from '../../src/app/colo';
import { encodeRequest } from '../../src/protocol';
import { SHARED_MODELS, startTestColo } from '../helpers/engine';
import { WsClient } from '../helpers/ws';
import { waitFor } from '../helpers/wait';

let colo: Colo;
let base: string;
beforeAll(async () => {
  colo = await startTestColo({
    extra: {
      engine: {
        modelDirs: [SHARED_MODELS],
        models: [{ name: 'stories260K', sequences: 2, maxQueue: 16, contextSize: 2048 }],
      },
    },
  });
  base = `http://127.0.0.1:${colo.port}`;
});
afterAll(async () => {
  await colo?.shutdown('test end');
});

describe('skills served by Colo', () => {
  it('lists the built-in skills in the catalogue', async () => {
    const body = (await (await fetch(`${base}/v1/skills`)).json()) as {
      data: { name: string; state: string }[];
    };
    expect(body.data.map((s) => s.name)).toEqual(expect.arrayContaining(['sentiment', 'events', 'summary']));
  });

  it('POST /v1/skills/events returns schema-valid output and well-formed signals', async () => {
    const r = await fetch(`${base}/v1/skills/events`, {
      method: 'POST',
      body: JSON.stringify({ input: '$MSFT agrees to buy $ATVI for $69bn' }),
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as {
      skill: string;
      signals: { direction: number; confidence: number; score: number }[];
      output: unknown;
      route: { kind: string };
    };
    expect(body.skill).toBe('events');
    expect(body.route.kind).toBe('local');
    expect(body.output).toBeTypeOf('object');
    for (const s of body.signals) {
      expect([-1, 0, 1]).toContain(s.direction);
      expect(s.confidence).toBeGreaterThanOrEqual(0);
      expect(s.confidence).toBeLessThanOrEqual(1);
      expect(Math.abs(s.score)).toBeLessThanOrEqual(1);
    }
  });

  it('answers an unknown skill with SKILL_NOT_FOUND and empty input with INVALID_ARGUMENT', async () => {
    const r1 = await fetch(`${base}/v1/skills/nope`, {
      method: 'POST',
      body: JSON.stringify({ input: 'x' }),
    });
    expect(((await r1.json()) as { error: { code: string } }).error.code).toBe('SKILL_NOT_FOUND');
    const r2 = await fetch(`${base}/v1/skills/events`, {
      method: 'POST',
      body: JSON.stringify({ input: '' }),
    });
    expect(r2.status).toBe(400);
  });

  it('a WebSocket request with skill=events gets a Result frame carrying the skill and typed signals', async () => {
    const c = await WsClient.connect(colo.port);
    c.send(
      encodeRequest({ id: 'sk1', skill: 'events', prompt: '$AAPL raises full-year guidance', stream: false }),
    );
    const m = await c.final('sk1');
    expect(m.kind).toBe('result');
    if (m.kind === 'result') {
      expect(m.skill).toBe('events');
      expect(() => JSON.parse(m.result.text)).not.toThrow();
      for (const s of m.signals) expect([-1, 0, 1]).toContain(s.direction);
    }
    c.send(encodeRequest({ id: 'sk2', skill: 'no-such-skill', prompt: 'x' }));
    const e = await c.final('sk2');
    expect(e.kind === 'error' && e.error.code).toBe('SKILL_NOT_FOUND');
    await c.close();
  });

  it('a client that disconnects from POST /v1/skills/:name cancels the generation (audit says CANCELLED)', async () => {
    const abort = new AbortController();
    const pending = fetch(`${base}/v1/skills/sentiment`, {
      method: 'POST',
      body: JSON.stringify({
        id: 'skill-cancel-1',
        input: '$AAPL beats estimates and raises guidance for the year',
      }),
      signal: abort.signal,
    }).catch((e: unknown) => e);
    const pool = colo.engine.get('stories260K');
    await waitFor(() => pool.inFlight > 0, 'the skill request to reach the engine');
    expect(pool.inFlight).toBe(1);
    abort.abort();
    await pending;
    let rec;
    await waitFor(async () => {
      rec = (await queryAudit(colo.auditDir!, { limit: 0 })).records.find(
        (r) => r.requestId === 'skill-cancel-1',
      );
      return rec !== undefined;
    }, 'the audit record of the cancelled skill request');
    expect(rec).toMatchObject({ status: 'error', errorCode: 'CANCELLED', skill: 'sentiment' });
  });
});
