/**
 * One local model: a Piscina pool of long-lived workers, each holding the model and a
 * context of `sequences` sequences, plus Colo's own bounded priority admission queue
 * in front. Piscina's queue stays empty: a task is dispatched only when a sequence is
 * free, so queue depth and wait estimates are exact here.
 *
 * Cancel and deadline are in-band (a message on the task's port). Piscina's own
 * abort signal is never used: it terminates the worker, and terminating a thread
 * that holds llama.cpp can abort the whole process.
 */
import { MessageChannel } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { Piscina } from 'piscina';
import { ColoError, toColoError } from '../core/errors';
import type { CompletionResult, InferenceRequest, TokenSink } from '../core/types';
import { AdmissionQueue } from './admission';
import { ServiceEstimator } from './estimator';
import type { CancelReason, GenerateTask, WorkerInfo, WorkerInit, WorkerPortMessage } from './messages';
import { RequestTrace } from './trace';

export interface ModelPoolOptions {
  name: string;
  aliases: readonly string[];
  modelPath: string;
  replicas: number;
  sequences: number;
  threads: number;
  contextSize: number;
  maxQueue: number;
  gpu: WorkerInit['gpu'];
  gpuLayers: WorkerInit['gpuLayers'];
  warmupPrompt: string;
  faultInjection?: boolean;
}

/** Extra per-request inputs that are not part of the wire request. */
export interface LocalCallOptions {
  jsonSchema?: string | undefined;
}

interface Pending {
  priority: number;
  seq?: number;
  req: InferenceRequest;
  sink: TokenSink | null;
  trace: RequestTrace;
  opts: LocalCallOptions;
  resolve: (r: CompletionResult) => void;
  reject: (e: ColoError) => void;
  /** Set once dispatched. */
  cancel?: (reason: CancelReason) => void;
  settled: boolean;
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
  signal: AbortSignal;
}

export function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  // Bundled: dist/cli.js sits beside dist/engine-worker.js. From TS sources (tests),
  // use the built worker: `npm run build` makes it.
  const file = here.endsWith('.ts')
    ? resolve(dirname(here), '../../dist/engine-worker.js')
    : join(dirname(here), 'engine-worker.js');
  if (!existsSync(file))
    throw new ColoError('INTERNAL', `engine worker not found at ${file}; run "npm run build"`);
  return file;
}

export class ModelPool {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly slots: number;
  readonly estimator = new ServiceEstimator();
  private readonly piscina: Piscina;
  private readonly queue: AdmissionQueue<Pending>;
  private running = 0;
  private crashes = 0;
  private crashFailures = 0;
  private closed = false;
  info: WorkerInfo | undefined;

  private constructor(private readonly opts: ModelPoolOptions) {
    this.name = opts.name;
    this.aliases = opts.aliases;
    this.slots = opts.replicas * opts.sequences;
    this.queue = new AdmissionQueue(opts.maxQueue);
    const init: WorkerInit = {
      modelName: opts.name,
      modelPath: opts.modelPath,
      contextSize: opts.contextSize,
      sequences: opts.sequences,
      threads: opts.threads,
      gpu: opts.gpu,
      gpuLayers: opts.gpuLayers,
      warmupPrompt: opts.warmupPrompt,
      faultInjection: opts.faultInjection ?? false,
    };
    this.piscina = new Piscina({
      filename: workerFile(),
      workerData: init,
      minThreads: opts.replicas,
      maxThreads: opts.replicas,
      idleTimeout: Number.POSITIVE_INFINITY,
      // Room for the info/crash control tasks beside full sequence use.
      concurrentTasksPerWorker: opts.sequences + 2,
      // Tasks are async and keep ports open; sync atomics would park the thread between tasks.
      atomics: 'disabled',
    });
    this.piscina.on('error', () => {
      // A worker died outside a task; Piscina replaces it (minThreads). Counted for /metrics.
      this.crashes++;
    });
  }

