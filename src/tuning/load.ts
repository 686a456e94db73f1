/**
 * Loads the optional host-tuning addon, or returns a fallback that says why it is off.
 * Colo must run without the addon (no compiler at install, macOS dev box, container
 * without CAP_SYS_NICE), so nothing here throws for a missing or broken addon: the
 * caller gets `available: false` and a one-line `reason` to log.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ADDON_RELATIVE_PATH,
  LOCK_CURRENT,
  LOCK_FUTURE,
  LOCK_ONFAULT,
  type NativeTuningAddon,
} from './native-types';

/** Outcome of one tuning step. `errno` is the symbolic code (EPERM, ENOMEM, UNAVAILABLE...). */
export type TuningResult = { ok: true } | { ok: false; errno: string; error: string };

export interface LockMemoryOptions {
  /** Lock pages mapped now. Default true. */
  current?: boolean;
  /** Lock pages mapped later (heap growth, new worker stacks). Default true. */
  future?: boolean;
  /** Lock lazily, on first touch, instead of faulting everything in now. Default false. */
  onFault?: boolean;
}

export interface Tuning {
  /** True when the native addon loaded. */
  readonly available: boolean;
  /** Why the addon is unavailable; undefined when available. */
  readonly reason: string | undefined;
  /** The path tried (or loaded). */
  readonly addonPath: string;
  /** Pins the calling thread (main or worker) to the given cores. */
  pinThreadToCores(cores: readonly number[]): TuningResult;
  /** Cores the calling thread may run on; [] when unknown. */
  getThreadAffinity(): number[];
  /** mlockall(); process-wide. */
  lockMemory(opts?: LockMemoryOptions): TuningResult;
  /** munlockall(); process-wide. */
  unlockMemory(): TuningResult;
  /** RLIMIT_MEMLOCK in bytes (Infinity when unlimited); undefined when unknown. */
  memlockLimit(): number | undefined;
  /**
   * Monotonic nanoseconds: CLOCK_MONOTONIC_RAW with the addon, else
   * process.hrtime.bigint() (CLOCK_MONOTONIC, which NTP may slew).
   */
  monotonicNs(): bigint;
  /** Core the calling thread runs on now; -1 when unknown. */
  currentCpu(): number;
  /** Kernel thread id; -1 when unknown. */
  threadId(): number;
  /** SCHED_FIFO priority 1..99 for the calling thread; 0 restores SCHED_OTHER. */
  setRealtimePriority(priority: number): TuningResult;
}

export interface LoadTuningOptions {
  /** Explicit addon path. Default: search upwards from this module for ADDON_RELATIVE_PATH. */
  addonPath?: string;
}

const OK: TuningResult = Object.freeze({ ok: true });

/** Turns the addon's `"ECODE: text"` convention into a TuningResult. */
function toResult(raw: string | null): TuningResult {
  if (raw === null) return OK;
  const colon = raw.indexOf(':');
  return { ok: false, errno: colon > 0 ? raw.slice(0, colon) : 'EUNKNOWN', error: raw };
}

/**
 * The source tree (src/tuning/load.ts) and the bundle (dist/cli.js, dist/worker.js)
 * sit at different depths, so walk up until a directory holds the addon.
 */
export function findAddonPath(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from);
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, ADDON_RELATIVE_PATH);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return join(resolve(from, '..', '..'), ADDON_RELATIVE_PATH);
}

function assertCores(cores: readonly number[]): number[] {
  if (
    !Array.isArray(cores) ||
    cores.length === 0 ||
    !cores.every((c) => Number.isInteger(c) && c >= 0 && c < 1024)
  ) {
    throw new RangeError(
      `cores must be a non-empty array of integers in [0, 1024), got ${JSON.stringify(cores)}`,
    );
  }
  return [...cores];
}

function lockFlags(opts: LockMemoryOptions): number {
  let flags = 0;
  if (opts.current ?? true) flags |= LOCK_CURRENT;
  if (opts.future ?? true) flags |= LOCK_FUTURE;
  if (opts.onFault ?? false) flags |= LOCK_ONFAULT;
  if (flags === 0) throw new RangeError('lockMemory: at least one of current/future must be true');
  return flags;
}

function nativeTuning(addon: NativeTuningAddon, addonPath: string): Tuning {
  return {
    available: true,
    reason: undefined,
    addonPath,
    pinThreadToCores: (cores) => toResult(addon.pinThreadToCores(assertCores(cores))),
    getThreadAffinity: () => {
      const r = addon.getThreadAffinity();
      return typeof r === 'string' ? [] : r;
    },
    lockMemory: (opts = {}) => toResult(addon.lockMemory(lockFlags(opts))),
    unlockMemory: () => toResult(addon.unlockMemory()),
    memlockLimit: () => {
      const r = addon.memlockLimit();
      if (typeof r === 'string') return undefined;
      return r < 0 ? Infinity : r;
    },
    monotonicNs: () => addon.monotonicNs(),
    currentCpu: () => addon.currentCpu(),
    threadId: () => addon.threadId(),
    setRealtimePriority: (priority) => {
      if (!Number.isInteger(priority) || priority < 0 || priority > 99) {
        throw new RangeError(`priority must be an integer in [0, 99], got ${priority}`);
      }
      return toResult(addon.setRealtimePriority(priority));
    },
  };
}

/** The stand-in when the addon is missing: every OS step reports UNAVAILABLE, clocks still work. */
export function fallbackTuning(reason: string, addonPath: string): Tuning {
  const unavailable = (): TuningResult => ({
    ok: false,
    errno: 'UNAVAILABLE',
    error: `host tuning is off: ${reason}`,
  });
  return {
    available: false,
    reason,
    addonPath,
    pinThreadToCores: (cores) => {
      assertCores(cores);
      return unavailable();
    },
    getThreadAffinity: () => [],
    lockMemory: (opts = {}) => {
      lockFlags(opts);
      return unavailable();
    },
    unlockMemory: unavailable,
    memlockLimit: () => undefined,
    monotonicNs: () => process.hrtime.bigint(),
    currentCpu: () => -1,
    threadId: () => -1,
    setRealtimePriority: unavailable,
  };
}

/**
 * Loads the addon for the calling thread. Each worker thread calls this itself: the
 * addon is context-aware, and pinning always applies to the thread that calls it.
 */
export function loadTuning(opts: LoadTuningOptions = {}): Tuning {
  const addonPath = opts.addonPath ? resolve(opts.addonPath) : findAddonPath();
  if (!existsSync(addonPath)) {
    return fallbackTuning(`addon not built (${addonPath} missing; run \`npm run install\`)`, addonPath);
  }
  try {
    const require = createRequire(import.meta.url);
    const addon = require(addonPath) as NativeTuningAddon;
    if (typeof addon.pinThreadToCores !== 'function' || typeof addon.monotonicNs !== 'function') {
      return fallbackTuning(`addon at ${addonPath} is not colo_native (missing exports)`, addonPath);
    }
    return nativeTuning(addon, addonPath);
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return fallbackTuning(`addon failed to load: ${msg}`, addonPath);
  }
}
