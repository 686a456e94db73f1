export { machineInfo, machineLine, machineEndLine, gitCommit, isMain, type MachineInfo } from './machine';
export { writeResult, resultsDir, envelope, DEFAULT_RESULTS_DIR, type ResultEnvelope } from './results';
export {
  createHistogram,
  recordNs,
  recordCorrected,
  summarize,
  summarizeValues,
  exactPercentile,
  formatSummary,
  type LatencySummary,
  type HistogramOptions,
} from './hdr';
export {
  runOpenLoop,
  plannedCount,
  scheduledOffsetNs,
  hrtimeClock,
  type ClockNs,
  type OpenLoopOptions,
  type OpenLoopResult,
} from './openloop';
export { runClosedLoop, type ClosedLoopOptions, type ClosedLoopResult } from './closedloop';
export { runMicro, type MicroTask, type MicroOptions, type MicroResult, type MicroTaskResult } from './micro';
export {
  compare,
  compareLatency,
  formatComparison,
  printComparison,
  LATENCY_METRICS,
  type ComparisonRow,
} from './compare';
export { processCpuUs, summarizeCpuProfile, type ProfileEntry, type ProfileSummary } from './profile';
export { jsonPoster, type Json } from './http';
