/**
 * The whole native surface of native/src/colo_native.c, typed in one place.
 * OS refusals come back as `"ECODE: text"` strings (null on success); only invalid
 * arguments throw. Keep this file in step with the C source.
 */
export interface NativeTuningAddon {
  /** Pins the calling thread to these cores. */
  pinThreadToCores(cores: number[]): string | null;
  /** The calling thread's allowed cores; a string on failure. */
  getThreadAffinity(): number[] | string;
  /** mlockall with a bitmask of LOCK_* flags. */
  lockMemory(flags: number): string | null;
  /** munlockall. */
  unlockMemory(): string | null;
  /** RLIMIT_MEMLOCK soft limit in bytes, -1 when unlimited; a string on failure. */
  memlockLimit(): number | string;
  /** CLOCK_MONOTONIC_RAW in nanoseconds. */
  monotonicNs(): bigint;
  /** sched_getcpu() for the calling thread, -1 when unknown. */
  currentCpu(): number;
  /** gettid(), -1 when unknown. */
  threadId(): number;
  /** SCHED_FIFO at 1..99, SCHED_OTHER at 0, for the calling thread. */
  setRealtimePriority(priority: number): string | null;
}

/** lockMemory flag bits (mirror COLO_LOCK_* in the C source). */
export const LOCK_CURRENT = 1;
export const LOCK_FUTURE = 2;
export const LOCK_ONFAULT = 4;

/** Where node-gyp puts the addon, relative to the package root. */
export const ADDON_RELATIVE_PATH = 'native/build/Release/colo_native.node';
