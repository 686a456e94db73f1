/**
 * `logprobs` / `top_logprobs` on /v1/completions and /v1/chat/completions, local model,
 * in OpenAI's shapes; the values agree with /v1/decide's scoring of the same token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Colo } from '../../src/app/colo';
import { startTestColo } from '../helpers/engine';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let colo: Colo;
let base: string;
beforeAll(async () => {
  colo = await startTestColo({
    sequences: 2,
    extra: { gateway: { targets: [{ name: 'echo-remote', provider: 'dummy', model: 'echo' }] } },
  });
  base = `http://127.0.0.1:${colo.port}`;
});
afterAll(async () => {
  await colo?.shutdown('test end');
});

async function post(path: string, body: unknown): Promise<{ status: number; body: Json }> {
  const r = await fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Json };
}

const PROMPT = 'Once upon a time,';

describe('logprobs on a local model', () => {
  it('/v1/completions: tokens make the text, greedy tokens are their own top alternative', async () => {
    const r = await post('/v1/completions', {
      model: 'stories260K',
      prompt: PROMPT,
      max_tokens: 8,
      temperature: 0,
      logprobs: 3,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const c = r.body.choices[0];
    const lp = c.logprobs;
    expect(lp.tokens).toHaveLength(8);
    expect(lp.tokens.join('')).toBe(c.text);
    expect(lp.text_offset[0]).toBe(0);
    lp.tokens.forEach((tok: string, i: number) => {
      expect(lp.token_logprobs[i]).toBeLessThanOrEqual(0);
      const top = lp.top_logprobs[i] as Record<string, number>;
      expect(Object.keys(top)).toHaveLength(3);
      const best = Object.entries(top).sort((a, b) => b[1] - a[1])[0]!;
      expect(best[0]).toBe(tok);
      expect(best[1]).toBeCloseTo(lp.token_logprobs[i], 9);
    });
    // The same first token scored by /v1/decide: the two paths agree.
    const first = lp.tokens[0] as string;
    const d = await post('/v1/decide', { model: 'stories260K', prompt: PROMPT, choices: [first, ' dog'] });
    expect(d.body.logprobs[first]).toBeCloseTo(lp.token_logprobs[0], 3);
    // Without logprobs the field stays null.
    const plain = await post('/v1/completions', { model: 'stories260K', prompt: PROMPT, max_tokens: 4 });
    expect(plain.body.choices[0].logprobs).toBeNull();
  });

  it('a stop string cuts the token list with the text', async () => {
    const full = await post('/v1/completions', {
      model: 'stories260K',
      prompt: PROMPT,
      max_tokens: 16,
      temperature: 0,
      logprobs: 0,
    });
    const text = full.body.choices[0].text as string;
    const stop = text.slice(8, 11);
    const r = await post('/v1/completions', {
      model: 'stories260K',
      prompt: PROMPT,
      max_tokens: 16,
      temperature: 0,
      logprobs: 0,
      stop: [stop],
    });
    const lp = r.body.choices[0].logprobs;
    expect(lp.tokens.join('').length).toBeLessThanOrEqual(r.body.choices[0].text.length);
    expect(lp.tokens.length).toBeLessThan(16);
    for (const t of lp.top_logprobs) expect(t).toEqual({});
  });

  it('/v1/chat/completions: logprobs.content with bytes and top_logprobs', async () => {
    const r = await post('/v1/chat/completions', {
      model: 'stories260K',
      messages: [{ role: 'user', content: 'Tell me a story' }],
      max_tokens: 6,
      temperature: 0,
      logprobs: true,
      top_logprobs: 2,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const content = r.body.choices[0].logprobs.content as Json[];
    expect(content).toHaveLength(6);
    expect(content.map((x) => x.token).join('')).toBe(r.body.choices[0].message.content);
    for (const x of content) {
      expect(Buffer.from(x.bytes).toString('utf8')).toBe(x.token);
      expect(x.top_logprobs).toHaveLength(2);
      expect(x.logprob).toBeLessThanOrEqual(0);
    }
  });

  it('refuses what it cannot honour, naming the field', async () => {
    const cases: [string, Json, string][] = [
      ['/v1/completions', { prompt: PROMPT, logprobs: 6 }, 'logprobs'],
      ['/v1/completions', { prompt: PROMPT, logprobs: 2, stream: true }, 'logprobs'],
      [
        '/v1/chat/completions',
        { messages: [{ role: 'user', content: 'x' }], top_logprobs: 2 },
        'top_logprobs',
      ],
      [
        '/v1/chat/completions',
        { messages: [{ role: 'user', content: 'x' }], logprobs: true, top_logprobs: 21 },
        'top_logprobs',
      ],
      ['/v1/completions', { model: 'echo-remote', prompt: PROMPT, logprobs: 1 }, 'logprobs'],
    ];
    for (const [path, body, field] of cases) {
      const r = await post(path, { model: 'stories260K', max_tokens: 4, ...body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe('INVALID_ARGUMENT');
      expect(r.body.error.param).toBe(field);
    }
  });
});
