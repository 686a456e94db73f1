/**
 * Fan-out (`tickers`) on the real tiny model: one news item against N tickers in one
 * request, on /v1/decide, the sentiment skill and WebSocket. One answer per ticker in
 * request order; each ticker's answer is the one a separate request for that ticker
 * gets; the shared news prefix is evaluated (and charged) once; the request is charged,
 * priced and audited with the real totals; bad tickers are refused naming `tickers` on
 * both transports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tickerSuffix } from '../../src/core/ticker';
import { encodeRequest } from '../../src/protocol';
import { startAuthColo, type AuthColo, type Json } from '../helpers/engine';
import { WsClient } from '../helpers/ws';

/** One micro-dollar per prompt token: cost_micros = prompt_tokens. */
const PRICE = { inputPerMTok: 1, outputPerMTok: 1 };

let app: AuthColo;
let key: string;

beforeAll(async () => {
  app = await startAuthColo({
    requireSubscription: false,
    config: {
      pricing: { models: { stories260K: PRICE } },
      gateway: { targets: [{ name: 'echo-remote', provider: 'dummy', model: 'echo' }] },
    },
  });
  key = await app.tenantKey({ id: 'desk', models: ['*'], skills: ['*'] });
}, 60_000);
afterAll(async () => app?.colo.shutdown('test end'));

const post = (path: string, body: unknown) => app.post(path, body, key);

const NEWS =
  'Once upon a time, the big company sold many toys to the little children in the town, and everyone was happy. The company said:';
const TICKERS = ['AAPL', 'MSFT', 'BRK.B', '7203.T'];
const CHOICES = ['up', 'down', 'flat'];
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

const decide = (over: Json) =>
  post('/v1/decide', { model: 'stories260K', prompt: NEWS, choices: CHOICES, ...over });

