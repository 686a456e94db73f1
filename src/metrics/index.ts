export { Metrics } from './registry';
export { requestDone, requestStart, type RequestDoneEvent } from './events';
export { LatencySeries, latencyHistogram, summarize, type Summary } from './histogram';
