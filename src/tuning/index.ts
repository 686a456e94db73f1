export { tuningConfigSchema, coreLayoutSchema, type TuningConfig, type CoreLayout } from './config';
export {
  loadTuning,
  fallbackTuning,
  findAddonPath,
  type Tuning,
  type TuningResult,
  type LockMemoryOptions,
  type LoadTuningOptions,
} from './load';
export {
  applyLayout,
  coresForRole,
  MLOCK_REFUSED,
  type TuningRole,
  type TuningReport,
  type TuningStep,
} from './apply';
export { cpuBudget, cgroupCpuQuota } from './cpus';
