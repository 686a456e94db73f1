import { describe, expect, it } from 'vitest';
import {
  errorCodeOf,
  formatLoadReport,
  LOAD_DEFAULTS,
  LoadArgsError,
  LoadStats,
  parseLoadArgs,
  readSsePayload,
} from '../../bench/e2e/loadgen-core';

const MODEL = '/models/x.gguf';

describe('parseLoadArgs', () => {
  it('applies the defaults when given nothing', () => {
    const o = parseLoadArgs([], MODEL);
    expect(o).toMatchObject({ ...LOAD_DEFAULTS, modelPath: MODEL });
    expect(o.url).toBeUndefined();
  });

  it('takes the transport from the URL scheme and drops any path', () => {
    expect(parseLoadArgs(['--url', 'http://127.0.0.1:9000/v1'], MODEL)).toMatchObject({
      transport: 'http',
      url: 'http://127.0.0.1:9000',
    });
    expect(parseLoadArgs(['--url', 'ws://127.0.0.1:9000'], MODEL)).toMatchObject({
      transport: 'ws',
      url: 'ws://127.0.0.1:9000',
    });
  });

  it('reads every numeric flag and --no-stream', () => {
    const o = parseLoadArgs(
      [
        '--mode',
        'open',
        '--rate',
        '250.5',
        '--concurrency',
        '4',
        '--count',
        '0',
        '--duration',
        '5000',
        '--max-tokens',
        '1',
        '--temperature',
        '0.7',
        '--no-stream',
        '--connections',
        '3',
      ],
      MODEL,
    );
    expect(o).toMatchObject({
      mode: 'open',
      rate: 250.5,
      concurrency: 4,
      count: 0,
      durationMs: 5000,
      maxTokens: 1,
      temperature: 0.7,
      stream: false,
      connections: 3,
    });
  });

  it('rejects a transport that contradicts the URL, bad modes, bad numbers and unknown flags', () => {
    expect(() => parseLoadArgs(['--url', 'ws://h:1', '--transport', 'http'], MODEL)).toThrow(/contradicts/);
    expect(() => parseLoadArgs(['--mode', 'sideways'], MODEL)).toThrow(LoadArgsError);
    expect(() => parseLoadArgs(['--concurrency', '0'], MODEL)).toThrow(/--concurrency/);
    expect(() => parseLoadArgs(['--concurrency', '1.5'], MODEL)).toThrow(/integer/);
    expect(() => parseLoadArgs(['--rate', 'fast'], MODEL)).toThrow(/--rate/);
    expect(() => parseLoadArgs(['--url', 'tcp://h:1'], MODEL)).toThrow(/--url/);
    expect(() => parseLoadArgs(['--bogus'], MODEL)).toThrow(LoadArgsError);
    expect(() => parseLoadArgs(['--prompt', ''], MODEL)).toThrow(/--prompt/);
  });
});

describe('LoadStats', () => {
  it('measures total and TTFT from the start time, ITL between consecutive tokens, and counts errors by code', () => {
    const s = new LoadStats();
    // start 1000 ns; tokens at 11 µs, 21 µs, 41 µs; end at 51 µs.
    s.record({
      startNs: 1_000,
      tokenNs: [11_000, 21_000, 41_000],
      endNs: 51_000,
      completionTokens: 3,
      error: undefined,
    });
    s.record({ startNs: 0, tokenNs: [], endNs: 5_000, completionTokens: 0, error: 'OVERLOADED' });
    s.record({ startNs: 0, tokenNs: [], endNs: 5_000, completionTokens: 0, error: 'OVERLOADED' });
    s.record({ startNs: 0, tokenNs: [], endNs: 5_000, completionTokens: 0, error: 'DEADLINE' });
    const r = s.report(2_000);
    s.close();
    expect(r.completed).toBe(1);
    expect(r.errors).toBe(3);
    expect(r.errorsByCode).toEqual({ DEADLINE: 1, OVERLOADED: 2 });
    expect(r.total.count).toBe(1);
    expect(r.total.p50).toBeCloseTo(50, 0);
    expect(r.ttft.p50).toBeCloseTo(10, 0);
    expect(r.itl.count).toBe(2);
    expect(r.itl.min).toBeCloseTo(10, 0);
    expect(r.itl.max).toBeCloseTo(20, 0);
    expect(r.requestsPerSec).toBeCloseTo(0.5, 5);
    expect(r.tokensPerSec).toBeCloseTo(1.5, 5);
    expect(formatLoadReport(r, '# t')).toContain('errors 3 (DEADLINE 1, OVERLOADED 2)');
  });

  it('counts answers that came from the response cache', () => {
    const s = new LoadStats();
    s.record({ startNs: 0, tokenNs: [1], endNs: 2, completionTokens: 1, error: undefined, cached: true });
    s.record({ startNs: 0, tokenNs: [1], endNs: 2, completionTokens: 1, error: undefined, cached: false });
    const r = s.report(1);
    s.close();
    expect(r.cached).toBe(1);
    expect(formatLoadReport(r, '# t')).toContain('ok 2 (1 from the response cache)');
  });

  it('records no TTFT for an answer without tokens', () => {
    const s = new LoadStats();
    s.record({ startNs: 0, tokenNs: [], endNs: 1_000, completionTokens: 0, error: undefined });
    const r = s.report(1);
    s.close();
    expect(r.total.count).toBe(1);
    expect(r.ttft.count).toBe(0);
    expect(r.itl.count).toBe(0);
  });
});

describe('readSsePayload', () => {
  it('reads completions and chat text, usage, errors and [DONE]', () => {
    expect(readSsePayload('[DONE]')).toEqual({ kind: 'done' });
    expect(readSsePayload('{"choices":[{"text":"Once"}]}')).toEqual({ kind: 'text', text: 'Once' });
    expect(readSsePayload('{"choices":[{"delta":{"content":" upon"}}]}')).toEqual({
      kind: 'text',
      text: ' upon',
    });
    expect(readSsePayload('{"choices":[],"usage":{"completion_tokens":7}}')).toEqual({
      kind: 'usage',
      completionTokens: 7,
    });
    expect(readSsePayload('{"error":{"code":"DEADLINE","message":"late"}}')).toEqual({
      kind: 'error',
      code: 'DEADLINE',
    });
    expect(readSsePayload('{"choices":[{"text":"","finish_reason":"length"}]}')).toEqual({ kind: 'other' });
    expect(
      readSsePayload(
        '{"choices":[{"text":"","finish_reason":"stop"}],"colo":{"route":{"kind":"cache","cached":true}}}',
      ),
    ).toEqual({ kind: 'final', cached: true });
    expect(readSsePayload('{"choices":[],"colo":{"route":{"kind":"local","cached":false}}}')).toEqual({
      kind: 'final',
      cached: false,
    });
    expect(readSsePayload('not json')).toEqual({ kind: 'error', code: 'CLIENT_BAD_SSE' });
  });
});

describe('errorCodeOf', () => {
  it('keeps Colo codes and prefixes transport codes', () => {
    expect(errorCodeOf({ code: 'OVERLOADED' })).toBe('OVERLOADED');
    expect(errorCodeOf(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe('CLIENT_ECONNREFUSED');
    expect(errorCodeOf(new Error('x'))).toBe('CLIENT_ERROR');
  });
});
