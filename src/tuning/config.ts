/**
 * Host-tuning config. Everything is off by default: pinning and locking only help on a
 * dedicated colocated box, and on a shared dev machine they hurt neighbours.
 */
import { z } from 'zod';

const coreId = z.int().min(0).max(1023);
const coreSet = z.array(coreId).min(1);

export const coreLayoutSchema = z.strictObject({
  /** Cores for the network (uWS, main) thread. Default [] = not pinned. */
  network: z.array(coreId).default([]),
  /**
   * Cores for each worker thread: entry i is worker i's set. A pool larger than the
   * list wraps around (worker i uses entry i % length). Default [] = not pinned.
   */
  workers: z.array(coreSet).default([]),
});

export const tuningConfigSchema = z.strictObject({
  /** Master switch; when false nothing is pinned or locked. Default false. */
  enabled: z.boolean().default(false),
  /** Which cores each thread runs on. Default { network: [], workers: [] }. */
  layout: coreLayoutSchema.default({ network: [], workers: [] }),
  /**
   * Ask for mlockall(MCL_CURRENT | MCL_FUTURE). Refused on Node 20: with memory locked,
   * V8 aborts the process when a worker thread starts, exits or collects garbage
   * (madvise(MADV_DONTNEED) fails with EINVAL on locked pages; see native/README.md).
   * Setting it true logs the refusal, or fails start-up when `required`. Lock model
   * weights with node-llama-cpp's `useMlock` instead. Default false.
   */
  lockMemory: z.boolean().default(false),
  /** SCHED_FIFO priority (1..99) for the network thread; 0 leaves the scheduler alone. Default 0. */
  networkRealtimePriority: z.int().min(0).max(99).default(0),
  /** Fail start-up (ColoError NOT_READY) when a requested step fails. Default false: log and go on. */
  required: z.boolean().default(false),
  /** Addon path; '' searches for native/build/Release/colo_native.node upwards. Default ''. */
  addonPath: z.string().default(''),
});

export type CoreLayout = z.infer<typeof coreLayoutSchema>;
export type TuningConfig = z.infer<typeof tuningConfigSchema>;
