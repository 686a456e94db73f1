/**
 * Applies a core layout to the calling thread. The main thread calls it with role
 * network at start-up; each worker calls it with its own index as its first act, since
 * affinity is per thread and only the thread itself can set it through this addon.
 */
import { ColoError } from '../core/errors';
import type { TuningConfig } from './config';
import type { Tuning, TuningResult } from './load';

/** Why applyLayout will not mlockall: measured in bench/e2e/tuning.ts and test/unit/tuning.test.ts. */
export const MLOCK_REFUSED: TuningResult = Object.freeze({
  ok: false as const,
  errno: 'UNSAFE',
  error:
    'UNSAFE: not applied, V8 aborts when a worker thread exits or GCs with memory locked (native/README.md)',
});

export type TuningRole = { kind: 'network' } | { kind: 'worker'; index: number };

export interface TuningStep {
  /** What was attempted, e.g. "pin [1]", "mlockall". */
  step: string;
  result: TuningResult;
}

export interface TuningReport {
  role: TuningRole;
  /** False when tuning is disabled or nothing applies to this role. */
  attempted: boolean;
  steps: TuningStep[];
  /** True when every attempted step succeeded. */
  ok: boolean;
  /** One line for the log, e.g. "tuning network: pin [0] ok; mlockall EPERM: ...". */
  message: string;
}

const roleName = (role: TuningRole): string => (role.kind === 'network' ? 'network' : `worker ${role.index}`);

/** The core set this role should run on, or undefined when the layout leaves it unpinned. */
export function coresForRole(config: TuningConfig, role: TuningRole): number[] | undefined {
  if (role.kind === 'network') return config.layout.network.length > 0 ? config.layout.network : undefined;
  const sets = config.layout.workers;
  if (sets.length === 0) return undefined;
  return sets[role.index % sets.length];
}

/**
 * Runs the steps the config asks for on this thread. Never throws for an OS refusal
 * unless `config.required`; the report's message is what the caller logs.
 */
export function applyLayout(tuning: Tuning, config: TuningConfig, role: TuningRole): TuningReport {
  const name = roleName(role);
  if (!config.enabled) {
    return {
      role,
      attempted: false,
      steps: [],
      ok: true,
      message: `tuning ${name}: off (tuning.enabled=false)`,
    };
  }
  const steps: TuningStep[] = [];
  const cores = coresForRole(config, role);
  if (cores) steps.push({ step: `pin [${cores.join(',')}]`, result: tuning.pinThreadToCores(cores) });
  if (role.kind === 'network') {
    // mlockall is process-wide, so only the network (main) thread would do it; but with
    // worker threads it aborts V8 (native/README.md), so it is refused, never attempted.
    if (config.lockMemory) steps.push({ step: 'mlockall', result: MLOCK_REFUSED });
    if (config.networkRealtimePriority > 0) {
      steps.push({
        step: `SCHED_FIFO ${config.networkRealtimePriority}`,
        result: tuning.setRealtimePriority(config.networkRealtimePriority),
      });
    }
  }
  const ok = steps.every((s) => s.result.ok);
  const detail =
    steps.length === 0
      ? 'nothing to apply for this role'
      : steps.map((s) => (s.result.ok ? `${s.step} ok` : `${s.step} ${s.result.error}`)).join('; ');
  const suffix = tuning.available ? '' : ` (addon unavailable: ${tuning.reason})`;
  const report: TuningReport = {
    role,
    attempted: steps.length > 0,
    steps,
    ok,
    message: `tuning ${name}: ${detail}${suffix}`,
  };
  if (!ok && config.required) {
    throw new ColoError('NOT_READY', `required host tuning failed: ${report.message}`);
  }
  return report;
}
