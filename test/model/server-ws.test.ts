import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Colo } from '../../src/app/colo';
import { encodeCancel, encodePing, encodeRequest } from '../../src/protocol';
import { startTestColo } from '../helpers/engine';
import { WsClient } from '../helpers/ws';
import { waitFor } from '../helpers/wait';

let colo: Colo;
beforeAll(async () => {
  colo = await startTestColo(
    { sequences: 8, maxQueue: 64, server: { maxFrameBytes: 4096 } },
    { faultInjection: true },
  );
});
afterAll(async () => {
  await colo?.shutdown('test end');
});

const req = (id: string, over: Record<string, unknown> = {}) =>
  encodeRequest({
    id,
    model: 'stories260K',
    prompt: 'Once upon a time',
    sampling: { maxTokens: 24, temperature: 0 },
    stream: true,
    ...over,
  });

async function errorCode(c: WsClient, id = ''): Promise<string> {
  const m = await c.next((x) => x.kind === 'error' && x.id === id);
  return m.kind === 'error' ? m.error.code : 'none';
}

describe('WebSocket /v1/ws with FlatBuffers', () => {
  it('streams token chunks in order, then a Result with usage, route and timings', async () => {
    const c = await WsClient.connect(colo.port);
    c.send(req('r1'));
    const fin = await c.final('r1');
    expect(fin.kind).toBe('result');
    if (fin.kind !== 'result') return;
    const chunks = c.messages.filter((m) => m.kind === 'token');
    expect(chunks.map((m) => (m.kind === 'token' ? m.index : -1))).toEqual(chunks.map((_, i) => i));
    expect(c.tokens('r1').join('')).toBe(fin.result.text);
    expect(fin.result.usage.completionTokens).toBe(24);
    expect(fin.result.route).toMatchObject({ kind: 'local', model: 'stories260K', cached: false });
    expect(fin.result.timings.totalUs).toBeGreaterThan(0);
    await c.close();
  });

  it('64 concurrent streams on one connection each get their own tokens under their own id', async () => {
    const c = await WsClient.connect(colo.port);
    const prompts = ['Once upon a time', 'The dog', 'Lily went'];
    const ids = Array.from({ length: 64 }, (_, i) => `m${i}`);
    ids.forEach((id, i) => c.send(req(id, { prompt: prompts[i % 3] })));
    const finals = await Promise.all(ids.map((id) => c.final(id)));
    const texts = new Map<string, string>();
    finals.forEach((f, i) => {
      expect(f.kind).toBe('result');
      if (f.kind !== 'result') return;
      expect(c.tokens(ids[i]!).join('')).toBe(f.result.text);
      const key = prompts[i % 3]!;
      if (!texts.has(key)) texts.set(key, f.result.text);
      // Greedy decoding: the same prompt gives the same text, whichever sequence it ran on.
      expect(f.result.text).toBe(texts.get(key));
    });
    expect(new Set(texts.values()).size).toBe(3);
    await c.close();
  });

  it('answers ping with pong', async () => {
    const c = await WsClient.connect(colo.port);
    c.send(encodePing(42n));
    const m = await c.next((x) => x.kind === 'pong');
    expect(m.kind === 'pong' && m.nonce).toBe(42n);
    await c.close();
  });

  it('cancel ends a stream with CANCELLED and the connection keeps serving', async () => {
    const c = await WsClient.connect(colo.port);
    c.send(req('long', { sampling: { maxTokens: 480, temperature: 0 } }));
    await c.next((m) => m.kind === 'token' && m.id === 'long');
    c.send(encodeCancel('long'));
    expect(await errorCode(c, 'long')).toBe('CANCELLED');
    c.send(req('next'));
    expect((await c.final('next')).kind).toBe('result');
    await c.close();
  });

  it('bad frames get Error frames with stable codes and the connection stays open', async () => {
    const c = await WsClient.connect(colo.port);
    c.send(new Uint8Array([1, 2, 3]));
    expect(await errorCode(c)).toBe('MALFORMED_FRAME');
    const good = req('x');
    c.send(good.slice(0, good.length - 9));
    expect(await errorCode(c)).toBe('MALFORMED_FRAME');
    const wrongId = req('x').slice();
    wrongId.set([0x58, 0x58, 0x58, 0x58], 4);
    c.messages.length = 0;
    c.send(wrongId);
    expect(await errorCode(c)).toBe('MALFORMED_FRAME');
    c.messages.length = 0;
    c.send('{"text":"frame"}');
    expect(await errorCode(c)).toBe('UNSUPPORTED_FRAME');
    c.send(req('nomodel', { model: 'no-such-model' }));
    expect(await errorCode(c, 'nomodel')).toBe('MODEL_NOT_FOUND');
    c.send(req('badtemp', { sampling: { temperature: 9 } }));
    const bad = await c.next((m) => m.kind === 'error' && m.id === 'badtemp');
    expect(bad.kind === 'error' && bad.error.code).toBe('INVALID_ARGUMENT');
    expect(bad.kind === 'error' && bad.error.field).toContain('temperature');
    c.send(req('dup', { sampling: { maxTokens: 300, temperature: 0 } }));
    c.send(req('dup'));
    expect(await errorCode(c, 'dup')).toBe('DUPLICATE_ID');
    expect(c.closed).toBe(false);
    c.send(req('still-ok'));
    expect((await c.final('still-ok')).kind).toBe('result');
    await c.close();
    // Over server.maxFrameBytes: an Error frame naming the limit, then a 1009 close (RFC 6455 §7.4.1).
    const big = await WsClient.connect(colo.port);
    const closed = new Promise<number>((r) => big.ws.once('close', (code: number) => r(code)));
    big.send(req('big', { prompt: 'x'.repeat(5000) }));
    expect(await errorCode(big)).toBe('FRAME_TOO_LARGE');
    expect(await closed).toBe(1009);
  });

  it('200 clients disconnecting mid-stream release their sequences; the pool still serves at full size', async () => {
    const pool = colo.engine.get('stories260K');
    for (let round = 0; round < 25; round++) {
      const clients = await Promise.all(Array.from({ length: 8 }, () => WsClient.connect(colo.port)));
      clients.forEach((c, i) => c.send(req(`d${i}`, { sampling: { maxTokens: 400, temperature: 0 } })));
      await Promise.all(clients.map((c, i) => c.next((m) => m.kind === 'token' && m.id === `d${i}`)));
      clients.forEach((c) => c.ws.terminate());
    }
    await waitFor(() => pool.inFlight === 0, 'the pool to release every sequence');
    expect(pool.inFlight).toBe(0);
    expect((await pool.workerInfo()).sequencesFree).toBe(8);
    const c = await WsClient.connect(colo.port);
    c.send(req('after'));
    expect((await c.final('after')).kind).toBe('result');
    await c.close();
  });

  it('fuzzed frames never crash the process or close the connection', async () => {
    const c = await WsClient.connect(colo.port);
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const base = req('fz');
    for (let i = 0; i < 2000; i++) {
      const f = base.slice();
      const flips = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < flips; k++) f[Math.floor(rnd() * f.length)] = Math.floor(rnd() * 256);
      c.send(f);
    }
    c.send(encodePing(7n));
    await c.next((m) => m.kind === 'pong' && m.nonce === 7n, 60_000);
    expect(c.closed).toBe(false);
    await c.close();
  });

  it('the Python SDK (flatc Python output, python3 -m colo_client) streams a completion from the real server', async () => {
    const pyPath = fileURLToPath(new URL('../../native/clients/python', import.meta.url));
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(
        '/usr/bin/python3',
        [
          '-B',
          '-m',
          'colo_client',
          '--url',
          `ws://127.0.0.1:${colo.port}/v1/ws`,
          '--max-tokens',
          '16',
          '--temperature',
          '0',
          'Once upon a time',
        ],
        { env: { ...process.env, PYTHONPATH: pyPath } },
      );
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d));
      p.stderr.on('data', (d: Buffer) => (stderr += d));
      p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const tokens = lines.filter((l) => l.type === 'token' || 'index' in l);
    const result = lines.find((l) => l.type === 'result' || 'finish_reason' in l) as
      { text: string; usage: { completion_tokens: number } } | undefined;
    expect(tokens.length).toBeGreaterThan(0);
    expect(result?.usage.completion_tokens).toBe(16);
  });

  it('a worker crash mid-stream gives every stream it held an Error frame (WORKER_CRASHED), then the connection serves again', async () => {
    const c = await WsClient.connect(colo.port);
    c.send(req('held1', { sampling: { maxTokens: 480, temperature: 0 } }));
    c.send(req('held2', { sampling: { maxTokens: 480, temperature: 0 }, prompt: 'The dog' }));
    await c.next((m) => m.kind === 'token' && m.id === 'held1');
    await colo.engine.get('stories260K').injectCrash(0);
    for (const id of ['held1', 'held2']) {
      const fin = await c.final(id);
      expect(fin.kind === 'error' && fin.error.code).toBe('WORKER_CRASHED');
    }
    c.send(req('after-crash'));
    expect((await c.final('after-crash')).kind).toBe('result');
    expect(c.closed).toBe(false);
    await c.close();
  });
});
