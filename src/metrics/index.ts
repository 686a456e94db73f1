export { Metrics, type MetricsOptions } from './registry';
export { requestDone, requestStart, type RequestDoneEvent } from './events';
export { LatencySeries, latencyHistogram, summarize, type Summary } from './histogram';
export { HistogramFamily, BucketSeries, LATENCY_BUCKETS_S } from './buckets';
export { LabelPolicy, OTHER } from './labels';
export { metricsConfigSchema, type MetricsConfig, type TracingConfig } from './config';
export { DashboardFeed, dashboardAsset, dashboardSnapshot, type DashboardSnapshot } from './dashboard';
export { listenMetrics, type MetricsListener } from './listener';
export { startTracing, type Tracing } from './tracing';
