/**
 * The server package over a fake core (no model): one validator for HTTP and WebSocket
 * (same code and field for the same invalid request), one way to end a stream, drain,
 * body reading with a slow authenticator, pipelined requests.
 */
import { connect } from 'node:net';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeRequest, type RequestInput } from '../../src/protocol';
import { startFakeCore, type FakeCore } from '../helpers/fake-core';
import { WsClient } from '../helpers/ws';

let core: FakeCore | undefined;
afterEach(async () => {
  await core?.close();
  core = undefined;
});

async function post(port: number, path: string, body: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

/** One invalid request, as JSON for /v1/completions and as a FlatBuffers request. */
interface Case {
  name: string;
  http: Record<string, unknown>;
  ws: RequestInput;
  code: string;
  field?: string;
}

const CASES: Case[] = [
  {
    name: 'unknown model',
    http: { model: 'nope', prompt: 'x' },
    ws: { id: 'a', model: 'nope', prompt: 'x' },
    code: 'MODEL_NOT_FOUND',
    field: 'model',
  },
  {
    name: 'empty prompt',
    http: { model: 'echo', prompt: '' },
    ws: { id: 'a', model: 'echo', prompt: '' },
    code: 'INVALID_ARGUMENT',
    field: 'prompt',
  },
  {
    name: 'max_tokens 0',
    http: { model: 'echo', prompt: 'x', max_tokens: 0 },
    ws: { id: 'a', model: 'echo', prompt: 'x', sampling: { maxTokens: 0 } },
    code: 'INVALID_ARGUMENT',
    field: 'max_tokens',
  },
  {
    name: 'max_tokens over the limit',
    http: { model: 'echo', prompt: 'x', max_tokens: 513 },
    ws: { id: 'a', model: 'echo', prompt: 'x', sampling: { maxTokens: 513 } },
    code: 'INVALID_ARGUMENT',
    field: 'max_tokens',
  },
  {
    name: 'temperature 3',
    http: { model: 'echo', prompt: 'x', temperature: 3 },
    ws: { id: 'a', model: 'echo', prompt: 'x', sampling: { temperature: 3 } },
    code: 'INVALID_ARGUMENT',
    field: 'temperature',
  },
  {
    name: 'top_p 0',
    http: { model: 'echo', prompt: 'x', top_p: 0 },
    ws: { id: 'a', model: 'echo', prompt: 'x', sampling: { topP: 0 } },
    code: 'INVALID_ARGUMENT',
    field: 'top_p',
  },
  {
    name: 'empty stop sequence',
    http: { model: 'echo', prompt: 'x', stop: ['ok', ''] },
    ws: { id: 'a', model: 'echo', prompt: 'x', sampling: { stop: ['ok', ''] } },
    code: 'INVALID_ARGUMENT',
    field: 'stop',
  },
  {
    name: '17 stop sequences',
    http: { model: 'echo', prompt: 'x', stop: Array.from({ length: 17 }, (_, i) => `s${i}`) },
    ws: {
      id: 'a',
      model: 'echo',
      prompt: 'x',
      sampling: { stop: Array.from({ length: 17 }, (_, i) => `s${i}`) },
    },
    code: 'INVALID_ARGUMENT',
    field: 'stop',
  },
  {
    name: 'priority 256',
    http: { model: 'echo', prompt: 'x', priority: 256 },
    ws: { id: 'a', model: 'echo', prompt: 'x' },
    code: 'INVALID_ARGUMENT',
    field: 'priority',
  },
];

describe('one validator: the same invalid request gets the same code and field over HTTP and WebSocket', () => {
  it.each(CASES)('$name', async (c) => {
    core = await startFakeCore({ server: { maxTokensLimit: 512 } });
    const h = await post(core.port, '/v1/completions', c.http);
    const httpErr = (JSON.parse(h.text) as { error: { code: string; param: string | null } }).error;
    expect(httpErr.code).toBe(c.code);
    expect(httpErr.param).toBe(c.field ?? null);
    if (c.name === 'priority 256') return; // the FlatBuffers field is a ubyte: 256 cannot be sent
    const ws = await WsClient.connect(core.port);
    ws.send(encodeRequest(c.ws));
    const m = await ws.final('a');
    expect(m.kind).toBe('error');
    if (m.kind === 'error') {
      expect(m.error.code).toBe(c.code);
      expect(m.error.field ?? null).toBe(c.field ?? null);
    }
    await ws.close();
  });

  it('invalid UTF-8 in the prompt: INVALID_ARGUMENT naming prompt on both', async () => {
    core = await startFakeCore();
    const bad = Buffer.concat([
      Buffer.from('{"model":"echo","prompt":"a'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]);
    const h = await post(core.port, '/v1/completions', new Uint8Array(bad));
    expect(JSON.parse(h.text)).toMatchObject({ error: { code: 'INVALID_ARGUMENT', param: 'prompt' } });
    // A FlatBuffers string with the same bytes: build a valid frame, then patch the bytes in.
    const frame = encodeRequest({ id: 'u', model: 'echo', prompt: 'aXY' });
    const at = Buffer.from(frame).indexOf('aXY');
    frame[at + 1] = 0xc3;
    frame[at + 2] = 0x28;
    const ws = await WsClient.connect(core.port);
    ws.send(frame);
    const m = await ws.next((x) => x.kind === 'error');
    expect(m).toMatchObject({ kind: 'error', error: { code: 'INVALID_ARGUMENT', field: 'prompt' } });
    await ws.close();
  });
});

describe('streams end one way: a result, or an error, never silence', () => {
  it('SSE: tokens, the final chunk, then [DONE]', async () => {
    core = await startFakeCore();
    const r = await post(core.port, '/v1/completions', {
      model: 'echo',
      prompt: 'one two three',
      stream: true,
    });
    expect(r.status).toBe(200);
    const events = r.text.trim().split('\n\n');
    expect(events.at(-1)).toBe('data: [DONE]');
    const texts = events
      .slice(0, -2)
      .map((e) => (JSON.parse(e.slice(6)) as { choices: { text: string }[] }).choices[0]!.text);
    expect(texts.join('')).toBe('one two three');
  });

  it('shutdown mid-stream: SSE gets an error event (SHUTTING_DOWN) and no [DONE]; WS gets an Error frame with the tokens so far', async () => {
    core = await startFakeCore();
    const c = core;
    const sse = post(c.port, '/v1/completions', { model: 'hold', prompt: 'x', stream: true });
    const ws = await WsClient.connect(c.port);
    ws.send(encodeRequest({ id: 'h1', model: 'hold', prompt: 'x' }));
    await Promise.all([ws.next((m) => m.kind === 'token'), c.whenStarted('h1')]);
    await new Promise<void>((r) =>
      c.started.size >= 2 ? r() : void c.whenStarted([...c.started.keys()][0]!).then(() => r()),
    );
    c.server.stopAccepting();
    // Told it is draining (an Error frame with no id), and new work is refused.
    expect(await ws.next((m) => m.kind === 'error' && m.id === '')).toMatchObject({
      error: { code: 'SHUTTING_DOWN' },
    });
    const refused = await post(c.port, '/v1/completions', { model: 'echo', prompt: 'x' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    await c.server.closeAll(2000);
    const fin = await ws.final('h1');
    expect(fin).toMatchObject({
      kind: 'error',
      error: { code: 'SHUTTING_DOWN', usage: { completionTokens: 1 } },
    });
    const body = (await sse).text;
    expect(body).toContain('"code":"SHUTTING_DOWN"');
    expect(body).not.toContain('[DONE]');
    core = undefined;
  });
});

describe('HTTP edges', () => {
  it('a slow authenticator does not lose the body (reader attached before any await)', async () => {
    let letIn: () => void = () => undefined;
    const gate = new Promise<void>((r) => (letIn = r));
    core = await startFakeCore({ authenticate: async () => (await gate, undefined) });
    const r = post(core.port, '/v1/completions', { model: 'echo', prompt: 'body survives' });
    // Let the body arrive while authentication is still pending, then let it pass.
    await new Promise((res) => setTimeout(res, 50));
    letIn();
    const out = await r;
    expect(out.status).toBe(200);
    expect(JSON.parse(out.text)).toMatchObject({ choices: [{ text: 'body survives' }] });
  });

  // uWebSockets.js closes a connection on which a request arrives while an earlier
  // response is still pending (uNetworking/uWebSockets.js#277, #1301: wontfix), and it
  // does so inside its parser, before JS can write anything. What Colo guarantees: the
  // client sees the connection close (never a hang), and the server keeps serving.
  it('pipelined POSTs behind an async answer: the connection closes, never hangs, and the server serves on', async () => {
    core = await startFakeCore();
    const body = JSON.stringify({ model: 'echo', prompt: 'hi' });
    const one = `POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
    const sock = connect(core.port, '127.0.0.1');
    let got = '';
    const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
    sock.on('data', (d) => (got += d.toString()));
    sock.on('error', () => undefined);
    sock.write(one + one);
    await closed;
    // Either every request was answered before the close, or none: a partial answer would be a drop.
    const answered = (got.match(/HTTP\/1\.1 200/g) ?? []).length;
    expect([0, 2]).toContain(answered);
    const again = await post(core.port, '/v1/completions', { model: 'echo', prompt: 'still here' });
    expect(again.status).toBe(200);
  });

  it('tells a client library which refusals to retry and when: the official openai SDK, default retries', async () => {
    core = await startFakeCore();
    const sdk = new OpenAI({ baseURL: `http://127.0.0.1:${core.port}/v1`, apiKey: 'x' });
    const refusal = async (code: string) => {
      const before = core!.started.size;
      const err = (await sdk.completions.create({ model: 'refuse', prompt: code, max_tokens: 4 }).then(
        () => undefined,
        (e: unknown) => e,
      )) as { status?: number; headers?: Headers } | undefined;
      return { status: err?.status, headers: err?.headers, runs: core!.started.size - before };
    };
    // The runner records each request by id; ids are per request, so runs count attempts.
    // A DEADLINE refusal is final for that request: one attempt, not three.
    const deadline = await refusal('DEADLINE');
    expect(deadline.status).toBe(504);
    expect(deadline.headers?.get('x-should-retry')).toBe('false');
    expect(deadline.runs).toBe(1);
    // OVERLOADED is retried after the exact wait the server names (not rounded up to 1 s).
    const overloaded = await refusal('OVERLOADED');
    expect(overloaded.status).toBe(503);
    expect(overloaded.headers?.get('x-should-retry')).toBe('true');
    expect(overloaded.headers?.get('retry-after-ms')).toBe('40');
    expect(overloaded.headers?.get('retry-after')).toBe('1');
    expect(overloaded.runs).toBe(3);
    // Nor is a 429 that waiting cannot fix (the SDK would retry any 429 by default).
    const quota = await refusal('QUOTA_EXCEEDED');
    expect(quota.status).toBe(429);
    expect(quota.headers?.get('x-should-retry')).toBe('false');
    expect(quota.runs).toBe(1);
  });

  it('503 OVERLOADED-class errors carry retry-after', async () => {
    core = await startFakeCore();
    core.server.stopAccepting();
    const r = await post(core.port, '/v1/chat/completions', {
      model: 'echo',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('1');
  });
});
