/**
 * One conformance suite, run over every HTTP provider adapter against the mock
 * upstream: the same cases (streamed text, streamed usage, non-streaming answers,
 * request translation, credentials, error mapping, cut streams) for each.
 */
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ColoError } from '../../src/core/errors';
import { Cancel } from '../../src/core/cancel';
import { DEFAULT_SAMPLING } from '../../src/core/types';
import { UpstreamFailure } from '../../src/gateway/providers/failure';
import { BUILTIN_PROVIDERS } from '../../src/gateway/providers/registry';
import type {
  Provider,
  ProviderChunk,
  ProviderTarget,
  UnifiedRequest,
} from '../../src/gateway/providers/types';
import { FIXTURE_TEXT, FIXTURE_USAGE } from '../mocks/upstream/fixtures';
import { type MockUpstream, refusedUrl, startMockUpstream } from '../mocks/upstream/server';

const SECRET = 'sk-conformance-SECRET-0123456789';

interface Case {
  label: string;
  provider: string;
  endpoint: 'chat' | 'completion';
  base: (m: MockUpstream) => string;
  /** Where the key travels. */
  authHeader: string;
  authValue: string;
  /** Reads model / token limit / user text back from the recorded body. */
  model: (body: Record<string, unknown>, path: string) => string;
  maxTokens: (body: Record<string, unknown>) => unknown;
  hasUserText: (body: unknown) => boolean;
}

const CASES: Case[] = [
  {
    label: 'openai chat',
    provider: 'openai',
    endpoint: 'chat',
    base: (m) => m.baseUrl.openai,
    authHeader: 'authorization',
    authValue: `Bearer ${SECRET}`,
    model: (b) => b.model as string,
    maxTokens: (b) => b.max_tokens,
    hasUserText: (b) => JSON.stringify(b).includes('"role":"user","content":"Is the market up?"'),
  },
  {
    label: 'openai completion',
    provider: 'openai',
    endpoint: 'completion',
    base: (m) => m.baseUrl.openai,
    authHeader: 'authorization',
    authValue: `Bearer ${SECRET}`,
    model: (b) => b.model as string,
    maxTokens: (b) => b.max_tokens,
    hasUserText: (b) =>
      typeof (b as { prompt?: unknown }).prompt === 'string' &&
      JSON.stringify(b).includes('Is the market up?'),
  },
  {
    label: 'anthropic',
    provider: 'anthropic',
    endpoint: 'chat',
    base: (m) => m.baseUrl.anthropic,
    authHeader: 'x-api-key',
    authValue: SECRET,
    model: (b) => b.model as string,
    maxTokens: (b) => b.max_tokens,
    hasUserText: (b) =>
      JSON.stringify(b).includes('"role":"user","content":"Is the market up?"') &&
      (b as { system?: string }).system === 'Be terse.',
  },
  {
    label: 'gemini',
    provider: 'gemini',
    endpoint: 'chat',
    base: (m) => m.baseUrl.gemini,
    authHeader: 'x-goog-api-key',
    authValue: SECRET,
    model: (_b, path) => decodeURIComponent(path.split('/models/')[1]!.split(':')[0]!),
    maxTokens: (b) =>
      (b as { generationConfig: { maxOutputTokens: number } }).generationConfig.maxOutputTokens,
    hasUserText: (b) =>
      JSON.stringify(b).includes('{"role":"user","parts":[{"text":"Is the market up?"}]}') &&
      JSON.stringify(b).includes('"systemInstruction":{"parts":[{"text":"Be terse."}]}'),
  },
];

const REQ: UnifiedRequest = {
  messages: [
    { role: 'system', content: 'Be terse.' },
    { role: 'user', content: 'Is the market up?' },
  ],
  sampling: { ...DEFAULT_SAMPLING, maxTokens: 42 },
};

interface Collected {
  chunks: ProviderChunk[];
  text: string;
  usage: { promptTokens?: number | undefined; completionTokens?: number | undefined };
  finish: string | undefined;
  error: ColoError | undefined;
}

let mock: MockUpstream;
const pools: Pool[] = [];
beforeAll(async () => {
  mock = await startMockUpstream();
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.destroy()));
  await mock.close();
});

function providerOf(name: string): Provider {
  return BUILTIN_PROVIDERS.find((p) => p.name === name)!;
}

