/**
 * Plays a news tape into a transport, at the recorded pace scaled by `speed` or as fast
 * as possible (`speed: 0`, bounded by `maxInFlight`), and records every reply with its
 * client-side latency (send → reply, µs).
 */
import { ColoError, toColoError } from '../core/errors';
import type { Signal } from '../protocol/signal';
import { LatencyRecorder, type LatencySummary } from './latency';
import { type TapeEvent, tickerOf } from './tape';
import type { ReplayReply, ReplayTransport } from './transport';

export interface ReplayOptions {
  /** 1 = recorded pace, 10 = ten times faster, 0 = as fast as possible. Default 0. */
  speed?: number;
  /** Requests in flight at once when speed is 0. Default 64. */
  maxInFlight?: number;
  /** Called for each finished event (progress output). */
  onRecord?: (r: ReplayRecord) => void;
  /**
   * A request refused with OVERLOADED is sent again after its retry-after (a server
   * that predicts it cannot finish in time refuses at once rather than failing late),
   * at most this many times, and only within the first attempt's deadline: each retry
   * asks for what is left of it, and none is sent when its retry-after would pass it
   * (the event then ends DEADLINE at once). DEADLINE from the server (it can never fit) is final. Default 200.
   */
  maxRetries?: number;
  /** The deadline of an event, ms from its first attempt, when `maxRetries` > 0. Default: none (retries are bounded by count only). */
  deadlineMs?: number;
}

export interface ReplayRecord {
  index: number;
  event: TapeEvent;
  ticker: string | undefined;
  /** The tape's own time of this event (epoch ms): event studies measure from here. */
  ts: number;
  latencyUs: number;
  signal?: Signal | undefined;
  /** Server-reported total time, µs, when available. */
  serverTotalUs?: number | undefined;
  error?: { code: string; message: string } | undefined;
}

export interface ReplayResult {
  records: ReplayRecord[];
  latency: LatencySummary;
  errors: number;
  wallMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runReplay(
  events: readonly TapeEvent[],
  transport: ReplayTransport,
  opts: ReplayOptions = {},
): Promise<ReplayResult> {
  const speed = opts.speed ?? 0;
  const maxInFlight = Math.max(1, opts.maxInFlight ?? 64);
  const maxRetries = opts.maxRetries ?? 200;
  const rec = new LatencyRecorder();
  const records: ReplayRecord[] = new Array(events.length);
  const t0 = performance.now();
  const tape0 = events[0]?.ts ?? 0;
  const inFlight = new Set<Promise<void>>();
  let errors = 0;

  const fire = (index: number): Promise<void> => {
    const event = events[index] as TapeEvent;
    const ticker = tickerOf(event);
    // Latency is measured from the first attempt: a retried event waited for all of them.
    const sent = performance.now();
    const send = async (): Promise<ReplayReply> => {
      for (let attempt = 0; ; attempt++) {
        const left = opts.deadlineMs === undefined ? undefined : opts.deadlineMs - (performance.now() - sent);
        if (left !== undefined && left < 1)
          throw new ColoError(
            'DEADLINE',
            `deadline of ${opts.deadlineMs} ms passed after ${attempt} attempts`,
          );
        try {
          return await transport.send({
            id: `r${index}${attempt ? `.${attempt}` : ''}`,
            text: event.text,
            ticker,
            deadlineMs: attempt === 0 || left === undefined ? undefined : Math.floor(left),
          });
        } catch (err) {
          const e = toColoError(err);
          if (e.code !== 'OVERLOADED' || attempt >= maxRetries) throw e;
          const wait = Math.min(1000, Math.max(1, e.retryAfterMs ?? 10));
          // No point waiting for a retry that could not finish in time: end it now.
          if (opts.deadlineMs !== undefined && performance.now() - sent + wait >= opts.deadlineMs)
            throw new ColoError('DEADLINE', `${e.message}; retry-after ${wait} ms would pass the deadline`);
          await sleep(wait);
        }
      }
    };
    const p = send().then(
      (reply) => {
        const latencyUs = (performance.now() - sent) * 1000;
        rec.record(latencyUs);
        records[index] = {
          index,
          event,
          ticker,
          ts: event.ts,
          latencyUs,
          signal: reply.signals[0],
          serverTotalUs: reply.serverTimings?.totalUs,
        };
      },
      (err: unknown) => {
        const e = toColoError(err);
        errors++;
        records[index] = {
          index,
          event,
          ticker,
          ts: event.ts,
          latencyUs: (performance.now() - sent) * 1000,
          error: { code: e.code, message: e.message },
        };
      },
    );
    const tracked = p.then(() => {
      inFlight.delete(tracked);
      opts.onRecord?.(records[index] as ReplayRecord);
    });
    inFlight.add(tracked);
    return tracked;
  };

  for (let i = 0; i < events.length; i++) {
    if (speed > 0) {
      const due = ((events[i] as TapeEvent).ts - tape0) / speed;
      const wait = due - (performance.now() - t0);
      if (wait > 0) await sleep(wait);
    } else {
      while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    }
    void fire(i);
  }
  await Promise.all(inFlight);
  return { records, latency: rec.summary(), errors, wallMs: performance.now() - t0 };
}
