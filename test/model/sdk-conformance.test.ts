/**
 * SDK conformance: the C++ client (native/clients/cpp) and the Python client
 * (native/clients/python) against a real Colo on port 0 with the tiny real model and a
 * trained ONNX classifier. Each SDK runs its examples and its conformance program
 * (colo_check / examples/check.py: same scenarios, same JSON lines), and every scenario is
 * asserted the same way for both: streaming, a non-streamed result, cancel, a classifier
 * signal, bad model, deadline, ping, auth at upgrade (good, bad, missing key) and server
 * close. Greedy texts must equal what the TypeScript client gets for the same request.
 *
 * Needs cmake, g++, flatc + libflatbuffers-dev, python3-websockets, python3-flatbuffers
 * (bash scripts/setup-system.sh). The C++ build is incremental (native/build/cpp-client).
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startColo, type Colo } from '../../src/app/colo';
import { hashApiKey } from '../../src/auth';
import { trainClassifier } from '../../src/classifier';
import { parseConfig } from '../../src/config';
import { encodeRequest } from '../../src/protocol';
import { quietLog, SHARED_MODELS } from '../helpers/engine';
import { WsClient } from '../helpers/ws';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD = join(ROOT, 'native/build/cpp-client');
const PYTHON = process.env['COLO_TEST_PYTHON'] ?? '/usr/bin/python3';
const PY_PATH = join(ROOT, 'native/clients/python');
const DATA = resolve(SHARED_MODELS, '../data/twitter-financial-news-sentiment');
const PEPPER = 'sdk-test-pepper-0123456789';
const ADMIN_KEY = 'colo_admin_sdk_test_key_0123456789ab';
const PROMPT = 'Once upon a time';
const run = promisify(execFile);

if (spawnSync(PYTHON, ['-c', 'import flatbuffers, websockets'], { stdio: 'ignore' }).status !== 0) {
  throw new Error(`${PYTHON} lacks flatbuffers/websockets; run 'bash scripts/setup-system.sh'`);
}

interface Sdk {
  name: string;
  /** argv of the conformance program, before URL SCENARIO. */
  check: string[];
  stream: string[];
  classify: string[];
}
const SDKS: Sdk[] = [
  {
    name: 'C++',
    check: [join(BUILD, 'colo_check')],
    stream: [join(BUILD, 'colo_stream')],
    classify: [join(BUILD, 'colo_classify')],
  },
  {
    name: 'Python',
    check: [PYTHON, join(PY_PATH, 'examples/check.py')],
    stream: [PYTHON, join(PY_PATH, 'examples/stream.py')],
    classify: [PYTHON, join(PY_PATH, 'examples/classify.py')],
  },
];

type Line = Record<string, unknown>;
interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: Line[];
}

const env = (key?: string) => {
  const e: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: PY_PATH, PYTHONDONTWRITEBYTECODE: '1' };
  delete e['COLO_API_KEY'];
  if (key !== undefined) e['COLO_API_KEY'] = key;
  return e;
};

/** Runs a program to its end; `onLine` sees each stdout line as it arrives. */
function exec(argv: string[], key?: string, onLine?: (l: Line) => void): Promise<Run> {
  return new Promise((done, fail) => {
    const p = spawn(argv[0]!, argv.slice(1), { env: env(key) });
    let stdout = '';
    let stderr = '';
    let pending = '';
    const lines: Line[] = [];
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      pending += d.toString();
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const text = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!text.startsWith('{')) continue;
        const line = JSON.parse(text) as Line;
        lines.push(line);
        onLine?.(line);
      }
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', fail);
    p.on('close', (code) => done({ code, stdout, stderr, lines }));
  });
}

const url = (c: Colo) => `ws://127.0.0.1:${c.port}/v1/ws`;
const check = (sdk: Sdk, c: Colo, args: string[], key?: string) => exec([...sdk.check, url(c), ...args], key);

let colo: Colo;
let authColo: Colo;
let goodKey = '';
/** What the TypeScript client gets for the same greedy requests. */
const reference = new Map<number, string>();

function config(dir: string, over: Record<string, unknown> = {}) {
  return parseConfig({
    server: { port: 0, shutdownGraceMs: 2000 },
    audit: { dir: join(dir, 'audit') },
    auth: { storePath: join(dir, `auth-${Math.random()}.json`) },
    cache: { enabled: false },
    engine: {
      modelDirs: [SHARED_MODELS],
      models: [{ name: 'stories260K', sequences: 4, maxQueue: 16, contextSize: 512, threads: 1 }],
    },
    ...over,
  });
}

