/** The `metrics` config section: who may scrape, tenant labels, the dashboard, tracing. */
import { z } from 'zod';

export const metricsConfigSchema = z.strictObject({
  /**
   * Who may read `GET /metrics` on the main port. 'auto' (default): everyone when auth
   * is off (loopback only then), the admin key when auth is on. 'admin': always the
   * admin key. 'open': everyone, even with auth on (say so on purpose). 'listener': not
   * on the main port at all; served only by the separate `listener` below.
   */
  access: z.enum(['auto', 'admin', 'open', 'listener']).default('auto'),
  /** The separate plain-HTTP scrape listener used when access is 'listener'. Default 127.0.0.1:9464. */
  listener: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      /** 0 picks a free port. */
      port: z.number().int().min(0).max(65535).default(9464),
    })
    .default({ host: '127.0.0.1', port: 9464 }),
  /**
   * Tenants that get their own `tenant` label on request and token counters; any other
   * tenant is counted as 'other'. Default []: no tenant label at all. At most 100.
   */
  tenants: z.array(z.string().min(1)).max(100).default([]),
  dashboard: z
    .strictObject({
      /** Serve `GET /dashboard` (admin key when auth is on). Default true. */
      enabled: z.boolean().default(true),
      /** Percentile window, seconds. Default 60. */
      windowSec: z.number().int().min(5).max(600).default(60),
      /** Push period, ms. Default 1000. */
      intervalMs: z.number().int().min(100).max(10_000).default(1000),
    })
    .default({ enabled: true, windowSec: 60, intervalMs: 1000 }),
  tracing: z
    .strictObject({
      /** Export OpenTelemetry traces over OTLP/HTTP. Default false (nothing is loaded). */
      enabled: z.boolean().default(false),
      /** OTLP/HTTP traces endpoint (JSON). Default http://127.0.0.1:4318/v1/traces. */
      endpoint: z.url().default('http://127.0.0.1:4318/v1/traces'),
      /** Extra headers sent with each export (e.g. an auth token). Default {}. */
      headers: z.record(z.string(), z.string()).default({}),
      /** `service.name` resource attribute. Default 'colo'. */
      serviceName: z.string().min(1).default('colo'),
      /** Fraction of requests traced, 0..1. Default 1. */
      sampleRatio: z.number().min(0).max(1).default(1),
      /** Spans buffered before the exporter drops new ones. Default 2048. */
      maxQueue: z.number().int().min(16).max(1_000_000).default(2048),
    })
    .default({
      enabled: false,
      endpoint: 'http://127.0.0.1:4318/v1/traces',
      headers: {},
      serviceName: 'colo',
      sampleRatio: 1,
      maxQueue: 2048,
    }),
});

export type MetricsConfig = z.infer<typeof metricsConfigSchema>;
export type TracingConfig = MetricsConfig['tracing'];
