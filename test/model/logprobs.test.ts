/**
 * `logprobs` / `top_logprobs` on /v1/completions and /v1/chat/completions, in OpenAI's
 * shapes, in the response and per streamed chunk: on the local model (the values agree
 * with /v1/decide's scoring of the same token) and passed through to remote targets that
 * return them (the mock upstream's OpenAI-compatible API); refused naming `logprobs` for
 * those that do not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Colo } from '../../src/app/colo';
import { startTestColo } from '../helpers/engine';
import { type MockUpstream, startMockUpstream } from '../mocks/upstream/server';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let colo: Colo;
let base: string;
let mock: MockUpstream;
beforeAll(async () => {
  mock = await startMockUpstream();
  const remote = (name: string, provider: string, baseUrl: string) => ({
    name,
    provider,
    model: 'gpt-mock',
    baseUrl,
    apiKey: 'sk-test-0123456789',
  });
  colo = await startTestColo({
    sequences: 2,
    extra: {
      gateway: {
        targets: [
          { name: 'echo-remote', provider: 'dummy', model: 'echo' },
          remote('mock-oai', 'openai', mock.baseUrl.openai),
          remote('mock-claude', 'anthropic', mock.baseUrl.anthropic),
        ],
      },
    },
  });
  base = `http://127.0.0.1:${colo.port}`;
});
afterAll(async () => {
  await colo?.shutdown('test end');
  await mock?.close();
});

async function post(path: string, body: unknown): Promise<{ status: number; body: Json }> {
  const r = await fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Json };
}

const PROMPT = 'Once upon a time,';

/** A streamed answer's JSON chunks, up to [DONE]. */
async function stream(path: string, body: unknown): Promise<Json[]> {
  const r = await fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body) });
  expect(r.status).toBe(200);
  const text = await r.text();
  expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  return text
    .split('\n\n')
    .filter((e) => e.startsWith('data: ') && e !== 'data: [DONE]')
    .map((e) => JSON.parse(e.slice(6)) as Json);
}

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

  it('streams: each /v1/completions chunk carries the entries of the tokens it completes', async () => {
    const body = { model: 'stories260K', prompt: PROMPT, max_tokens: 12, temperature: 0, logprobs: 2 };
    const whole = await post('/v1/completions', body);
    const chunks = await stream('/v1/completions', { ...body, stream: true });
    const tokens = chunks.filter((c) => c.choices[0]?.finish_reason === null);
    expect(tokens.length).toBeGreaterThan(1);
    let text = '';
    let listed = '';
    const all: Json[] = [];
    for (const c of tokens) {
      const ch = c.choices[0];
      text += ch.text;
      const lp = ch.logprobs;
      expect(lp.tokens).toHaveLength(lp.token_logprobs.length);
      // Offsets count from the start of the answer and run on across chunks.
      lp.tokens.forEach((t: string, i: number) => {
        expect(lp.text_offset[i]).toBe(listed.length);
        listed += t;
        all.push({ token: t, logprob: lp.token_logprobs[i], top: lp.top_logprobs[i] });
      });
      // Never ahead of the text streamed so far.
      expect(text.startsWith(listed)).toBe(true);
    }
    expect(listed).toBe(text);
    expect(text).toBe(whole.body.choices[0].text);
    const w = whole.body.choices[0].logprobs;
    expect(all.map((x) => x.token)).toEqual(w.tokens);
    all.forEach((x, i) => {
      // Same tokens; the values agree to float32 noise: the second request reuses the
      // first one's prompt KV (evaluating one token instead of the whole prompt's batch),
      // so its kernels sum in a different order (seen: differences up to 3e-5).
      expect(x.logprob).toBeCloseTo(w.token_logprobs[i], 3);
      expect(Object.keys(x.top)).toHaveLength(2);
    });
    // The final chunk carries no entries of its own.
    expect(chunks.at(-1)!.choices[0].logprobs).toBeNull();
  });

  it('streams: chat chunks carry logprobs.content; a stop string streams none of its tokens', async () => {
    const body = {
      model: 'stories260K',
      messages: [{ role: 'user', content: 'Tell me a story' }],
      max_tokens: 10,
      temperature: 0,
      logprobs: true,
      top_logprobs: 1,
    };
    const whole = await post('/v1/chat/completions', body);
    const answer = whole.body.choices[0].message.content as string;
    const chunks = await stream('/v1/chat/completions', { ...body, stream: true });
    const content = chunks.flatMap((c) => (c.choices[0]?.logprobs?.content ?? []) as Json[]);
    expect(content.map((x) => x.token).join('')).toBe(answer);
    for (const x of content) {
      expect(x.top_logprobs).toHaveLength(1);
      expect(Buffer.from(x.bytes).toString('utf8')).toBe(x.token);
    }
    // Cut by a stop string: what streams (text and entries) ends before it.
    const stopAt = answer.slice(Math.floor(answer.length / 2)).search(/\S/) + Math.floor(answer.length / 2);
    const stop = answer.slice(stopAt, stopAt + 3);
    const cut = await stream('/v1/chat/completions', { ...body, stop: [stop], stream: true });
    const cutText = cut.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    const cutTokens = cut
      .flatMap((c) => (c.choices[0]?.logprobs?.content ?? []) as Json[])
      .map((x) => x.token);
    expect(cutText).toBe(answer.slice(0, answer.indexOf(stop)));
    expect(cutText.startsWith(cutTokens.join(''))).toBe(true);
    expect(cutTokens.join('')).not.toContain(stop);
  });

  it('refuses what it cannot honour, naming the field', async () => {
    const cases: [string, Json, string][] = [
      ['/v1/completions', { prompt: PROMPT, logprobs: 6 }, 'logprobs'],
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
      [
        '/v1/chat/completions',
        { model: 'mock-claude', messages: [{ role: 'user', content: 'x' }], logprobs: true },
        'logprobs',
      ],
    ];
    for (const [path, body, field] of cases) {
      const r = await post(path, { model: 'stories260K', max_tokens: 4, ...body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe('INVALID_ARGUMENT');
      expect(r.body.error.param).toBe(field);
    }
  });
});