async function run(
  c: Case,
  opts: { stream?: boolean; fault?: string; baseUrl?: string } = {},
): Promise<Collected> {
  const baseUrl = opts.baseUrl ?? c.base(mock);
  const pool = new Pool(new URL(baseUrl).origin, { connections: 4 });
  pools.push(pool);
  const target: ProviderTarget = {
    name: `${c.label}-target`,
    baseUrl,
    model: 'mock-model-1',
    apiKey: SECRET,
    headers: opts.fault ? { 'x-mock-fault': opts.fault } : {},
    endpoint: c.endpoint,
    stream: opts.stream ?? true,
    streamUsage: true,
  };
  const out: Collected = { chunks: [], text: '', usage: {}, finish: undefined, error: undefined };
  try {
    for await (const ch of providerOf(c.provider).call(
      { target, http: pool, signal: new AbortController().signal },
      REQ,
    )) {
      out.chunks.push(ch);
      if (ch.kind === 'text') out.text += ch.text;
      if (ch.kind === 'usage') {
        if (ch.promptTokens !== undefined) out.usage.promptTokens = ch.promptTokens;
        if (ch.completionTokens !== undefined) out.usage.completionTokens = ch.completionTokens;
      }
      if (ch.kind === 'finish') out.finish = ch.reason;
    }
  } catch (err) {
    if (!(err instanceof ColoError)) throw err;
    out.error = err;
  }
  return out;
}

