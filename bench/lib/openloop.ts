/**
 * Open-loop load: requests go out at a constant arrival rate whatever the server does,
 * like market data does. Latency is measured from each request's *scheduled* send time,
 * so a stall in the server, the client or the event loop is charged to every request
 * it delays (no coordinated omission; the wrk2 approach).
 *
 * Timing in one JS thread: when the next send is further away than `spinBelowMs` we
 * sleep with a timer; closer than that we yield with setImmediate so I/O callbacks
 * (the replies) still run. Late sends fire in a burst to catch up, and their lateness
 * is counted in their latency.
 */
import { setImmediate as yieldImmediate, setTimeout as sleepMs } from 'node:timers/promises';
import type { Histogram } from 'hdr-histogram-js';
import { createHistogram, recordNs, summarize, type LatencySummary } from './hdr';

/** Monotonic nanoseconds as a number (exact to 2^53 ns, about 104 days). */
export type ClockNs = () => number;

export const hrtimeClock: ClockNs = () => Number(process.hrtime.bigint());

export interface OpenLoopOptions {
  /** Requests per second. */
  ratePerSec: number;
  /** Most requests to send. At least one of count and durationMs must be set. */
  count?: number;
  /** Length of the sending schedule in ms. */
  durationMs?: number;
  /**
   * Cap on requests in flight; when reached the scheduler waits for one to finish, and
   * that wait is charged to the later requests' latency. Default 10,000.
   */
  maxInFlight?: number;
  /** Sends request i; resolves when its reply is in. */
  send: (i: number) => Promise<unknown>;
  /** Injected for tests. Default hrtimeClock. */
  clock?: ClockNs;
  /** Sleeps about `ms`; 0 means yield once. Injected for tests. */
  sleep?: (ms: number) => Promise<unknown>;
  /** Below this gap to the next send, yield instead of sleeping. Default 1 ms. */
  spinBelowMs?: number;
}

export interface OpenLoopResult {
  ratePerSec: number;
  sent: number;
  completed: number;
  errors: number;
  /** From the first scheduled send to the last reply. */
  elapsedMs: number;
  /** completed / elapsed. */
  achievedRatePerSec: number;
  /** Latency from scheduled send time: what a caller on the schedule sees. */
  latency: LatencySummary;
  /** Latency from actual send time: what a closed-loop tool would have reported. */
  serviceTime: LatencySummary;
  /** Worst lateness of a send against its schedule, in µs: the client's own jitter. */
  maxSendLagUs: number;
}

/** How many requests the schedule holds. */
export function plannedCount(ratePerSec: number, count?: number, durationMs?: number): number {
  if (!(ratePerSec > 0)) throw new RangeError(`ratePerSec must be > 0, got ${ratePerSec}`);
  if (count === undefined && durationMs === undefined) throw new RangeError('set count or durationMs');
  const byDuration = durationMs === undefined ? Infinity : Math.floor((durationMs / 1000) * ratePerSec);
  return Math.max(0, Math.min(count ?? Infinity, byDuration));
}

/** Scheduled send time of request i, in ns from the run's start. */
export function scheduledOffsetNs(i: number, ratePerSec: number): number {
  return (i * 1e9) / ratePerSec;
}

const defaultSleep = (ms: number): Promise<unknown> => (ms <= 0 ? yieldImmediate() : sleepMs(ms));

export async function runOpenLoop(opts: OpenLoopOptions): Promise<OpenLoopResult> {
  const total = plannedCount(opts.ratePerSec, opts.count, opts.durationMs);
  const clock = opts.clock ?? hrtimeClock;
  const sleep = opts.sleep ?? defaultSleep;
  const spinBelowNs = (opts.spinBelowMs ?? 1) * 1e6;
  const maxInFlight = opts.maxInFlight ?? 10_000;
  const latency: Histogram = createHistogram();
  const service: Histogram = createHistogram();

  let inFlight = 0;
  let completed = 0;
  let errors = 0;
  let maxLagNs = 0;
  let lastDone = 0;
  let wake: (() => void) | undefined;
  const pending = new Set<Promise<unknown>>();

  const start = clock();
  let i = 0;
  while (i < total) {
    const due = start + scheduledOffsetNs(i, opts.ratePerSec);
    const now = clock();
    if (due > now) {
      const gap = due - now;
      await sleep(gap > spinBelowNs ? (gap - spinBelowNs / 2) / 1e6 : 0);
      continue;
    }
    if (inFlight >= maxInFlight) {
      await new Promise<void>((resolve) => (wake = resolve));
      continue;
    }
    maxLagNs = Math.max(maxLagNs, now - due);
    inFlight++;
    const sentAt = now;
    const p = opts.send(i).then(
      () => {
        const done = clock();
        recordNs(latency, done - due);
        recordNs(service, done - sentAt);
        completed++;
        lastDone = Math.max(lastDone, done);
      },
      () => {
        errors++;
      },
    );
    const tracked = p.finally(() => {
      inFlight--;
      pending.delete(tracked);
      const w = wake;
      wake = undefined;
      w?.();
    });
    pending.add(tracked);
    i++;
  }
  await Promise.all(pending);
  const elapsedNs = Math.max(1, (lastDone || clock()) - start);
  const result: OpenLoopResult = {
    ratePerSec: opts.ratePerSec,
    sent: i,
    completed,
    errors,
    elapsedMs: elapsedNs / 1e6,
    achievedRatePerSec: (completed * 1e9) / elapsedNs,
    latency: summarize(latency),
    serviceTime: summarize(service),
    maxSendLagUs: Math.round(maxLagNs) / 1000,
  };
  latency.destroy();
  service.destroy();
  return result;
}
