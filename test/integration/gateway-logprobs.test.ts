/**
 * `logprobs` on remote targets, through the real gateway against the mock upstream:
 * OpenAI-compatible targets get `logprobs`/`top_logprobs` (chat) or `logprobs`
 * (completions), Gemini `responseLogprobs`/`logprobs`, streamed and not; the upstream's
 * entries reach the result and, chunk by chunk, the sink. Anthropic returns none: a
 * request for them is refused naming `logprobs` before anything is sent, and an alias
 * sends it only to the targets that return them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenLogprob } from '../../src/core/types';
import { Gateway } from '../../src/gateway';
import { FIXTURE_TEXT } from '../mocks/upstream/fixtures';
import { makeRequest } from '../mocks/upstream/requests';
import { type MockUpstream, startMockUpstream } from '../mocks/upstream/server';

let mock: MockUpstream;
let gw: Gateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  const t = (name: string, provider: string, base: string, over: Record<string, unknown> = {}) => ({
    name,
    provider,
    model: `${name}-model`,
    baseUrl: base,
    apiKey: 'sk-test-0123456789',
    ...over,
  });
  gw = Gateway.create({
    targets: [
      t('oai-chat', 'openai', mock.baseUrl.openai),
      t('oai-chat-body', 'openai', mock.baseUrl.openai, { stream: false }),
      t('oai-cmpl', 'openai', mock.baseUrl.openai, { endpoint: 'completion' }),
      t('oai-cmpl-body', 'openai', mock.baseUrl.openai, { endpoint: 'completion', stream: false }),
      t('gem', 'gemini', mock.baseUrl.gemini),
      t('gem-body', 'gemini', mock.baseUrl.gemini, { stream: false }),
      t('claude', 'anthropic', mock.baseUrl.anthropic),
    ],
    aliases: [
      { name: 'claude-first', targets: ['claude', 'oai-chat'], policy: 'fallback' },
      { name: 'claude-only', targets: ['claude'] },
    ],
  });
});
afterAll(async () => {
  await gw?.close();
  await mock?.close();
});

/** A sink that keeps each chunk's text and entries. */
function sink() {
  const chunks: { text: string; logprobs?: readonly TokenLogprob[] | undefined }[] = [];
  return {
    chunks,
    onToken: (text: string, logprobs?: readonly TokenLogprob[]) => void chunks.push({ text, logprobs }),
  };
}
const lastBody = () => mock.requests.at(-1)!.body as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const TOKENS = ['The', ' market', ' is', ' up'];

describe('remote logprobs', () => {
  for (const model of ['oai-chat', 'oai-chat-body', 'oai-cmpl', 'oai-cmpl-body', 'gem', 'gem-body']) {
    it(`${model}: asks the upstream for them and returns its entries`, async () => {
      const s = sink();
      const r = await gw.complete(makeRequest({ model, logprobs: 2 }), s, new AbortController().signal);
      expect(r.text).toBe(FIXTURE_TEXT);
      expect(r.logprobs!.map((e) => e.token)).toEqual(TOKENS);
      expect(r.logprobs![3]).toEqual({
        token: ' up',
        logprob: -0.69,
        top: [
          { token: ' up', logprob: -0.69 },
          { token: ' down', logprob: -0.85 },
        ],
      });
      const body = lastBody();
      if (model.startsWith('oai-chat')) expect([body.logprobs, body.top_logprobs]).toEqual([true, 2]);
      else if (model.startsWith('oai-cmpl')) expect(body.logprobs).toBe(2);
      else expect(body.generationConfig).toMatchObject({ responseLogprobs: true, logprobs: 2 });
      // Each streamed chunk carries its own tokens' entries.
      const streamed = s.chunks.flatMap((c) => c.logprobs ?? []).map((e) => e.token);
      expect(streamed).toEqual(TOKENS);
      if (!model.endsWith('-body'))
        for (const c of s.chunks) expect(c.logprobs?.map((e) => e.token).join('')).toBe(c.text);
    });
  }

  it('without logprobs nothing is asked for and none come back', async () => {
    const r = await gw.complete(makeRequest({ model: 'oai-chat' }), null, new AbortController().signal);
    expect(r.logprobs).toBeUndefined();
    expect(lastBody().logprobs).toBeUndefined();
    expect(lastBody().top_logprobs).toBeUndefined();
    const g = await gw.complete(makeRequest({ model: 'gem' }), null, new AbortController().signal);
    expect(g.logprobs).toBeUndefined();
    expect(lastBody().generationConfig.responseLogprobs).toBeUndefined();
  });

  it('top_logprobs 0 asks Gemini for the chosen token only', async () => {
    const r = await gw.complete(
      makeRequest({ model: 'gem', logprobs: 0 }),
      null,
      new AbortController().signal,
    );
    expect(r.logprobs).toHaveLength(4);
    expect(lastBody().generationConfig.responseLogprobs).toBe(true);
    expect(lastBody().generationConfig.logprobs).toBeUndefined();
  });

  it('anthropic returns none: refused naming logprobs, nothing sent; an alias uses only the targets that do', async () => {
    const before = mock.requests.length;
    for (const model of ['claude', 'claude-only'])
      await expect(
        gw.complete(makeRequest({ model, logprobs: 1 }), null, new AbortController().signal),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'logprobs' });
    expect(mock.requests.length).toBe(before);
    expect(gw.supportsLogprobs('claude')).toBe(false);
    expect(gw.supportsLogprobs('claude-first')).toBe(true);
    const r = await gw.complete(
      makeRequest({ model: 'claude-first', logprobs: 1 }),
      null,
      new AbortController().signal,
    );
    expect(r.route.provider).toBe('openai');
    expect(r.logprobs).toHaveLength(4);
    expect(mock.requests.slice(before).map((q) => q.flavor)).toEqual(['openai-chat-logprobs']);
    // Without logprobs the alias keeps its order: anthropic first.
    const plain = await gw.complete(
      makeRequest({ model: 'claude-first' }),
      null,
      new AbortController().signal,
    );
    expect(plain.route.provider).toBe('anthropic');
  });
});
