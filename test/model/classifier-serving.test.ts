import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startColo, type Colo } from '../../src/app/colo';
import { parseConfig } from '../../src/config';
import { trainClassifier } from '../../src/classifier';
import { encodeRequest } from '../../src/protocol';
import { quietLog, SHARED_MODELS } from '../helpers/engine';
import { WsClient } from '../helpers/ws';

const DATA = resolve(SHARED_MODELS, '../data/twitter-financial-news-sentiment');
let colo: Colo;
let base: string;

beforeAll(async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'colo-clf-')), 'sentiment');
  await trainClassifier({
    train: join(DATA, 'train.csv'),
    valid: join(DATA, 'valid.csv'),
    out,
    seed: 1,
    epochs: 4,
  });
  colo = await startColo(
    parseConfig({
      server: { port: 0 },
      audit: { dir: join(out, '..', 'audit') },
      auth: { storePath: join(out, '..', 'auth.json') },
      engine: { modelDirs: [SHARED_MODELS], models: [{ name: 'stories260K', sequences: 2 }] },
      classifiers: {
        models: [
          { name: 'fin-sentiment', dir: out },
          { name: 'broken', dir: join(out, 'missing') },
        ],
      },
    }),
    quietLog,
  );
  base = `http://127.0.0.1:${colo.port}`;
}, 120_000);
afterAll(async () => {
  await colo?.shutdown('test end');
});

describe('ONNX classifiers served on HTTP and WebSocket', () => {
  it('classifies over HTTP, one signal per input, and lists classifiers', async () => {
    const r = await fetch(`${base}/v1/classify`, {
      method: 'POST',
      body: JSON.stringify({
        model: 'fin-sentiment',
        input: ['$AAPL beats estimates, raises guidance', '$XYZ shares plunge after fraud probe'],
      }),
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as {
      results: { label: string; signal: { ticker: string; direction: number; confidence: number } }[];
    };
    expect(body.results).toHaveLength(2);
    expect(body.results[0]!.signal.ticker).toBe('AAPL');
    expect(body.results[0]!.label).toBe('bullish');
    expect(body.results[0]!.signal.direction).toBe(1);
    expect(body.results[1]!.label).toBe('bearish');
    expect(body.results[1]!.signal.direction).toBe(-1);
    const models = (await (await fetch(`${base}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toContain('fin-sentiment');
  });

  it('keeps serving its other models when one classifier failed to load, and names it', async () => {
    const r = await fetch(`${base}/v1/classify`, {
      method: 'POST',
      body: JSON.stringify({ model: 'broken', input: 'x' }),
    });
    const body = (await r.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('NOT_READY');
    const ok = await fetch(`${base}/v1/classify`, {
      method: 'POST',
      body: JSON.stringify({ model: 'fin-sentiment', input: 'Stocks flat' }),
    });
    expect(ok.status).toBe(200);
  });

  it('rejects bad text with INVALID_ARGUMENT', async () => {
    for (const input of ['', 'x'.repeat(5000)]) {
      const r = await fetch(`${base}/v1/classify`, {
        method: 'POST',
        body: JSON.stringify({ model: 'fin-sentiment', input }),
      });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('INVALID_ARGUMENT');
    }
  });

  it('classifies over the WebSocket: a Result frame with a typed Signal', async () => {
    // HTTP /v1/classify calls above are counted too (one pipeline): count this one as a delta.
    const countOf = (t: string) =>
      Number(/colo_total_seconds_count\{model="fin-sentiment",route="local"\} (\d+)/.exec(t)?.[1] ?? 0);
    const before = countOf(await (await fetch(`${base}/metrics`)).text());
    const c = await WsClient.connect(colo.port);
    c.send(
      encodeRequest({
        id: 'c1',
        model: 'fin-sentiment',
        prompt: '$TSLA downgraded to sell at Goldman',
        stream: false,
      }),
    );
    const m = await c.final('c1');
    expect(m.kind).toBe('result');
    if (m.kind === 'result') {
      expect(m.result.route).toMatchObject({ kind: 'local', provider: 'onnx', model: 'fin-sentiment' });
      expect(m.signals).toHaveLength(1);
      expect(m.signals[0]!.ticker).toBe('TSLA');
      expect(m.signals[0]!.direction).toBe(-1);
      expect(m.signals[0]!.confidence).toBeGreaterThan(0.34);
    }
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(countOf(text)).toBe(before + 1);
    await c.close();
  });
});
