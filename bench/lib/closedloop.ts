/**
 * Closed-loop load: N clients, each sends, waits for the reply, sends again. It
 * measures round-trip time at the concurrency the system sustains. It under-reports
 * stalls (coordinated omission); pair it with an open-loop run for the tail, or pass
 * `expectedIntervalNs` to back-fill the samples a stall swallowed.
 */
import { createHistogram, recordCorrected, recordNs, summarize, type LatencySummary } from './hdr';
import { hrtimeClock, type ClockNs } from './openloop';

export interface ClosedLoopOptions {
  /** Concurrent clients. */
  concurrency: number;
  /** Total requests across clients (warm-up excluded). At least one of count and durationMs. */
  count?: number;
  /** Stop issuing new requests after this many ms. */
  durationMs?: number;
  /** Requests before measuring starts (JIT, connection warm-up). Default 0. */
  warmup?: number;
  /** Sends request i from client c; resolves when its reply is in. */
  send: (client: number, i: number) => Promise<unknown>;
  /** When set, each sample is CO-corrected against this expected interval. */
  expectedIntervalNs?: number;
  clock?: ClockNs;
}

export interface ClosedLoopResult {
  concurrency: number;
  completed: number;
  errors: number;
  elapsedMs: number;
  throughputPerSec: number;
  rtt: LatencySummary;
}

export async function runClosedLoop(opts: ClosedLoopOptions): Promise<ClosedLoopResult> {
  if (!(opts.concurrency >= 1)) throw new RangeError(`concurrency must be >= 1, got ${opts.concurrency}`);
  if (opts.count === undefined && opts.durationMs === undefined)
    throw new RangeError('set count or durationMs');
  const clock = opts.clock ?? hrtimeClock;
  const warmup = opts.warmup ?? 0;
  const limit = warmup + (opts.count ?? Infinity);
  const h = createHistogram();
  let issued = 0;
  let completed = 0;
  let errors = 0;
  let measureStart = 0;
  let deadline = Infinity;

  const startMeasuring = () => {
    measureStart = clock();
    if (opts.durationMs !== undefined) deadline = measureStart + opts.durationMs * 1e6;
  };
  if (warmup === 0) startMeasuring();

  const client = async (c: number): Promise<void> => {
    while (issued < limit && clock() < deadline) {
      const i = issued++;
      if (i === warmup && warmup > 0) startMeasuring();
      const t0 = clock();
      try {
        await opts.send(c, i);
      } catch {
        if (i >= warmup) errors++;
        continue;
      }
      const rtt = clock() - t0;
      if (i < warmup) continue;
      if (opts.expectedIntervalNs) recordCorrected(h, rtt, opts.expectedIntervalNs);
      else recordNs(h, rtt);
      completed++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, c) => client(c)));
  const elapsedNs = Math.max(1, clock() - (measureStart || clock()));
  const result: ClosedLoopResult = {
    concurrency: opts.concurrency,
    completed,
    errors,
    elapsedMs: elapsedNs / 1e6,
    throughputPerSec: (completed * 1e9) / elapsedNs,
    rtt: summarize(h),
  };
  h.destroy();
  return result;
}