  /** Starts the workers and waits until each has loaded and warmed up the model. */
  static async create(opts: ModelPoolOptions): Promise<ModelPool> {
    const pool = new ModelPool(opts);
    const infos = await Promise.all(
      Array.from({ length: opts.replicas }, () => pool.piscina.run({ kind: 'info' }) as Promise<WorkerInfo>),
    ).catch(async (err: unknown) => {
      await pool.close();
      throw new ColoError(
        'INTERNAL',
        `model ${opts.name} failed to load from ${opts.modelPath}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    });
    pool.info = infos[0];
    return pool;
  }

  get queued(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.running;
  }

  /** Worker threads lost (Piscina replaced them). */
  get workerCrashes(): number {
    return this.crashes;
  }

  /** Requests failed with WORKER_CRASHED, by a lost thread or an in-place recovery. */
  get crashFailedRequests(): number {
    return this.crashFailures;
  }

  /** Estimated wait before a request of this priority would start, in ms. */
  estimateWaitMs(priority: number): number {
    if (this.running < this.slots && this.queue.length === 0) return 0;
    const ahead = this.queue.ahead(priority) + 1;
    return Math.ceil(ahead / this.slots) * this.estimator.serviceMs(64);
  }

  /** Whether a new request would be admitted (a free sequence or room in the queue). */
  hasCapacity(): boolean {
    return this.running < this.slots || this.queue.length < this.queue.capacity;
  }

  complete(
    req: InferenceRequest,
    sink: TokenSink | null,
    signal: AbortSignal,
    opts: LocalCallOptions = {},
    trace = new RequestTrace(req.receivedAt),
  ): Promise<CompletionResult> {
    if (this.closed) return Promise.reject(new ColoError('SHUTTING_DOWN', 'engine is shutting down'));
    if (signal.aborted) return Promise.reject(new ColoError('CANCELLED', 'request cancelled'));
    return new Promise<CompletionResult>((resolve, reject) => {
      const p: Pending = {
        priority: req.priority,
        req,
        sink,
        trace,
        opts,
        resolve,
        reject,
        settled: false,
        signal,
      };
      const remaining = req.deadlineMs - trace.elapsedMs();
      if (remaining <= 0)
        return reject(new ColoError('DEADLINE', `deadline of ${req.deadlineMs} ms passed before admission`));
      if (this.running < this.slots) this.dispatch(p);
      else if (!this.queue.push(p)) {
        return reject(
          new ColoError(
            'OVERLOADED',
            `model ${this.name} is at capacity (${this.slots} running, ${this.queue.capacity} queued)`,
            {
              retryAfterMs: Math.ceil(this.estimator.serviceMs(req.sampling.maxTokens)),
            },
          ),
        );
      }
      p.timer = setTimeout(() => this.expire(p), remaining);
      p.onAbort = () => this.abort(p, 'cancel');
      signal.addEventListener('abort', p.onAbort, { once: true });
    });
  }

  private expire(p: Pending): void {
    this.abort(p, 'deadline');
  }

  private abort(p: Pending, reason: CancelReason): void {
    if (p.settled) return;
    if (p.cancel) {
      p.cancel(reason);
      return;
    }
    this.queue.remove(p);
    this.fail(
      p,
      reason === 'deadline'
        ? new ColoError('DEADLINE', `deadline of ${p.req.deadlineMs} ms passed in queue`)
        : new ColoError('CANCELLED', 'request cancelled'),
    );
  }

  private dispatch(p: Pending): void {
    this.running++;
    p.trace.markDispatched();
    const { port1, port2 } = new MessageChannel();
    const texts: string[] = [];
    p.cancel = (reason) => port1.postMessage(reason);
    port1.on('message', (msg: WorkerPortMessage) => {
      if (typeof msg === 'string') {
        p.trace.markToken();
        texts.push(msg);
        p.sink?.onToken(msg);
        return;
      }
      port1.close();
      if (msg.type === 'error') {
        if (msg.error.code === 'WORKER_CRASHED') this.crashFailures++;
        return this.fail(p, toColoError(msg.error));
      }
      if (msg.finishReason === 'cancelled')
        return this.fail(p, new ColoError('CANCELLED', 'request cancelled'));
      if (msg.finishReason === 'deadline')
        return this.fail(
          p,
          new ColoError('DEADLINE', `deadline of ${p.req.deadlineMs} ms passed while generating`),
        );
      const timings = p.trace.finish();
      this.estimator.observe(p.trace.ttftMs(), p.trace.generateMs(), msg.completionTokens);
      this.settle(p);
      p.resolve({
        id: p.req.id,
        text: texts.join(''),
        finishReason: msg.finishReason,
        usage: { promptTokens: msg.promptTokens, completionTokens: msg.completionTokens },
        route: { kind: 'local', provider: 'local', model: this.name, cached: false },
        timings,
      });
    });
    const task: GenerateTask = {
      kind: 'generate',
      port: port2,
      prompt: p.req.prompt,
      messages: p.req.messages,
      sampling: p.req.sampling,
      priority: p.req.priority,
      jsonSchema: p.opts.jsonSchema,
    };
    this.piscina.run(task, { transferList: [port2] }).catch((err: unknown) => {
      // The worker died with this task on it (Piscina replaces the worker).
      port1.close();
      this.crashes++;
      this.crashFailures++;
      this.fail(
        p,
        new ColoError('WORKER_CRASHED', `worker for model ${this.name} crashed: ${(err as Error).message}`),
      );
    });
  }

  private fail(p: Pending, err: ColoError): void {
    if (p.settled) return;
    p.trace.finish();
    this.settle(p);
    p.reject(err);
  }

  /** Releases the request's slot exactly once and starts the next queued request. */
  private settle(p: Pending): void {
    p.settled = true;
    if (p.timer) clearTimeout(p.timer);
    if (p.onAbort) p.signal.removeEventListener('abort', p.onAbort);
    if (!p.cancel) return;
    this.running--;
    for (;;) {
      if (this.running >= this.slots) return;
      const next = this.queue.pop();
      if (!next) return;
      if (next.settled) continue;
      this.dispatch(next);
    }
  }

  /** Live view from a worker: how many sequences its context has free right now. */
  async workerInfo(): Promise<WorkerInfo> {
    return (await this.piscina.run({ kind: 'info' })) as WorkerInfo;
  }

  /** Fault injection for tests: crashes one worker after `afterMs`. */
  async injectCrash(afterMs: number): Promise<void> {
    await this.piscina.run({ kind: 'crash', afterMs });
  }

  /** Waits for in-flight requests up to graceMs, then cancels what is left. */
  async drain(graceMs: number): Promise<void> {
    this.closed = true;
    for (;;) {
      const p = this.queue.pop();
      if (!p) break;
      this.fail(p, new ColoError('SHUTTING_DOWN', 'server is shutting down'));
    }
    const until = Date.now() + graceMs;
    while (this.running > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  }

  /**
   * Closes the pool. Worker threads are left to end with the process: terminating a
   * thread that holds llama.cpp's backend can abort the process.
   */
  async close(): Promise<void> {
    this.closed = true;
  }
}