describe('POST /v1/decide with tickers', () => {
  it('answers one decision per ticker, in request order, each as a request of its own would', async () => {
    const r = await decide({ tickers: TICKERS });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.choice).toBeUndefined();
    const ds = r.body.decisions as Json[];
    expect(ds.map((d) => d.ticker)).toEqual(TICKERS);
    for (const d of ds) {
      const probs = CHOICES.map((c) => d.probabilities[c] as number);
      expect(Math.abs(sum(probs) - 1)).toBeLessThan(1e-9);
      expect(d.probabilities[d.choice]).toBe(Math.max(...probs));
    }
    expect(r.body.usage.completion_tokens).toBe(0);
    // Each ticker's answer is the prompt + its suffix scored alone (the KV walk changes nothing).
    for (const d of ds) {
      const alone = await decide({ prompt: NEWS + tickerSuffix(d.ticker, false), tickers: undefined });
      expect(alone.body.choice).toBe(d.choice);
      for (const c of CHOICES) expect(d.logprobs[c]).toBeCloseTo(alone.body.logprobs[c], 4);
    }
    // Tickers change the prompt, so they can change the answer; the single-ticker fan-out agrees too.
    const one = await decide({ tickers: [TICKERS[1]] });
    expect(one.body.decisions).toHaveLength(1);
    for (const c of CHOICES) expect(one.body.decisions[0].logprobs[c]).toBeCloseTo(ds[1]!.logprobs[c], 4);
  });

  it('evaluates and charges the shared news prefix once, not once per ticker', async () => {
    // The news alone, as the engine counts it (BOS included).
    const news = await post('/v1/completions', {
      model: 'stories260K',
      prompt: NEWS,
      max_tokens: 1,
      temperature: 0,
    });
    const newsTokens = news.body.usage.prompt_tokens as number;
    expect(newsTokens).toBeGreaterThan(20);
    const fan = await decide({ tickers: TICKERS });
    let separately = 0;
    for (const t of TICKERS)
      separately += (await decide({ tickers: [t] })).body.usage.prompt_tokens as number;
    const n = TICKERS.length;
    // Separate requests each pay the news; the fan-out pays it once (less at most one
    // token where the suffix joins it).
    expect(fan.body.usage.prompt_tokens).toBeLessThanOrEqual(separately - (n - 1) * (newsTokens - 1));
    expect(fan.body.usage.prompt_tokens).toBeGreaterThan(newsTokens);
  });

  it('is priced on the real totals and audited once', async () => {
    const r = await decide({ tickers: TICKERS, id: 'fan-audit' });
    expect(r.status).toBe(200);
    const rec = (await app.audit()).filter((x) => x.requestId === 'fan-audit');
    expect(rec).toHaveLength(1);
    expect(rec[0]!.status).toBe('ok');
    expect(rec[0]!.tokens).toEqual({ prompt: r.body.usage.prompt_tokens, completion: 0 });
    expect(rec[0]!.cost).toBe(r.body.usage.prompt_tokens);
    expect(rec[0]!.tickers).toEqual(TICKERS);
  });

  it('refuses bad tickers naming tickers', async () => {
    const bad: unknown[] = [
      [],
      Array.from({ length: 65 }, (_, i) => `T${i}`),
      ['AAPL', 'aapl'],
      ['AA PL'],
      ['AAPL\nAnswer: up'],
      [''],
      ['ABCDEFGHIJKLMNOPQ'],
    ];
    for (const tickers of bad) {
      const r = await decide({ tickers });
      expect(r.status, JSON.stringify(tickers)).toBe(400);
      expect(r.body.error.code).toBe('INVALID_ARGUMENT');
      expect(r.body.error.param).toBe('tickers');
    }
    const most = await decide({ tickers: Array.from({ length: 64 }, (_, i) => `T${i}`) });
    expect(most.status, JSON.stringify(most.body)).toBe(200);
    expect(most.body.decisions).toHaveLength(64);
    const remote = await decide({ model: 'echo-remote', tickers: ['AAPL'] });
    expect(remote.status).toBe(400);
    expect(remote.body.error.param).toBe('tickers');
  });

  it('takes chat messages', async () => {
    const r = await post('/v1/decide', {
      model: 'stories260K',
      messages: [{ role: 'user', content: NEWS }],
      choices: ['yes', 'no'],
      tickers: ['AAPL', 'MSFT'],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.decisions.map((d: Json) => d.ticker)).toEqual(['AAPL', 'MSFT']);
  });
});

