/**
 * The local engine: one ModelPool per configured model, looked up by name or alias.
 * Model files are found by an injected resolver (src/models), so the engine never
 * downloads or generates weights itself.
 */
import { ColoError } from '../core/errors';
import type { CompletionResult, InferenceRequest, TokenSink } from '../core/types';
import type { EngineConfig, LocalModelConfig } from '../config';
import { ModelPool, type LocalCallOptions } from './pool';
import type { RequestTrace } from './trace';
import type { CancelSignal } from '../core/cancel';

export interface ResolvedModelFile {
  path: string;
  /** Said plainly in the log, e.g. when a synthetic stand-in replaced the default model. */
  warning?: string | undefined;
}

export type ModelFileResolver = (model: LocalModelConfig) => Promise<ResolvedModelFile>;

export interface EngineLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export class LocalEngine {
  private readonly byName = new Map<string, ModelPool>();
  readonly pools: ModelPool[] = [];
  readonly defaultModel: string | undefined;

  private constructor(pools: ModelPool[], defaultModel: string | undefined) {
    this.pools = pools;
    for (const p of pools) for (const n of [p.name, ...p.aliases]) this.byName.set(n, p);
    this.defaultModel = defaultModel ?? pools[0]?.name;
  }

  static async create(
    cfg: EngineConfig,
    resolve: ModelFileResolver,
    log: EngineLogger,
    opts: { faultInjection?: boolean } = {},
  ): Promise<LocalEngine> {
    const pools: ModelPool[] = [];
    try {
      for (const m of cfg.models) {
        const file = await resolve(m);
        if (file.warning) log.warn(file.warning, { model: m.name });
        const pool = await ModelPool.create({
          name: m.name,
          aliases: m.aliases,
          modelPath: file.path,
          replicas: m.replicas,
          sequences: m.sequences,
          threads: m.threads,
          contextSize: m.contextSize,
          maxQueue: m.maxQueue,
          gpu: cfg.gpu,
          gpuLayers: m.gpuLayers,
          flashAttention: m.flashAttention,
          kvCacheType: m.kvCacheType,
          warmupPrompt: m.warmupPrompt,
          faultInjection: opts.faultInjection,
        });
        const i = pool.info!;
        log.info('model loaded', {
          model: m.name,
          path: file.path,
          gpu: i.gpu || 'cpu',
          threads: i.threads,
          sequences: i.sequences,
          contextSize: i.contextSize,
          flashAttention: i.flashAttention,
          kvCacheType: i.kvCacheType,
          ...(i.attentionProbe
            ? {
                attentionProbeMs: Object.fromEntries(
                  Object.entries(i.attentionProbe).map(([k, v]) => [k, +v.toFixed(2)]),
                ),
              }
            : {}),
          loadMs: Math.round(i.loadMs),
          warmupMs: Math.round(i.warmupMs),
          ...(i.warmupQuick ? { warmupQuick: true } : {}),
          rates: i.rates,
        });
        if (!i.batching && i.sequences > 1) {
          log.warn('node-llama-cpp internals moved: concurrent streams decode unbatched', { model: m.name });
        } else if (!i.batchOrdered && i.sequences > 1) {
          log.warn('node-llama-cpp internals moved: batches go out of sequence order (slower steps)', {
            model: m.name,
          });
        }
        if (i.attentionProbeError) {
          log.warn('attention probe failed; llama.cpp defaults kept', {
            model: m.name,
            error: i.attentionProbeError,
          });
        }
        pools.push(pool);
      }
    } catch (err) {
      await Promise.all(pools.map((p) => p.close()));
      throw err;
    }
    return new LocalEngine(pools, cfg.defaultModel);
  }

  hasModel(name: string): boolean {
    return this.byName.has(name);
  }

  pool(name: string): ModelPool | undefined {
    return this.byName.get(name);
  }

  get(name: string): ModelPool {
    const pool = this.byName.get(name);
    if (!pool) throw new ColoError('MODEL_NOT_FOUND', `model "${name}" is not loaded`, { field: 'model' });
    return pool;
  }

  complete(
    req: InferenceRequest,
    sink: TokenSink | null,
    signal: CancelSignal,
    opts?: LocalCallOptions,
    trace?: RequestTrace,
  ): Promise<CompletionResult> {
    return this.get(req.model).complete(req, sink, signal, opts, trace);
  }

  async drain(graceMs: number): Promise<void> {
    await Promise.all(this.pools.map((p) => p.drain(graceMs)));
  }

  async close(): Promise<void> {
    await Promise.all(this.pools.map((p) => p.close()));
  }
}
