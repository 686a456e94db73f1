/**
 * `response_format` on the real tiny model: json_schema and json_object are enforced by a
 * grammar (the answer parses and follows the schema), over HTTP and WebSocket; a schema
 * the local grammar cannot enforce is refused with INVALID_ARGUMENT naming
 * response_format, never compiled half-way or ignored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Colo } from '../../src/app/colo';
import { encodeRequest } from '../../src/protocol';
import { startTestColo } from '../helpers/engine';
import { WsClient } from '../helpers/ws';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let colo: Colo;
let base: string;
beforeAll(async () => {
  colo = await startTestColo({ sequences: 2 });
  base = `http://127.0.0.1:${colo.port}`;
});
afterAll(async () => {
  await colo?.shutdown('test end');
});

async function post(path: string, body: unknown): Promise<{ status: number; body: Json }> {
  const r = await fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Json };
}

const SCHEMA = {
  type: 'object',
  properties: {
    mood: { enum: ['happy', 'sad', 'angry'] },
    name: { type: 'string', maxLength: 8 },
    ok: { type: 'boolean' },
  },
  required: ['mood', 'name', 'ok'],
  additionalProperties: false,
};

/** What SCHEMA says, checked by hand (no schema library in the model tests). */
function expectFollowsSchema(text: string): void {
  const v = JSON.parse(text) as Json;
  expect(Object.keys(v).sort()).toEqual(['mood', 'name', 'ok']);
  expect(['happy', 'sad', 'angry']).toContain(v.mood);
  expect(typeof v.name).toBe('string');
  expect(v.name.length).toBeLessThanOrEqual(8);
  expect(typeof v.ok).toBe('boolean');
}

const jsonSchema = (schema: unknown) => ({ type: 'json_schema', json_schema: { name: 's', schema } });

describe('response_format on a local model', () => {
  it('json_schema on /v1/completions and /v1/chat/completions gives schema-valid JSON', async () => {
    for (const prompt of ['Once upon a time', 'Lily and Ben went to the park. They']) {
      const r = await post('/v1/completions', {
        model: 'stories260K',
        prompt,
        max_tokens: 120,
        temperature: 0.8,
        seed: 7,
        response_format: jsonSchema(SCHEMA),
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expectFollowsSchema(r.body.choices[0].text);
    }
    const chat = await post('/v1/chat/completions', {
      model: 'stories260K',
      messages: [{ role: 'user', content: 'How do you feel?' }],
      max_tokens: 120,
      temperature: 0,
      response_format: jsonSchema(SCHEMA),
    });
    expect(chat.status, JSON.stringify(chat.body)).toBe(200);
    expectFollowsSchema(chat.body.choices[0].message.content);
  });

  it('json_object gives a JSON object', async () => {
    const r = await post('/v1/completions', {
      model: 'stories260K',
      prompt: 'Once upon a time',
      max_tokens: 200,
      temperature: 0,
      response_format: { type: 'json_object' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    if (r.body.choices[0].finish_reason === 'stop') {
      const v = JSON.parse(r.body.choices[0].text) as unknown;
      expect(typeof v === 'object' && v !== null && !Array.isArray(v)).toBe(true);
    } else {
      // Cut at max_tokens: still the start of an object, never free text.
      expect(r.body.choices[0].text.trimStart().startsWith('{')).toBe(true);
    }
  });

  it('over WebSocket, response_schema is enforced the same way', async () => {
    const c = await WsClient.connect(colo.port);
    c.send(
      encodeRequest({
        id: 'j1',
        model: 'stories260K',
        prompt: 'Once upon a time',
        sampling: { maxTokens: 120, temperature: 0 },
        responseSchema: JSON.stringify(SCHEMA),
        stream: true,
      }),
    );
    const fin = await c.final('j1');
    expect(fin.kind).toBe('result');
    if (fin.kind === 'result') expectFollowsSchema(fin.result.text);
    await c.close();
  });

  it('refuses a schema the grammar cannot enforce, naming response_format', async () => {
    const cases: [unknown, string][] = [
      [{ type: 'object', properties: { n: { type: 'integer', minimum: 0 } } }, 'minimum'],
      [{ type: 'object', properties: { s: { type: 'string', pattern: '^[A-Z]+$' } } }, 'pattern'],
      [{ anyOf: [{ type: 'string' }, { type: 'number' }] }, 'anyOf'],
      [{ type: 'string', format: 'email' }, 'email'],
      [{ type: 'decimal' }, 'decimal'],
    ];
    for (const [schema, word] of cases) {
      const r = await post('/v1/completions', {
        model: 'stories260K',
        prompt: 'Once upon a time',
        max_tokens: 8,
        response_format: jsonSchema(schema),
      });
      expect(r.status, JSON.stringify(schema)).toBe(400);
      expect(r.body.error.code).toBe('INVALID_ARGUMENT');
      expect(r.body.error.param).toBe('response_format');
      expect(r.body.error.message).toContain(word);
    }
    // Too deep to compile in bounded time.
    let deep: Json = { type: 'string' };
    for (let i = 0; i < 20; i++) deep = { type: 'array', items: deep, maxItems: 1 };
    const r = await post('/v1/completions', {
      model: 'stories260K',
      prompt: 'x',
      max_tokens: 8,
      response_format: jsonSchema(deep),
    });
    expect(r.status).toBe(400);
    expect(r.body.error.param).toBe('response_format');
  });
});