describe('the sentiment skill with tickers', () => {
  it('answers one signal per ticker, in request order, charged and audited', async () => {
    const r = await post('/v1/skills/sentiment', { input: NEWS, tickers: TICKERS, id: 'fan-skill' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const signals = r.body.signals as Json[];
    expect(signals.map((s) => s.ticker)).toEqual(TICKERS);
    for (const s of signals) {
      expect(['bullish', 'bearish', 'neutral']).toContain(s.label);
      expect(s.entity).toBe(s.ticker);
      expect(s.confidence).toBeGreaterThanOrEqual(1 / 3 - 1e-6);
      expect(s.abstain).toBe(s.confidence < 0.6);
      expect(Math.abs(s.score)).toBeLessThanOrEqual(1);
    }
    expect(r.body.output.tickers.map((t: Json) => t.ticker)).toEqual(TICKERS);
    expect(r.body.usage.completion_tokens).toBe(0);
    const rec = (await app.audit()).find((x) => x.requestId === 'fan-skill')!;
    expect(rec.skill).toBe('sentiment');
    expect(rec.tokens.prompt).toBe(r.body.usage.prompt_tokens);
    expect(rec.cost).toBe(r.body.usage.prompt_tokens);
  });

  it('refuses tickers on skills without a fan-out, naming tickers; the catalogue says which have one', async () => {
    for (const name of ['events', 'summary']) {
      const r = await post(`/v1/skills/${name}`, { input: NEWS, tickers: ['AAPL'] });
      expect(r.status, name).toBe(400);
      expect(r.body.error.code).toBe('INVALID_ARGUMENT');
      expect(r.body.error.param).toBe('tickers');
    }
    const bad = await post('/v1/skills/sentiment', { input: NEWS, tickers: [] });
    expect(bad.body.error.param).toBe('tickers');
    const cat = (await (
      await fetch(`${app.base}/v1/skills/sentiment`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as Json;
    expect(cat.fanout.labels).toEqual(['bullish', 'bearish', 'neutral']);
    expect(cat.input_schema.properties.tickers.maxItems).toBe(64);
  });
});

describe('WebSocket InferenceRequest with tickers', () => {
  it('choices + tickers: a Result with one Decision per ticker; skill + tickers: one Signal per ticker', async () => {
    const c = await WsClient.connect(app.colo.port, { authorization: `Bearer ${key}` });
    c.send(
      encodeRequest({
        id: 'w1',
        model: 'stories260K',
        prompt: NEWS,
        choices: CHOICES,
        tickers: TICKERS,
        stream: true,
      }),
    );
    const fin = await c.final('w1');
    expect(fin.kind, JSON.stringify(fin)).toBe('result');
    if (fin.kind !== 'result') return;
    const ds = fin.result.decisions!;
    expect(ds.map((d) => d.ticker)).toEqual(TICKERS);
    expect(fin.result.choice).toBeUndefined();
    expect(c.tokens('w1')).toEqual([]);
    const http = await decide({ tickers: TICKERS });
    ds.forEach((d, i) => {
      const h = http.body.decisions[i] as Json;
      expect(d.choice).toBe(h.choice);
      expect(Math.abs(sum(d.probs) - 1)).toBeLessThan(1e-5);
      CHOICES.forEach((ch, j) => expect(d.probs[j]).toBeCloseTo(h.probabilities[ch], 5));
    });
    expect(fin.result.usage.promptTokens).toBe(http.body.usage.prompt_tokens);
    expect(fin.result.costMicros).toBe(http.body.usage.prompt_tokens);

    c.send(
      encodeRequest({ id: 'w2', skill: 'sentiment', prompt: NEWS, tickers: ['MSFT', 'AAPL'], stream: true }),
    );
    const sk = await c.final('w2');
    expect(sk.kind, JSON.stringify(sk)).toBe('result');
    if (sk.kind === 'result') {
      expect(sk.skill).toBe('sentiment');
      expect(sk.signals.map((s) => s.ticker)).toEqual(['MSFT', 'AAPL']);
    }
    await c.close();
  });

  it('refuses bad tickers naming tickers, like HTTP', async () => {
    const c = await WsClient.connect(app.colo.port, { authorization: `Bearer ${key}` });
    const cases: [string, Parameters<typeof encodeRequest>[0]][] = [
      ['e1', { id: 'e1', model: 'stories260K', prompt: NEWS, choices: CHOICES, tickers: ['AAPL', 'AAPL'] }],
      ['e2', { id: 'e2', model: 'stories260K', prompt: NEWS, choices: CHOICES, tickers: ['A B'] }],
      [
        'e3',
        {
          id: 'e3',
          model: 'stories260K',
          prompt: NEWS,
          choices: CHOICES,
          tickers: Array.from({ length: 65 }, (_, i) => `T${i}`),
        },
      ],
      // Without choices a model has nothing to fan out.
      ['e4', { id: 'e4', model: 'stories260K', prompt: NEWS, tickers: ['AAPL'] }],
      ['e5', { id: 'e5', skill: 'events', prompt: NEWS, tickers: ['AAPL'] }],
    ];
    for (const [id, req] of cases) {
      c.send(encodeRequest({ ...req, stream: true }));
      const fin = await c.final(id);
      expect(fin.kind, id).toBe('error');
      if (fin.kind === 'error') {
        expect(fin.error.code, id).toBe('INVALID_ARGUMENT');
        expect(fin.error.field, id).toBe('tickers');
      }
    }
    await c.close();
  });
});
