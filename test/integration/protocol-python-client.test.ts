/**
 * Cross-language check of the wire: the Python SDK (native/clients/python, flatc's
 * Python output, no shared code) through its CLI (`python3 -m colo_client`) against a
 * uWS server that speaks through src/protocol.
 * Python's frames must pass our verifier and decode to the request it meant; our
 * frames must decode in Python. Needs Debian's python3-flatbuffers and
 * python3-websockets (see native/clients/python/README.md).
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import uWS from 'uWebSockets.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ColoError } from '../../src/core/errors';
import { DEFAULT_CALL_LIMITS, validateCall } from '../../src/api/validate';
import type { CallInput } from '../../src/core/call';
import {
  decodeClientFrame,
  encodeAccepted,
  encodeError,
  encodePong,
  encodeResult,
  encodeTokenChunk,
  requestIdOf,
} from '../../src/protocol';

const PYTHON = process.env['COLO_TEST_PYTHON'] ?? '/usr/bin/python3';
const PY_PATH = fileURLToPath(new URL('../../native/clients/python', import.meta.url));
const hasDeps = spawnSync(PYTHON, ['-c', 'import flatbuffers, websockets'], { stdio: 'ignore' }).status === 0;
// Fail loudly rather than skip: `bash scripts/setup-system.sh` installs both packages.
if (!hasDeps) {
  throw new Error(
    `${PYTHON} lacks flatbuffers/websockets; run 'bash scripts/setup-system.sh' (apt-get install python3-flatbuffers python3-websockets)`,
  );
}

const received: CallInput[] = [];
let listenSocket: uWS.us_listen_socket | null = null;
let port = 0;

beforeAll(async () => {
  if (!hasDeps) return;
  const app = uWS.App().ws('/v1/ws', {
    message: (ws, message) => {
      const send = (b: Uint8Array) => ws.send(b, true);
      let msg;
      try {
        msg = decodeClientFrame(new Uint8Array(message), 1 << 16);
      } catch (e) {
        send(encodeError(requestIdOf(e) ?? '', e as ColoError));
        return;
      }
      if (msg.kind === 'ping') return void send(encodePong(msg.nonce, 42n));
      if (msg.kind !== 'request') return;
      const r = msg.input;
      received.push(r);
      try {
        // The real server's next step: the one validator.
        validateCall(r, 'ws', undefined, DEFAULT_CALL_LIMITS, {
          defaultModel: 'stories260K',
          kindOf: () => 'model',
          skillModel: () => '',
        });
      } catch (e) {
        return void send(encodeError(r.id, e as ColoError));
      }
      if (r.prompt === 'fail')
        return void send(encodeError(r.id, new ColoError('OVERLOADED', 'busy', { retryAfterMs: 250 })));
      send(encodeAccepted(r.id, 'local'));
      const tokens = [' Once', ' upon', ' a tîme'];
      if (r.stream) tokens.forEach((t, i) => send(encodeTokenChunk(r.id, i, t)));
      send(
        encodeResult({
          id: r.id,
          text: tokens.join(''),
          finishReason: 'length',
          usage: { promptTokens: 3, completionTokens: tokens.length },
          route: { kind: 'local', provider: 'local', model: r.model || 'stories260K', cached: false },
          timings: { queueUs: 5, ttftUs: 700, totalUs: 2100 },
        }),
      );
    },
  });
  port = await new Promise<number>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (s) => {
      if (!s) return reject(new Error('listen failed'));
      listenSocket = s;
      resolve(uWS.us_socket_local_port(s));
    }),
  );
});

afterAll(() => {
  if (listenSocket) uWS.us_listen_socket_close(listenSocket);
});

function runClient(
  args: string[],
): Promise<{ code: number | null; lines: Array<Record<string, unknown>>; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(
      PYTHON,
      ['-B', '-m', 'colo_client', '--url', `ws://127.0.0.1:${port}/v1/ws`, '--timeout', '10', ...args],
      { env: { ...process.env, PYTHONPATH: PY_PATH } },
    );
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) =>
      resolve({
        code,
        stderr: err,
        lines: out
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      }),
    );
  });
}

describe('Python SDK (python3 -m colo_client)', () => {
  it('streams tokens and prints the Result; its request decodes to what it asked for', async () => {
    const { code, lines, stderr } = await runClient([
      '--id',
      'py-7',
      '--model',
      'stories260K',
      '--max-tokens',
      '16',
      '--temperature',
      '0.7',
      '--top-p',
      '0.9',
      '--seed',
      '0',
      '--stop',
      'END',
      '--deadline-ms',
      '500',
      '--priority',
      '3',
      '--ping',
      'Once upon a time',
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(lines.map((l) => l['type'])).toEqual(['pong', 'accepted', 'token', 'token', 'token', 'result']);
    expect(lines[0]).toMatchObject({ server_time_ns: 42 });
    expect(lines.filter((l) => l['type'] === 'token').map((l) => l['text'])).toEqual([
      ' Once',
      ' upon',
      ' a tîme',
    ]);
    expect(lines.at(-1)).toEqual({
      type: 'result',
      id: 'py-7',
      text: ' Once upon a tîme',
      finish_reason: 'length',
      usage: { prompt_tokens: 3, completion_tokens: 3 },
      route: { kind: 'local', provider: 'local', model: 'stories260K', cached: false },
      timings: { queue_us: 5, ttft_us: 700, total_us: 2100 },
    });
    expect(received.at(-1)).toMatchObject({
      id: 'py-7',
      model: 'stories260K',
      prompt: 'Once upon a time',
      messages: undefined,
      max_tokens: 16,
      temperature: 0.7,
      top_p: 0.9,
      seed: 0,
      stop: ['END'],
      deadline_ms: 500,
      priority: 3,
      stream: true,
      skill: undefined,
    });
  });

  it('--no-stream gets only the Result', async () => {
    const { code, lines } = await runClient(['--id', 'py-8', '--no-stream', 'hello']);
    expect(code).toBe(0);
    expect(lines.map((l) => l['type'])).toEqual(['accepted', 'result']);
    expect(received.at(-1)).toMatchObject({ id: 'py-8', stream: false });
  });

  it('exits 1 on an Error frame and prints its code', async () => {
    const { code, lines } = await runClient(['--id', 'py-9', 'fail']);
    expect(code).toBe(1);
    expect(lines).toEqual([
      { type: 'error', id: 'py-9', code: 'OVERLOADED', message: 'busy', retry_after_ms: 250 },
    ]);
  });

  it('an invalid value from Python comes back as INVALID_ARGUMENT naming the field', async () => {
    const { code, lines } = await runClient(['--id', 'py-10', '--temperature', '3', 'x']);
    expect(code).toBe(1);
    expect(lines[0]).toMatchObject({
      type: 'error',
      id: 'py-10',
      code: 'INVALID_ARGUMENT',
      field: 'temperature',
    });
  });
});