describe('logprobs on a remote target', () => {
  const TOKENS = ['The', ' market', ' is', ' up'];
  const chat = {
    model: 'mock-oai',
    messages: [{ role: 'user', content: 'Is the market up?' }],
    max_tokens: 8,
    logprobs: true,
    top_logprobs: 2,
  };

  it('passes logprobs/top_logprobs to an OpenAI-compatible upstream and returns its entries', async () => {
    const r = await post('/v1/chat/completions', chat);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.colo.route).toMatchObject({ kind: 'remote', provider: 'openai' });
    const content = r.body.choices[0].logprobs.content as Json[];
    expect(content.map((x) => x.token)).toEqual(TOKENS);
    expect(content[3]!.top_logprobs.map((x: Json) => x.token)).toEqual([' up', ' down']);
    const sent = mock.requests.at(-1)!.body as Json;
    expect([sent.logprobs, sent.top_logprobs]).toEqual([true, 2]);

    const c = await post('/v1/completions', { model: 'mock-oai', prompt: 'Is the market up?', logprobs: 2 });
    expect(c.status, JSON.stringify(c.body)).toBe(200);
    expect(c.body.choices[0].logprobs.tokens).toEqual(TOKENS);
    expect(c.body.choices[0].logprobs.text_offset).toEqual([0, 3, 10, 13]);
  });

  it('streams the upstream entries chunk by chunk', async () => {
    const chunks = await stream('/v1/chat/completions', { ...chat, stream: true });
    const withText = chunks.filter((c) => c.choices[0]?.delta?.content);
    expect(withText.map((c) => c.choices[0].delta.content)).toEqual(TOKENS);
    for (const c of withText)
      expect(c.choices[0].logprobs.content.map((x: Json) => x.token)).toEqual([c.choices[0].delta.content]);
  });
});
