/**
 * /v1/decide and WebSocket `choices` on the real tiny model: choices are scored as
 * continuations of the prompt, nothing is generated, probabilities are a softmax of
 * total log-probabilities, and the greedy continuation wins.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Colo } from '../../src/app/colo';
import { encodeRequest } from '../../src/protocol';
import { startTestColo } from '../helpers/engine';
import { WsClient } from '../helpers/ws';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let colo: Colo;
let base: string;
beforeAll(async () => {
  colo = await startTestColo({
    sequences: 4,
    extra: { gateway: { targets: [{ name: 'echo-remote', provider: 'dummy', model: 'echo' }] } },
  });
  base = `http://127.0.0.1:${colo.port}`;
});
afterAll(async () => {
  await colo?.shutdown('test end');
});

async function post(path: string, body: unknown): Promise<{ status: number; body: Json }> {
  const r = await fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Json };
}

const decide = (prompt: string, choices: string[], over: Json = {}) =>
  post('/v1/decide', { model: 'stories260K', prompt, choices, ...over });

/** The model's own greedy next token after `prompt`, as text. */
async function greedyToken(prompt: string): Promise<string> {
  const r = await post('/v1/completions', { model: 'stories260K', prompt, max_tokens: 1, temperature: 0 });
  expect(r.status).toBe(200);
  return r.body.choices[0].text as string;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('POST /v1/decide', () => {
  it('picks the greedy continuation; probabilities sum to 1; nothing is generated', async () => {
    const prompt = 'Once upon a time,';
    const g = await greedyToken(prompt);
    // A word token: the join rule (one space) must give back exactly this continuation.
    expect(g).toMatch(/^ \p{L}+$/u);
    const word = g.trim();
    const choices = ['dog', word, 'banana', 'sky'];
    const r = await decide(prompt, choices);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.choice).toBe(word);
    const probs = choices.map((c) => r.body.probabilities[c] as number);
    expect(Math.abs(sum(probs) - 1)).toBeLessThan(1e-9);
    for (const p of probs) expect(p).toBeGreaterThan(0);
    expect(Math.max(...probs)).toBe(r.body.probabilities[word]);
    // probabilities are the softmax of the total log-probabilities
    const lps = choices.map((c) => r.body.logprobs[c] as number);
    for (const lp of lps) expect(lp).toBeLessThan(0);
    const z = sum(lps.map((l) => Math.exp(l)));
    choices.forEach((c, i) => expect(r.body.probabilities[c]).toBeCloseTo(Math.exp(lps[i]!) / z, 9));
    expect(r.body.usage.completion_tokens).toBe(0);
    expect(r.body.usage.prompt_tokens).toBeGreaterThan(4);
    expect(r.body.colo.route).toMatchObject({ kind: 'local', model: 'stories260K' });
    expect(r.body.colo.timings.total_us).toBeGreaterThan(0);
  });

  it('a leading space in a choice is not doubled', async () => {
    const prompt = 'Once upon a time,';
    const word = (await greedyToken(prompt)).trim();
    const a = await decide(prompt, [word, 'dog']);
    const b = await decide(prompt, [' ' + word, ' dog']);
    expect(b.body.logprobs[' ' + word]).toBeCloseTo(a.body.logprobs[word], 5);
    expect(b.body.logprobs[' dog']).toBeCloseTo(a.body.logprobs.dog, 5);
    expect(b.body.choice).toBe(' ' + word);
  });

  it('a multi-token choice scores the sum of its tokens, shared prefixes or not', async () => {
    const prompt = 'Once upon a time,';
    const first = (await greedyToken(prompt)).trim();
    const second = (await greedyToken(`${prompt} ${first}`)).trim();
    expect(second.length).toBeGreaterThan(0);
    const two = `${first} ${second}`;
    // The same choice alone, among siblings that share its first token, and after a branch.
    const alone = await decide(prompt, [two, 'dog']);
    const shared = await decide(prompt, [`${first} dog`, two, `${first} cat`, first, 'sky']);
    const parts =
      (await decide(prompt, [first, 'dog'])).body.logprobs[first] +
      (await decide(`${prompt} ${first}`, [second, 'dog'])).body.logprobs[second];
    expect(alone.status).toBe(200);
    expect(shared.status).toBe(200);
    expect(alone.body.logprobs[two]).toBeCloseTo(parts, 4);
    expect(shared.body.logprobs[two]).toBeCloseTo(parts, 4);
    expect(shared.body.logprobs[first]).toBeCloseTo(
      (await decide(prompt, [first, 'dog'])).body.logprobs[first],
      5,
    );
    // Each extra token can only lower the total log-probability.
    expect(shared.body.logprobs[first]).toBeGreaterThan(shared.body.logprobs[two]);
  });

  it('two decisions on one news item sent together evaluate it once: the second copies it', async () => {
    const news = Array.from(
      { length: 12 },
      (_, i) => `The bank number ${i} raised its rates again today.`,
    ).join(' ');
    const ask = (q: string) => decide(`${news} ${q}`, ['up', 'down']);
    const [a, b] = await Promise.all([ask('Stocks will go'), ask('Bonds will go')]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    const cached = [a, b]
      .map((r) => r.body.usage.prompt_tokens_details.cached_tokens as number)
      .sort((x, y) => x - y);
    // One evaluated it (at most the BOS was held); the other copied all of it but its own
    // question (usage.prompt_tokens also counts the choices' tokens scored).
    expect(cached[0]).toBeLessThanOrEqual(1);
    expect(cached[1]).toBeGreaterThan(a.body.usage.prompt_tokens - 20);
  });

  it('a decision scored on a copied cache answers as one scored on the prompt evaluated in full', async () => {
    const news = Array.from({ length: 12 }, (_, i) => `The fund number ${i} sold all of its gold.`).join(' ');
    const ask = (q: string) => decide(`${news} ${q}`, ['up', 'down']);
    const reference = await ask('Bonds will go');
    // Whichever comes second copies the news from the first one's sequence.
    const [, b] = await Promise.all([ask('Stocks will go'), ask('Bonds will go')]);
    expect(b.body.probabilities.up).toBeCloseTo(reference.body.probabilities.up, 6);
    expect(b.body.logprobs.down).toBeCloseTo(reference.body.logprobs.down, 4);
  });

  it('takes chat messages', async () => {
    const r = await post('/v1/decide', {
      model: 'stories260K',
      messages: [{ role: 'user', content: 'Is the sky blue?' }],
      choices: ['yes', 'no'],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(['yes', 'no']).toContain(r.body.choice);
    expect(Math.abs(r.body.probabilities.yes + r.body.probabilities.no - 1)).toBeLessThan(1e-9);
  });

  it('refuses empty, too many, duplicate or blank choices, naming choices', async () => {
    const bad: unknown[] = [
      [],
      ['only'],
      Array.from({ length: 65 }, (_, i) => `c${i}`),
      ['up', 'up'],
      ['up', ''],
    ];
    for (const choices of bad) {
      const r = await post('/v1/decide', { model: 'stories260K', prompt: 'Direction:', choices });
      expect(r.status, JSON.stringify(choices)).toBe(400);
      expect(r.body.error.code).toBe('INVALID_ARGUMENT');
      expect(r.body.error.param).toBe('choices');
    }
    const missing = await post('/v1/decide', { model: 'stories260K', prompt: 'Direction:' });
    expect(missing.status).toBe(400);
    expect(missing.body.error.param).toBe('choices');
    const ok = await decide(
      'Direction:',
      Array.from({ length: 64 }, (_, i) => `c${i}`),
    );
    expect(ok.status).toBe(200);
  });

  it('refuses choices on a remote target, naming choices', async () => {
    const r = await post('/v1/decide', {
      model: 'echo-remote',
      prompt: 'Direction:',
      choices: ['up', 'down'],
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('INVALID_ARGUMENT');
    expect(r.body.error.param).toBe('choices');
  });
});

describe('WebSocket InferenceRequest with choices', () => {
  it('answers one Result with the choice and its probabilities, no token frames', async () => {
    const prompt = 'Once upon a time,';
    const word = (await greedyToken(prompt)).trim();
    const choices = ['dog', word, 'sky'];
    const c = await WsClient.connect(colo.port);
    c.send(
      encodeRequest({
        id: 'd1',
        model: 'stories260K',
        prompt,
        choices,
        sampling: { maxTokens: 1, temperature: 0 },
        stream: true,
      }),
    );
    const fin = await c.final('d1');
    expect(fin.kind).toBe('result');
    if (fin.kind !== 'result') return;
    expect(fin.result.choice).toBe(word);
    const probs = fin.result.choiceProbs!;
    expect(probs).toHaveLength(3);
    // float32 on the wire
    expect(Math.abs(sum(probs) - 1)).toBeLessThan(1e-5);
    expect(probs[1]).toBe(Math.max(...probs));
    expect(fin.result.usage.completionTokens).toBe(0);
    expect(c.tokens('d1')).toEqual([]);
    const http = await decide(prompt, choices);
    expect(probs[1]).toBeCloseTo(http.body.probabilities[word], 5);

    c.send(encodeRequest({ id: 'd2', model: 'stories260K', prompt, choices: ['one'], stream: true }));
    const err = await c.final('d2');
    expect(err.kind).toBe('error');
    if (err.kind === 'error') {
      expect(err.error.code).toBe('INVALID_ARGUMENT');
      expect(err.error.field).toBe('choices');
    }
    await c.close();
  });
});
