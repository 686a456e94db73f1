/**
 * The one configuration schema. Every field states its default; objects are strict,
 * so a misspelt key stops the start with a message naming it (see load.ts).
 * Sub-systems own their own sections' schemas; this file composes them.
 */
import { z } from 'zod';
import { protocolConfigSchema } from '../protocol/config';
import { classifierConfigSchema } from '../classifier/config';
import { gatewayConfigSchema } from '../gateway/config';
import { authConfigSchema } from '../auth/config';
import { limitsConfigSchema } from '../limits/config';
import { pricingConfigSchema } from '../limits/pricing';
import { modelSourcesConfigSchema } from '../models/config';
import { redisConfigSchema } from '../limits/redis';
import { cacheConfigSchema } from '../cache/config';
import { redactConfigSchema } from '../redact/config';
import { auditConfigSchema } from '../audit/config';
import { tuningConfigSchema } from '../tuning/config';
import { metricsConfigSchema } from '../metrics/config';
import { skillsConfigSchema } from '../skills/config';

export const localModelSchema = z.strictObject({
  /** Name clients use. Required. */
  name: z.string().min(1),
  /**
   * Where the weights come from: a manifest name (e.g. `stories260K`), a file path,
   * `hf:owner/repo/file.gguf` or `synthetic:<shape>-<quant>`. Default: same as name.
   */
  source: z.string().min(1).optional(),
  /** Other names that select this model. Default []. */
  aliases: z.array(z.string().min(1)).default([]),
  /** Tokens of context per sequence. Default 2048. */
  contextSize: z
    .number()
    .int()
    .min(64)
    .max(1 << 20)
    .default(2048),
  /** Sequences in the context: how many requests one worker decodes together. Default 8. */
  sequences: z.number().int().min(1).max(256).default(8),
  /** Worker threads, each holding its own copy of the model. Default 1. */
  replicas: z.number().int().min(1).max(64).default(1),
  /** CPU threads per worker for llama.cpp. Default 1 (one per physical core the worker owns). */
  threads: z.number().int().min(1).max(256).default(1),
  /** Requests that may wait for a free sequence before OVERLOADED. Default 64. */
  maxQueue: z.number().int().min(0).max(100_000).default(64),
  /** Prompt used to warm the model up at load. Default 'Once upon a time'. */
  warmupPrompt: z.string().default('Once upon a time'),
  /**
   * A gateway alias or target (gateway.aliases / gateway.targets) that serves this
   * model's requests when the local pool is full or cannot meet the deadline.
   * Default: none (local only).
   */
  fallback: z.string().min(1).optional(),
  /** 'local-first' (default), 'local-only' or 'remote-first'. */
  policy: z.enum(['local-first', 'local-only', 'remote-first']).default('local-first'),
  /**
   * Flash attention: true, false or 'auto' (default). 'auto' keeps llama.cpp's choice on a
   * GPU; on the CPU Colo times both at load on a throwaway context and turns it off only
   * when that is clearly faster (for stories260K: 0.32 vs 0.49 ms per decode step).
   */
  flashAttention: z.union([z.literal('auto'), z.boolean()]).default('auto'),
  /**
   * The KV cache's element type: 'f16' (llama.cpp's default), 'f32' or 'auto' (default).
   * 'auto' keeps f16 on a GPU; on the CPU Colo times f32 beside f16 with the flash
   * attention candidates and keeps it only when at least 10% faster and at most 256 MiB
   * more memory (for stories260K: a 200-token stream 72-78 vs 87-109 ms).
   */
  kvCacheType: z.enum(['auto', 'f16', 'f32']).default('auto'),
  /** Layers to offload to the GPU ('auto', 'max' or a count). Default 'auto'. */
  gpuLayers: z.union([z.literal('auto'), z.literal('max'), z.number().int().min(0)]).default('auto'),
});
export type LocalModelConfig = z.infer<typeof localModelSchema>;

export const serverSchema = z.strictObject({
  /** Listen address. Default 127.0.0.1; anything else needs auth configured. */
  host: z.string().default('127.0.0.1'),
  /** Listen port; 0 picks a free one. Default 8080. */
  port: z.number().int().min(0).max(65535).default(8080),
  /**
   * Busy polling: for this many ms after the last request, frame or token, the network
   * thread keeps its event loop turning instead of sleeping (it answers without being
   * woken; costs a core while traffic flows). 0 turns it off. Off by itself when the
   * models' llama.cpp threads leave no core for it. Default 50.
   */
  busyPollMs: z.number().int().min(0).max(1000).default(50),
  /**
   * While it polls, the network thread also runs canned requests through the parse,
   * validate, predict and encode stages (no I/O, no state), so a request after a quiet
   * spell finds that code hot (src/core/busy-poll.ts, "Warming"). It shortens sporadic
   * requests' path to the worker but lengthened GC pauses under steady gateway load
   * (bench/README.md, "Warming the request path"), so it is opt-in. Default false.
   */
  warmPath: z.boolean().default(false),
  /** Largest accepted WebSocket frame; bigger ones get FRAME_TOO_LARGE. Default 65536. */
  maxFrameBytes: z
    .number()
    .int()
    .min(256)
    .max(16 << 20)
    .default(64 << 10),
  /** Largest accepted HTTP body. Default 1 MiB. */
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 << 20)
    .default(1 << 20),
  /** Bytes buffered per socket before tokens are coalesced; default 256 KiB. */
  softBackpressureBytes: z
    .number()
    .int()
    .min(1024)
    .default(256 << 10),
  /** Bytes buffered per socket before the slow client is disconnected; default 16 MiB. */
  maxBackpressureBytes: z
    .number()
    .int()
    .min(4096)
    .default(16 << 20),
  /** In-flight requests per WebSocket connection. Default 256. */
  maxInflightPerConnection: z.number().int().min(1).default(256),
  /** WebSocket idle timeout in seconds (0 disables; uWS needs >= 8). Default 120. */
  idleTimeoutSec: z.number().int().min(0).default(120),
  /** On shutdown, how long in-flight requests may finish before they are cancelled. Default 10000 ms. */
  shutdownGraceMs: z.number().int().min(0).default(10_000),
  /** Deadline applied when a request sets none, in ms. Default 30000. */
  defaultDeadlineMs: z.number().int().min(1).default(30_000),
  /** Largest max_tokens a request may ask for. Default 4096. */
  maxTokensLimit: z.number().int().min(1).default(4096),
});