async function greedyTs(maxTokens: number): Promise<string> {
  const c = await WsClient.connect(colo.port);
  c.send(
    encodeRequest({
      id: 'ts',
      model: 'stories260K',
      prompt: PROMPT,
      sampling: { maxTokens, temperature: 0 },
    }),
  );
  const m = await c.final('ts');
  await c.close();
  if (m.kind !== 'result') throw new Error('the TypeScript reference request failed');
  return m.result.text;
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'colo-sdk-'));
  // Incremental: a no-op when .ci/run (or a previous run) built it.
  await run('cmake', ['-S', join(ROOT, 'native/clients/cpp'), '-B', BUILD], { cwd: ROOT });
  await run(
    'cmake',
    ['--build', BUILD, '-j', '2', '--target', 'colo_check', 'colo_stream', 'colo_classify'],
    {
      cwd: ROOT,
    },
  );
  const clf = join(dir, 'fin-sentiment');
  await trainClassifier({
    train: join(DATA, 'train.csv'),
    valid: join(DATA, 'valid.csv'),
    out: clf,
    seed: 1,
    epochs: 4,
  });
  colo = await startColo(
    config(dir, { classifiers: { models: [{ name: 'fin-sentiment', dir: clf }] } }),
    quietLog,
  );
  authColo = await startColo(
    config(dir, {
      auth: {
        enabled: true,
        pepper: PEPPER,
        adminKeyHashes: [hashApiKey(ADMIN_KEY, PEPPER)],
        storePath: join(dir, 'auth-on.json'),
      },
    }),
    quietLog,
  );
  const admin = async (path: string, body: unknown) => {
    const r = await fetch(`http://127.0.0.1:${authColo.port}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      body: JSON.stringify(body),
    });
    return (await r.json()) as Record<string, string>;
  };
  await admin('/admin/tenants', { id: 'desk-sdk', models: ['stories260K'] });
  goodKey = (await admin('/admin/keys', { tenant: 'desk-sdk', name: 'sdk' }))['key']!;
  for (const n of [12, 4]) reference.set(n, await greedyTs(n));
}, 600_000); // a cold C++ build takes 1-3 min on 2 busy cores

afterAll(async () => {
  await colo?.shutdown('test end');
  await authColo?.shutdown('test end');
});

describe.each(SDKS)('$name SDK against a real Colo', (sdk) => {
  it('the streaming example prints the text, then finish=… tokens=… ttft_us=… total_us=…', async () => {
    const r = await exec([...sdk.stream, url(colo), 'stories260K', PROMPT, '16']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout.trimEnd().split('\n');
    const m = /^finish=(\w+) tokens=(\d+) ttft_us=(\d+) total_us=(\d+)$/.exec(out.at(-1)!);
    expect(m, out.at(-1)).not.toBeNull();
    expect(['length', 'stop']).toContain(m![1]);
    expect(Number(m![2])).toBeGreaterThan(0);
    expect(Number(m![2])).toBeLessThanOrEqual(16);
    expect(Number(m![3])).toBeGreaterThan(0);
    expect(Number(m![3])).toBeLessThanOrEqual(Number(m![4]));
    expect(out.slice(0, -1).join('\n').trim().length).toBeGreaterThan(0);
  });

  it('streams a greedy completion: chunks in index order, joined equal to the Result and to the TS client', async () => {
    const r = await check(sdk, colo, ['stream', 'stories260K', PROMPT, '12']);
    expect(r.code).toBe(0);
    const res = r.lines.at(-1)!;
    expect(res).toMatchObject({ event: 'result', id: 'q1', finish: 'length', tokens: 12, indexes_ok: true });
    expect(res['chunks']).toBeGreaterThan(0);
    expect(res['streamed']).toBe(res['text']);
    expect(res['text']).toBe(reference.get(12));
    expect(res).toMatchObject({ route: 'local', model: 'stories260K' });
  });

  it('a non-streamed request gets only its Result', async () => {
    const r = await check(sdk, colo, ['result', 'stories260K', PROMPT, '12']);
    expect(r.code).toBe(0);
    expect(r.lines.at(-1)).toMatchObject({ event: 'result', chunks: 0, tokens: 12, text: reference.get(12) });
  });

  it('cancel ends the stream with CANCELLED and the connection keeps serving', async () => {
    const r = await check(sdk, colo, ['cancel', 'stories260K']);
    expect(r.code).toBe(0);
    const [, cancelled, after] = r.lines;
    expect(cancelled).toMatchObject({ event: 'error', id: 'long', code: 'CANCELLED' });
    expect(cancelled!['chunks']).toBeGreaterThan(0);
    expect(after).toMatchObject({ event: 'result', id: 'after', tokens: 4, text: reference.get(4) });
  });

  it('a classifier request returns a typed Signal (example and conformance program)', async () => {
    const ex = await exec([
      ...sdk.classify,
      url(colo),
      'fin-sentiment',
      '$TSLA downgraded to sell at Goldman',
    ]);
    expect(ex.code).toBe(0);
    expect(ex.stdout).toMatch(
      /^ticker=TSLA direction=bearish score=-[\d.e-]+ confidence=[\d.e-]+ label=bearish abstain=(true|false) rtt_us=\d+\n$/,
    );
    const r = await check(sdk, colo, ['classify', 'fin-sentiment', '$AAPL beats estimates, raises guidance']);
    expect(r.code).toBe(0);
    const res = r.lines.at(-1)!;
    expect(res).toMatchObject({ event: 'result', provider: 'onnx', model: 'fin-sentiment' });
    const signals = res['signals'] as {
      ticker: string;
      direction: number;
      label: string;
      confidence: number;
    }[];
    expect(signals).toHaveLength(1);
    expect(signals[0]).toMatchObject({ ticker: 'AAPL', direction: 1, label: 'bullish' });
    expect(signals[0]!.confidence).toBeGreaterThan(0.34);
  });

  it('a bad model is MODEL_NOT_FOUND naming the field', async () => {
    const r = await check(sdk, colo, ['bad-model']);
    expect(r.code).toBe(1);
    expect(r.lines.at(-1)).toMatchObject({
      event: 'error',
      id: 'bad',
      code: 'MODEL_NOT_FOUND',
      field: 'model',
    });
  });

  it('a deadline shorter than the answer ends it with DEADLINE', async () => {
    const r = await check(sdk, colo, ['deadline', 'stories260K', '30']);
    expect(r.code).toBe(1);
    expect(r.lines.at(-1)).toMatchObject({ event: 'error', id: 'dl', code: 'DEADLINE' });
  });

  it('ping: three Pongs echo their nonces', async () => {
    const r = await check(sdk, colo, ['ping']);
    expect(r.code).toBe(0);
    const pongs = r.lines.filter((l) => l['event'] === 'pong');
    expect(pongs.map((p) => p['nonce'])).toEqual([1, 2, 3]);
    for (const p of pongs) expect(p['server_time_ns']).toBeGreaterThan(0);
  });

  it('auth at upgrade: a good key connects; a bad or missing key is UNAUTHENTICATED (401)', async () => {
    const good = await check(sdk, authColo, ['ping'], goodKey);
    expect(good.code).toBe(0);
    expect(good.lines.filter((l) => l['event'] === 'pong')).toHaveLength(3);
    for (const key of ['colo_not_a_real_key_00000000000000000', undefined]) {
      const bad = await check(sdk, authColo, ['ping'], key);
      expect(bad.code).toBe(1);
      expect(bad.lines).toEqual([
        expect.objectContaining({ event: 'error', code: 'UNAUTHENTICATED', http_status: 401 }),
      ]);
    }
  });
});

describe('server close', () => {
  it('both SDKs report a clear TransportError(CLOSED) with the close code when Colo shuts down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'colo-sdk-close-'));
    // Audit off: this Colo only exists to be shut down under its clients.
    const closing = await startColo(
      config(dir, { server: { port: 0, shutdownGraceMs: 0 }, audit: { enabled: false } }),
      quietLog,
    );
    const ready: Promise<void>[] = [];
    const runs = SDKS.map((sdk) => {
      let onReady!: () => void;
      ready.push(new Promise<void>((r) => (onReady = r)));
      return exec([...sdk.check, url(closing), 'wait-close', 'stories260K'], undefined, (l) => {
        if (l['event'] === 'ready') onReady();
      });
    });
    await Promise.all(ready);
    await closing.shutdown('test: server close');
    const done = await Promise.all(runs);
    // Both SDKs read the same close frame.
    expect(new Set(done.map((r) => r.lines.at(-1)?.['close_code'])).size).toBe(1);
    for (const r of done) {
      expect(r.code).toBe(2);
      const last = r.lines.at(-1)!;
      expect(last).toMatchObject({ event: 'transport_error', kind: 'CLOSED' });
      expect(last['close_code']).toBeGreaterThanOrEqual(1000);
      // Whatever ended the held request first, it ended with a stable code, not silently.
      for (const l of r.lines.filter((x) => x['event'] === 'error')) expect(typeof l['code']).toBe('string');
    }
  });
});