describe.each(CASES)('provider conformance: $label', (c) => {
  it('streams the fixture text in order, with usage and a clean finish', async () => {
    const r = await run(c);
    expect(r.error).toBeUndefined();
    expect(r.chunks[0]).toEqual({ kind: 'open' });
    expect(r.text).toBe(FIXTURE_TEXT);
    expect(r.chunks.filter((x) => x.kind === 'text').length).toBeGreaterThan(1);
    expect(r.usage).toEqual(FIXTURE_USAGE);
    expect(r.finish).toBe('stop');
  });

  it('parses the stream the same when bytes arrive in tiny fragments', async () => {
    const r = await run(c, { fault: 'fragment=3' });
    expect(r.error).toBeUndefined();
    expect(r.text).toBe(FIXTURE_TEXT);
    expect(r.usage).toEqual(FIXTURE_USAGE);
    expect(r.finish).toBe('stop');
  });

  it('answers non-streaming requests with the same text, usage and finish', async () => {
    const r = await run(c, { stream: false });
    expect(r.error).toBeUndefined();
    expect(r.text).toBe(FIXTURE_TEXT);
    expect(r.usage).toEqual(FIXTURE_USAGE);
    expect(r.finish).toBe('stop');
  });

  it('translates the request: model, token limit, messages and credentials in the right header', async () => {
    const before = mock.requests.length;
    await run(c);
    const rec = mock.requests[before]!;
    const body = rec.body as Record<string, unknown>;
    expect(c.model(body, rec.path)).toBe('mock-model-1');
    expect(c.maxTokens(body)).toBe(42);
    expect(c.hasUserText(body)).toBe(true);
    expect(rec.headers[c.authHeader]).toBe(c.authValue);
    expect(rec.path).not.toContain(SECRET);
  });

  it('reports a stream cut without its final chunk as unfinished (no finish chunk)', async () => {
    const r = await run(c, { fault: 'cut=2' });
    expect(r.error).toBeUndefined();
    expect(r.finish).toBeUndefined();
    expect(FIXTURE_TEXT.startsWith(r.text)).toBe(true);
    expect(r.text.length).toBeLessThan(FIXTURE_TEXT.length);
  });

  it('maps malformed SSE data and invalid JSON bodies to non-transient UPSTREAM_ERROR', async () => {
    const sse = await run(c, { fault: 'malformed-sse' });
    expect(sse.error?.code).toBe('UPSTREAM_ERROR');
    expect((sse.error as UpstreamFailure).transient).toBe(false);
    const json = await run(c, { fault: 'invalid-json', stream: false });
    expect(json.error?.code).toBe('UPSTREAM_ERROR');
    expect((json.error as UpstreamFailure).transient).toBe(false);
  });

  describe.each([true, false])('failures, stream %s', (stream) => {
    it.each([
      ['500', 'UPSTREAM_ERROR', true],
      ['502', 'UPSTREAM_ERROR', true],
      ['503', 'UPSTREAM_UNAVAILABLE', true],
      ['504', 'UPSTREAM_TIMEOUT', true],
      ['400', 'UPSTREAM_ERROR', false],
      ['429', 'RATE_LIMITED', true],
    ] as const)('maps HTTP %s to %s (transient=%s)', async (status, code, transient) => {
      const r = await run(c, { fault: status, stream });
      expect(r.error).toBeInstanceOf(UpstreamFailure);
      expect(r.error!.code).toBe(code);
      expect((r.error as UpstreamFailure).transient).toBe(transient);
      expect((r.error as UpstreamFailure).upstreamStatus).toBe(Number(status));
      expect(r.text).toBe('');
    });

    it('reads retry-after on a 429, in seconds and as an HTTP-date', async () => {
      const secs = await run(c, { fault: '429;retry-after=2', stream });
      expect(secs.error?.code).toBe('RATE_LIMITED');
      expect(secs.error?.retryAfterMs).toBe(2000);
      const date = new Date(Date.now() + 60_000).toUTCString();
      const dated = await run(c, { fault: `429;retry-after=${date}`, stream });
      expect(dated.error?.retryAfterMs).toBeGreaterThan(50_000);
      expect(dated.error?.retryAfterMs).toBeLessThanOrEqual(60_000);
    });

    it("follows the upstream's x-should-retry: a 503 it says not to retry is not transient", async () => {
      const no = await run(c, { fault: '503;should-retry=false;retry-after=1', stream });
      expect(no.error?.code).toBe('UPSTREAM_UNAVAILABLE');
      expect((no.error as UpstreamFailure).transient).toBe(false);
      expect(no.error?.retryAfterMs).toBeUndefined();
      const quota = await run(c, { fault: '429;should-retry=false', stream });
      expect((quota.error as UpstreamFailure).transient).toBe(false);
    });

    it('keeps the API key out of errors even when the upstream echoes it back', async () => {
      const r = await run(c, { fault: '401;echo-auth', stream });
      expect(r.error?.code).toBe('UPSTREAM_ERROR');
      expect(r.error!.message).toContain('401');
      expect(r.error!.message).not.toContain(SECRET);
      expect(JSON.stringify(r.error!.toJSON())).not.toContain(SECRET);
      expect(String(r.error!.stack)).not.toContain(SECRET);
    });

    it('maps a connection dropped mid-body to UPSTREAM_UNAVAILABLE', async () => {
      const r = await run(c, { fault: 'drop=2', stream });
      expect(r.error?.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(r.finish).toBeUndefined();
      expect(r.text.length).toBeLessThan(FIXTURE_TEXT.length);
    });

    it('maps a refused connection to UPSTREAM_UNAVAILABLE', async () => {
      const base = (await refusedUrl()) + new URL(c.base(mock)).pathname;
      const r = await run(c, { baseUrl: base, stream });
      expect(r.error?.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(r.error!.message).not.toContain(SECRET);
    });

    it('a cancel while the upstream has not answered ends the call with the cancel, and the request is closed', async () => {
      const pool = new Pool(new URL(c.base(mock)).origin, { connections: 1 });
      pools.push(pool);
      const target: ProviderTarget = {
        name: `${c.label}-target`,
        baseUrl: c.base(mock),
        model: 'mock-model-1',
        apiKey: SECRET,
        headers: { 'x-mock-fault': 'stall-headers' },
        endpoint: c.endpoint,
        stream,
        streamUsage: true,
      };
      const cancel = new Cancel();
      const reason = new Error('caller went away');
      setTimeout(() => cancel.abort(reason), 30);
      const it = providerOf(c.provider)
        .call({ target, http: pool, signal: cancel }, REQ)
        [Symbol.asyncIterator]();
      await expect(it.next()).rejects.toBe(reason);
      // The one connection is free again: the next call on the pool is answered.
      const ok = providerOf(c.provider)
        .call({ target: { ...target, headers: {} }, http: pool, signal: new Cancel() }, REQ)
        [Symbol.asyncIterator]();
      expect((await ok.next()).value).toEqual({ kind: 'open' });
      while (!(await ok.next()).done);
    });
  });
});
