import { describe, expect, it, vi } from 'vitest';
import { ColoError } from '../../src/core/errors';
import { runReplay } from '../../src/replay/replay';
import { replayToStudySignals } from '../../src/replay/study';
import { parseTape, tickerOf } from '../../src/replay/tape';
import { type ReplayRequest, type ReplayTransport, directionOf } from '../../src/replay/transport';

const TAPE = [
  '{"ts": "2024-01-02T14:30:05Z", "text": "$MSFT beats", "ticker": "msft"}',
  '# comment',
  '{"ts": 1704205800000, "text": "$AAPL - Apple cut at Citi"}',
  '',
  '{"ts": 1704205810000, "text": "no ticker here"}',
].join('\n');

class FakeTransport implements ReplayTransport {
  sent: ReplayRequest[] = [];
  async send(req: ReplayRequest) {
    this.sent.push(req);
    if (req.text.includes('no ticker')) throw new ColoError('OVERLOADED', 'busy');
    const direction = directionOf(req.text.includes('cut') ? 'bearish' : 'bullish');
    return {
      signals: [
        {
          entity: '',
          ticker: req.ticker ?? '',
          direction,
          score: direction,
          confidence: 0.9,
          label: '',
          rationale: '',
          abstain: false,
        },
      ],
    };
  }
  async close() {}
}

describe('tape', () => {
  it('parses epoch and ISO timestamps, sorts by time and finds cashtags', () => {
    const events = parseTape(TAPE);
    expect(events.map((e) => e.ts)).toEqual([1704205800000, 1704205805000, 1704205810000]);
    expect(events.map((e) => tickerOf(e))).toEqual(['AAPL', 'MSFT', undefined]);
  });

  it('names the line of a bad event', () => {
    expect(() => parseTape('{"ts": 1, "text": "ok"}\n{"ts": "soon", "text": "x"}', 't.jsonl')).toThrow(
      /t\.jsonl:2/,
    );
  });
});

describe('runReplay', () => {
  it('records a signal or an error for every event, with latencies', async () => {
    const t = new FakeTransport();
    const res = await runReplay(parseTape(TAPE), t, { speed: 0, maxInFlight: 2, maxRetries: 0 });
    expect(t.sent.map((s) => s.ticker)).toEqual(['AAPL', 'MSFT', undefined]);
    expect(res.records).toHaveLength(3);
    expect(res.errors).toBe(1);
    expect(res.records[2]!.error?.code).toBe('OVERLOADED');
    expect(res.latency.count).toBe(2);
    expect(res.records.every((r) => r.latencyUs >= 0)).toBe(true);
    const sigs = replayToStudySignals(res.records);
    expect(sigs.map((s) => [s.ticker, s.direction])).toEqual([
      ['AAPL', -1],
      ['MSFT', 1],
    ]);
  });

  it('sends a request refused with OVERLOADED again after its retry-after; DEADLINE is final', async () => {
    let calls = 0;
    const t: ReplayTransport = {
      async send(req) {
        calls++;
        if (req.text === 'never') throw new ColoError('DEADLINE', 'cannot fit');
        if (calls <= 2) throw new ColoError('OVERLOADED', 'busy', { retryAfterMs: 1 });
        return { signals: [] };
      },
      async close() {},
    };
    const res = await runReplay([{ ts: 0, text: 'a' }], t, { speed: 0 });
    expect(res.errors).toBe(0);
    expect(calls).toBe(3);
    calls = 10;
    const res2 = await runReplay([{ ts: 0, text: 'never' }], t, { speed: 0 });
    expect(res2.errors).toBe(1);
    expect(res2.records[0]!.error?.code).toBe('DEADLINE');
    expect(calls).toBe(11);
  });

  it('retries OVERLOADED only within the first attempt deadline, each retry asking for what is left', async () => {
    const asked: (number | undefined)[] = [];
    const t: ReplayTransport = {
      async send(req) {
        asked.push(req.deadlineMs);
        throw new ColoError('OVERLOADED', 'busy', { retryAfterMs: 10 });
      },
      async close() {},
    };
    const res = await runReplay([{ ts: 0, text: 'a' }], t, { speed: 0, deadlineMs: 60 });
    expect(res.records[0]!.error?.code).toBe('DEADLINE');
    // About 60 / 10 attempts, not maxRetries (200); the first uses the transport's default.
    expect(asked.length).toBeGreaterThanOrEqual(2);
    expect(asked.length).toBeLessThanOrEqual(7);
    expect(asked[0]).toBeUndefined();
    const later = asked.slice(1) as number[];
    for (let i = 0; i < later.length; i++) {
      expect(later[i]).toBeLessThan(60);
      if (i > 0) expect(later[i]).toBeLessThan(later[i - 1]!);
    }
    expect(res.records[0]!.latencyUs).toBeGreaterThanOrEqual(50_000);
  });

  it('keeps the recorded pace scaled by speed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] });
    try {
      const t = new FakeTransport();
      const events = [
        { ts: 0, text: 'a' },
        { ts: 1000, text: 'b' },
      ];
      const done = runReplay(events, t, { speed: 20 });
      // 1 s of tape at 20x is 50 ms: the second event is not sent before then.
      await vi.advanceTimersByTimeAsync(40);
      expect(t.sent.map((s) => s.text)).toEqual(['a']);
      await vi.advanceTimersByTimeAsync(20);
      expect(t.sent.map((s) => s.text)).toEqual(['a', 'b']);
      expect((await done).records).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
