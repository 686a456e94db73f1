/**
 * Issue 10 item 13: an upstream that sends one huge SSE line without a newline (8 MB)
 * fails the attempt with a clear upstream-protocol error at the configured cap — it
 * does not buffer the whole line or wait for the stall timeout — and the gateway fails
 * over to the next target. A mock upstream on port 0.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ColoError } from '../../src/core/errors';
import { Gateway } from '../../src/gateway';
import { makeRequest } from '../mocks/upstream/requests';

const LINE_BYTES = 8 << 20;
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    // One `data:` line of 8 MB, written in 64 KiB pieces, never terminated.
    const piece = Buffer.alloc(64 << 10, 'x');
    res.write('data: {"choices":[{"delta":{"content":"');
    let left = LINE_BYTES;
    const pump = (): void => {
      while (left > 0 && !res.destroyed) {
        left -= piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
    };
    res.on('close', () => (left = 0));
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('gateway SSE line cap', () => {
  it('fails the attempt on an 8 MB line with an upstream-protocol error at the cap', async () => {
    const g = Gateway.create({
      targets: [
        // Stall timeout far away: the failure must come from the cap, not from silence.
        {
          name: 'huge',
          provider: 'openai',
          baseUrl: base,
          model: 'm',
          maxSseLineChars: 256 << 10,
          stallTimeoutMs: 60_000,
        },
      ],
      retry: { maxAttemptsPerTarget: 1 },
    });
    try {
      const err = await g.complete(makeRequest({ model: 'huge' }), null, new AbortController().signal).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ColoError);
      expect((err as ColoError).code).toBe('UPSTREAM_ERROR');
      expect((err as ColoError).message).toMatch(
        /upstream huge broke the SSE protocol: SSE line longer than 262144/,
      );
    } finally {
      await g.close();
    }
  });

  it('fails over to the next target when one breaks the protocol', async () => {
    const g = Gateway.create({
      targets: [
        { name: 'huge', provider: 'openai', baseUrl: base, model: 'm', maxSseLineChars: 256 << 10 },
        { name: 'ok', provider: 'dummy', model: 'echo' },
      ],
      aliases: [{ name: 'x', targets: ['huge', 'ok'] }],
    });
    try {
      const r = await g.complete(
        makeRequest({ model: 'x', prompt: 'fine' }),
        null,
        new AbortController().signal,
      );
      expect(r.text).toBe('fine');
      expect(r.route.model).toBe('echo');
    } finally {
      await g.close();
    }
  });
});