export const engineSchema = z.strictObject({
  /** GPU backend: 'auto' detects CUDA, Metal or Vulkan and falls back to CPU. Default 'auto'. */
  gpu: z.enum(['auto', 'cuda', 'metal', 'vulkan', 'cpu']).default('auto'),
  /** Directories searched for model files by name, in order. Default ['models/cache', '../shared/models']. */
  modelDirs: z.array(z.string()).default(['models/cache', '../shared/models']),
  /** Where downloaded and synthetic models are stored. Default 'models/cache'. */
  cacheDir: z.string().default('models/cache'),
  /** Local models to load. Default: the tiny real model stories260K. */
  models: z.array(localModelSchema).default([localModelSchema.parse({ name: 'stories260K' })]),
  /** Model used when a request names none. Default: the first model. */
  defaultModel: z.string().optional(),
  /** Start on a tiny synthetic model when the default model cannot be had offline. Default true. */
  syntheticFallback: z.boolean().default(true),
});

export const logSchema = z.strictObject({
  /** 'debug' | 'info' | 'warn' | 'error'. Default 'info'. */
  level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

export const configSchema = z.strictObject({
  server: serverSchema.default(serverSchema.parse({})),
  engine: engineSchema.default(engineSchema.parse({})),
  log: logSchema.default(logSchema.parse({})),
  /** FlatBuffers verifier and request limits (src/protocol/config.ts). */
  protocol: protocolConfigSchema.default(protocolConfigSchema.parse({})),
  /** ONNX classifiers (src/classifier/config.ts). Default: none. */
  classifiers: classifierConfigSchema.default(classifierConfigSchema.parse({})),
  /** Remote providers, aliases, retries, breakers (src/gateway/config.ts). Default: none. */
  gateway: gatewayConfigSchema.default(gatewayConfigSchema.parse({})),
  /** API keys, tenants, subscriptions (src/auth/config.ts). Default: off (loopback only). */
  auth: authConfigSchema.default(authConfigSchema.parse({})),
  /** Quotas per key and tenant (src/limits/config.ts). Default: on, no limits set. */
  limits: limitsConfigSchema.default(limitsConfigSchema.parse({})),
  /** Where model weights come from: offline, hf: mirror, sha256 pins, resumes (src/models/config.ts). */
  models: modelSourcesConfigSchema.default(modelSourcesConfigSchema.parse({})),
  /** Prices per gateway target and local model, USD per million tokens (src/limits/pricing.ts). Default: all free. */
  pricing: pricingConfigSchema.default(pricingConfigSchema.parse({})),
  /** Exact-match response cache (src/cache/config.ts). Default: on, deterministic requests only. */
  cache: cacheConfigSchema.default(cacheConfigSchema.parse({})),
  /** Masking before remote providers (src/redact/config.ts). Default: on for remote routes. */
  redact: redactConfigSchema.default(redactConfigSchema.parse({})),
  /** Durable audit log (src/audit/config.ts). Default: on, data/audit, fsync always. */
  audit: auditConfigSchema.default(auditConfigSchema.parse({})),
  /** Shared state across boxes: auth, quotas and cache move to Redis when set. Default: none. */
  redis: redisConfigSchema.optional(),
  /** Trading skills: built-ins and extra templates (src/skills). Default: the built-ins. */
  skills: skillsConfigSchema.default(skillsConfigSchema.parse({})),
  /** Core pinning (native addon, optional) (src/tuning/config.ts). Default: off. */
  tuning: tuningConfigSchema.default(tuningConfigSchema.parse({})),
  /** /metrics access, tenant labels, the dashboard, OpenTelemetry traces (src/metrics/config.ts). */
  metrics: metricsConfigSchema.default(metricsConfigSchema.parse({})),
});

export type ColoConfig = z.infer<typeof configSchema>;
export type ServerConfig = ColoConfig['server'];
export type EngineConfig = ColoConfig['engine'];
