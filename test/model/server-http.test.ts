import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Colo } from '../../src/app/colo';
import { request, startTestColo } from '../helpers/engine';
import { sseReader } from '../helpers/wait';

interface CompletionChunk {
  choices?: { finish_reason?: string | null }[];
  usage?: { completion_tokens: number };
  error?: unknown;
}

let colo: Colo;
let client: OpenAI;
let base: string;
beforeAll(async () => {
  colo = await startTestColo({ sequences: 4 });
  base = `http://127.0.0.1:${colo.port}`;
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused-when-auth-is-off', maxRetries: 0 });
});
afterAll(async () => {
  await colo?.shutdown('test end');
});

describe('OpenAI-compatible HTTP API through the official openai SDK', () => {
  it('lists models, aliases included', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(expect.arrayContaining(['stories260K', 'tiny']));
  });

  it('returns a completion', async () => {
    const r = await client.completions.create({
      model: 'stories260K',
      prompt: 'Once upon a time',
      max_tokens: 16,
      temperature: 0,
    });
    expect(r.choices[0]!.text.length).toBeGreaterThan(5);
    expect(r.choices[0]!.finish_reason).toBe('length');
    expect(r.usage?.completion_tokens).toBe(16);
  });

  it('streams a completion whose chunks make the same text as the engine produces', async () => {
    const direct = await colo.engine.complete(
      request('d', { sampling: { ...request('d').sampling, maxTokens: 20 } }),
      null,
      new AbortController().signal,
    );
    const stream = await client.completions.create({
      model: 'tiny',
      prompt: 'Once upon a time',
      max_tokens: 20,
      temperature: 0,
      stream: true,
    });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe(direct.text);
    expect(finish).toBe('length');
  });

  it('streams a chat completion with usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'stories260K',
      messages: [{ role: 'user', content: 'Tell me a story' }],
      max_tokens: 12,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(usage?.completion_tokens).toBe(12);
  });

  it('returns a non-streamed chat completion', async () => {
    const r = await client.chat.completions.create({
      model: 'stories260K',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 8,
    });
    expect(r.choices[0]!.message.role).toBe('assistant');
    expect(r.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('maps an unknown model to 404 MODEL_NOT_FOUND and a bad parameter to 400 naming the field', async () => {
    const e1 = await client.completions.create({ model: 'nope', prompt: 'x' }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(OpenAI.NotFoundError);
    expect((e1 as InstanceType<typeof OpenAI.APIError>).code).toBe('MODEL_NOT_FOUND');
    const e2 = await client.completions
      .create({ model: 'stories260K', prompt: 'x', temperature: 5 })
      .catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(OpenAI.BadRequestError);
    expect((e2 as InstanceType<typeof OpenAI.APIError>).code).toBe('INVALID_ARGUMENT');
    expect((e2 as InstanceType<typeof OpenAI.APIError>).param).toBe('temperature');
  });

  it('rejects malformed JSON and oversize bodies with stable codes', async () => {
    const r1 = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      body: '{not json',
      headers: { 'content-type': 'application/json' },
    });
    expect(r1.status).toBe(400);
    expect(((await r1.json()) as { error: { code: string } }).error.code).toBe('INVALID_ARGUMENT');
    const r2 = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'stories260K', prompt: 'x'.repeat(2 << 20) }),
    });
    expect(r2.status).toBe(413);
    expect(((await r2.json()) as { error: { code: string } }).error.code).toBe('FRAME_TOO_LARGE');
    const r3 = await fetch(`${base}/nope`);
    expect(r3.status).toBe(404);
  });

  it('serves health, readiness and Prometheus metrics with per-stage latency', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/colo_ttft_seconds_bucket\{model="stories260K",route="local",le="0.001"\} \d+/);
    expect(text).toMatch(/colo_inter_token_seconds_count\{model="stories260K",route="local"\} \d+/);
    expect(text).toMatch(
      /colo_requests_total\{api="http",model="stories260K",route="local",provider="local",status="ok"\} \d+/,
    );
    expect(text).toMatch(/colo_errors_total\{code="MODEL_NOT_FOUND",api="http"\} 1/);
    expect(text).toContain('colo_queue_depth{model="stories260K"} 0');
  });
});

describe('graceful shutdown', () => {
  // Synchronised on events, never on sleeps (issue 15): the first streamed token proves
  // the server accepted the request before the shutdown starts.
  it('stops accepting, lets the in-flight request finish, then closes', async () => {
    const c = await startTestColo({ sequences: 2, server: { shutdownGraceMs: 60_000 } });
    const url = `http://127.0.0.1:${c.port}/v1/completions`;
    const r = await fetch(url, {
      method: 'POST',
      body: JSON.stringify({
        model: 'stories260K',
        prompt: 'Once',
        max_tokens: 200,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    expect(r.status).toBe(200);
    const sse = sseReader(r.body!);
    const first = await sse.next();
    expect(first).toBeDefined();
    const done = c.shutdown('test');
    const events = [first!, ...(await sse.rest())];
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as CompletionChunk);
    expect(chunks.some((ch) => ch.error)).toBe(false);
    expect(chunks.find((ch) => ch.choices?.[0]?.finish_reason)?.choices?.[0]?.finish_reason).toBe('length');
    expect(chunks.find((ch) => ch.usage)?.usage?.completion_tokens).toBe(200);
    await done;
    await expect(fetch(`http://127.0.0.1:${c.port}/healthz`)).rejects.toThrow();
  });

  // Issue 10 item 9 / issue 15: a request that arrives while the server drains gets 503
  // with retry-after (never a reset connection), and the in-flight one still finishes.
  it('answers a request that arrives during the drain with 503 and retry-after', async () => {
    const c = await startTestColo({
      sequences: 2,
      server: { shutdownGraceMs: 60_000 },
      extra: { gateway: { targets: [{ name: 'slow', provider: 'dummy', model: 'slow:300' }] } },
    });
    try {
      const base = `http://127.0.0.1:${c.port}`;
      // 'slow' streams one word per 300 ms: 8 words keep it in flight for ~2.4 s.
      const a = await fetch(`${base}/v1/completions`, {
        method: 'POST',
        body: JSON.stringify({
          model: 'slow',
          prompt: 'one two three four five six seven eight',
          stream: true,
        }),
      });
      const sse = sseReader(a.body!);
      expect(await sse.next()).toBeDefined();
      const done = c.shutdown('test');
      const b = await fetch(`${base}/v1/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'stories260K', prompt: 'Once', max_tokens: 4 }),
      });
      expect(b.status).toBe(503);
      expect(Number(b.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await b.json()) as { error: { code: string } }).error.code).toBe('SHUTTING_DOWN');
      expect((await sse.rest()).at(-1)).toBe('[DONE]');
      await done;
    } finally {
      await c.shutdown('test end');
    }
  });
});
