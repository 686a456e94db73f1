/**
 * One local model: a Piscina pool of long-lived workers, each holding the model and a
 * context of `sequences` sequences, with Colo's scheduler in front (predict-then-admit,
 * EDF with priority, preemption: src/engine/scheduler.ts). Piscina's queue stays
 * empty: a task is dispatched only when a sequence is free.
 *
 * Every request that ends without a result after it was admitted rejects with a
 * ColoError whose `usage` counts the prompt tokens and the completion tokens actually
 * generated (PREEMPTED and SHUTTING_DOWN also carry the text so far), so the caller
 * can charge and audit what was spent.
 *
 * Requests go to the workers on their lanes (src/engine/lanes.ts: one MessagePort per
 * worker thread, opened once), not as Piscina tasks. Cancel and deadline are in-band (a
 * LaneCancel on the lane). Piscina's own abort signal is never used: it terminates the
 * worker, and terminating a thread that holds llama.cpp can abort the whole process.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { Piscina } from 'piscina';
import { ColoError, toColoError } from '../core/errors';
import type { CompletionResult, InferenceRequest, TokenSink, Usage } from '../core/types';
import { CacheMirror } from './cache-mirror';
import { ServiceEstimator } from './estimator';
import type {
  CancelReason,
  GenerateTask,
  ScoreTask,
  WorkerDone,
  WorkerInfo,
  WorkerInit,
  WorkerPortMessage,
} from './messages';
import { Lanes, laneBalancer, type LaneClient } from './lanes';
import { Scheduler, type Job, type Plan } from './scheduler';
import { RequestTrace } from './trace';
import { deadlineOf, promptChars, promptText } from './deadline';
import { timerDelay } from '../core/deadline';
import { argmax, softmax } from './choices';
import { checkGrammarSchema } from './grammar-schema';
import { LogprobLineup, trimLogprobs } from './logprobs';
import { newSharedChoice } from './attention';
import type { CancelSignal } from '../core/cancel';

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
  /** Default 'auto' (src/engine/attention.ts). */
  flashAttention?: WorkerInit['flashAttention'];
  /** Default 'auto' (src/engine/attention.ts). */
  kvCacheType?: WorkerInit['kvCacheType'];
  warmupPrompt: string;
  /**
   * Tokens per stream the warm-up decodes to measure rates. Default 64: with 16 the
   * steps measured were the first after idle (~2x the steady step on this box), the
   * table predicted every burst too slow and admitted 1-2 of the burst where 3
   * fit (bench/README.md, "Batched streams, and a warm-up long enough to time them").
   */
  warmupTokens?: number;
  /** Fraction of a request's remaining time admission keeps in reserve. Default 0.1. */
  deadlineMargin?: number;
  /** 'admit-all' is the FIFO baseline for benches (bench/e2e/goodput.ts). Default 'predict'. */
  admission?: 'predict' | 'admit-all';
  /**
   * With replicas > 1, which worker a request goes to: 'cache' (the default) the one
   * where it costs least, its cached share counted (CacheMirror.route);
   * 'least-busy', the fewest in flight, is the baseline benches compare against
   * (bench/e2e/replica-routing.ts).
   */
  routing?: 'cache' | 'least-busy';
  faultInjection?: boolean;
}

/** Extra per-request inputs that are not part of the wire request. */
export interface LocalCallOptions {
  jsonSchema?: string | undefined;
}

/** What admission would do with a request now (no side effects): for the router. */
export interface LocalPrediction {
  fits: boolean;
  /** Fits only as a probe (predicted to miss; admitted to relearn rates): a remote target is better. */
  probe?: boolean | undefined;
  /**
   * When it does not fit: DEADLINE (it cannot finish in time: too long for the deadline
   * even alone, or busy: not even once a sequence frees up) or OVERLOADED (a retry after
   * retryAfterMs could make it).
   */
  code?: 'DEADLINE' | 'OVERLOADED' | undefined;
  reason?: 'too-long' | 'busy' | 'deadline' | 'capacity' | undefined;
  retryAfterMs?: number | undefined;
  /** Predicted service time alone, ms (DEADLINE). */
  needMs?: number | undefined;
  /** busy: when a sequence is predicted to free up, ms from now. */
  startMs?: number | undefined;
}

interface Pending extends Job {
  req: InferenceRequest;
  /** Its prompt as one text (src/engine/deadline.ts promptText): what its sequence will hold. */
  text: string;
  /**
   * The lane (worker) it would go to now, then the one it went to once dispatched; and
   * the sequence there (-1 until the worker names it).
   */
  lane: number;
  seq: number;
  sink: TokenSink | null;
  trace: RequestTrace;
  opts: LocalCallOptions;
  resolve: (r: CompletionResult) => void;
  reject: (e: ColoError) => void;
  /** Set once dispatched. */
  cancel?: (reason: CancelReason) => void;
  texts: string[];
  /** Set when the request asked for logprobs. */
  logprobs?: LogprobLineup | undefined;
  /** Exact once the worker's first message arrives. */
  workerPromptTokens: number;
  settled: boolean;
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
  signal: CancelSignal;
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

/** A score task's answer: the most probable choice and the softmax of the total log-probabilities. */
function scoredChoices(
  choices: readonly string[],
  logprobs: number[],
): Pick<CompletionResult, 'text' | 'choice' | 'choiceProbs' | 'choiceLogprobs'> {
  const probs = softmax(logprobs);
  const choice = choices[argmax(probs)]!;
  return { text: choice, choice, choiceProbs: probs, choiceLogprobs: logprobs };
}

/** A fan-out score task's answer: one decision per ticker (`logprobs` is tickers × choices, ticker-major). */
function tickerDecisions(
  tickers: readonly string[],
  choices: readonly string[],
  logprobs: number[],
): Pick<CompletionResult, 'decisions' | 'text'> {
  const n = choices.length;
  const decisions = tickers.map((ticker, t) => {
    const lps = logprobs.slice(t * n, (t + 1) * n);
    const probs = softmax(lps);
    return { ticker, choice: choices[argmax(probs)]!, probs, logprobs: lps };
  });
  return { decisions, text: decisions.map((d) => `${d.ticker}: ${d.choice}`).join('\n') };
}

export class ModelPool {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly slots: number;
  readonly estimator: ServiceEstimator;
  private readonly piscina: Piscina;
  private readonly lanes: Lanes;
  private readonly sched: Scheduler<Pending>;
  /** Sequence-ms spent by ended requests, and when the pool started (for utilization). */
  private busyMs = 0;
  private readonly startedAt = performance.now();
  private crashes = 0;
  private crashFailures = 0;
  private preemptions = 0;
  private closed = false;
  /** Schema texts already found enforceable (src/engine/grammar-schema.ts), so each is walked once. */
  private readonly checkedSchemas = new Set<string>();
  /** What each worker's sequences hold: how much of a new prompt is expected cached. */
  private readonly mirror: CacheMirror;
  /** The last prediction's job, until the end of the synchronous run that made it (predictedJob). */
  private predicted:
    | {
        req: InferenceRequest;
        receivedAt: number;
        jsonSchema: string | undefined;
        job: Job & { text: string; lane: number };
      }
    | undefined;
  info: WorkerInfo | undefined;

  private constructor(private readonly opts: ModelPoolOptions) {
    this.name = opts.name;
    this.aliases = opts.aliases;
    this.slots = opts.replicas * opts.sequences;
    this.mirror = new CacheMirror(opts.sequences);
    // Batches are per worker context: a request shares its steps with the requests on its
    // worker only (replicas > 1 run side by side).
    this.estimator = new ServiceEstimator(opts.sequences);
    this.sched = new Scheduler<Pending>(
      this.slots,
      opts.maxQueue,
      this.estimator,
      opts.deadlineMargin ?? 0.1,
      opts.admission ?? 'predict',
      opts.replicas,
    );
    const init: WorkerInit = {
      modelName: opts.name,
      modelPath: opts.modelPath,
      contextSize: opts.contextSize,
      sequences: opts.sequences,
      threads: opts.threads,
      gpu: opts.gpu,
      gpuLayers: opts.gpuLayers,
      flashAttention: opts.flashAttention ?? 'auto',
      kvCacheType: opts.kvCacheType ?? 'auto',
      attentionChoice: newSharedChoice(),
      warmupPrompt: opts.warmupPrompt,
      warmupTokens: opts.warmupTokens ?? 64,
      faultInjection: opts.faultInjection ?? false,
    };
    const holders = new Set<number>();
    // Per thread: its lane, plus room for the info and crash control tasks.
    const perWorker = 4;
    this.piscina = new Piscina({
      filename: workerFile(),
      workerData: init,
      minThreads: opts.replicas,
      maxThreads: opts.replicas,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: perWorker,
      loadBalancer: laneBalancer(holders, perWorker),
      // Tasks are async and keep ports open; sync atomics would park the thread between tasks.
      atomics: 'disabled',
    });
    this.piscina.on('error', () => {
      // A worker died outside a task; Piscina replaces it (minThreads). Counted for /metrics.
      this.crashes++;
    });
    this.lanes = new Lanes(this.piscina, opts.replicas, holders, (lane) => {
      this.crashes++;
      this.mirror.clear(lane);
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
        { cause: err },
      );
    });
    pool.info = infos[0];
    if (pool.info?.rates) pool.estimator.setMeasured(pool.info.rates);
    return pool;
  }

  get queued(): number {
    return this.sched.queue.length;
  }

  get inFlight(): number {
    return this.sched.running.size;
  }

  /** Share of the sequences' time spent serving requests since the pool started, 0..1. */
  get utilization(): number {
    const now = performance.now();
    let busy = this.busyMs;
    for (const p of this.sched.running) busy += now - p.trace.dispatchedAt;
    return Math.min(1, busy / (this.slots * Math.max(1, now - this.startedAt)));
  }

  /** Worker threads lost (Piscina replaced them). */
  get workerCrashes(): number {
    return this.crashes;
  }

  /** Requests failed with WORKER_CRASHED, by a lost thread or an in-place recovery. */
  get crashFailedRequests(): number {
    return this.crashFailures;
  }

  /** Running requests ended by a higher-priority one. */
  get preempted(): number {
    return this.preemptions;
  }

  /** What admission would do with this request now; changes nothing. */
  predict(
    req: InferenceRequest,
    receivedAt = performance.now(),
    opts: LocalCallOptions = {},
  ): LocalPrediction {
    const job = this.jobOf(req, receivedAt, opts);
    // The router calls complete() for this request next, in the same synchronous run:
    // it reuses this job (its route across the sequences' texts: 10–15 µs warm here)
    // instead of building it again. Anything asynchronous in between drops it.
    if (this.predicted === undefined) queueMicrotask(() => (this.predicted = undefined));
    this.predicted = { req, receivedAt, jsonSchema: opts.jsonSchema, job };
    const plan = this.sched.plan(job, performance.now(), false);
    if (plan.action === 'start' && plan.probe)
      return { fits: true, probe: true, needMs: undefined, code: 'DEADLINE', reason: 'too-long' };
    if (plan.action !== 'refuse') return { fits: true };
    return {
      fits: false,
      code: plan.code,
      reason: plan.reason,
      retryAfterMs: plan.retryAfterMs,
      needMs: plan.needMs,
      startMs: plan.startMs,
    };
  }

  /** The job predict() just built for this very request, if still in the same run, else a new one. */
  private predictedJob(
    req: InferenceRequest,
    receivedAt: number,
    opts: LocalCallOptions,
  ): Job & { text: string; lane: number } {
    const p = this.predicted;
    if (p && p.req === req && p.receivedAt === receivedAt && p.jsonSchema === opts.jsonSchema) {
      this.predicted = undefined;
      return p.job;
    }
    return this.jobOf(req, receivedAt, opts);
  }

  private jobOf(
    req: InferenceRequest,
    receivedAt: number,
    opts: LocalCallOptions,
  ): Job & { text: string; lane: number } {
    const job: Job & { text: string; lane: number } = {
      text: promptText(req),
      lane: 0,
      grammar: opts.jsonSchema !== undefined,
      priority: req.priority,
      deadlineAt: deadlineOf(req, receivedAt),
      // Scoring generates nothing: its service time is the prompt's (about one step per trie branch).
      maxTokens: req.choices
        ? 1
        : Math.min(req.sampling.maxTokens, this.info?.contextSize ?? req.sampling.maxTokens),
      promptTokens: this.estimator.promptTokens(promptChars(req)),
      tokens: 0,
    };
    this.expectOn(job, this.route(job));
    return job;
  }

  /**
   * The worker `job` would go to now, and the characters of its prompt expected cached
   * there (CacheMirror.route). A worker's cost is the job's service time at the batch it
   * makes there plus the time its prompt evaluation holds each request already running
   * there (llama.cpp evaluates a new prompt in the same batches as their next tokens):
   * with its own time alone, prompts held on a busy worker went there and a miss
   * stalled the stream beside it (bench/e2e/replica-routing.ts).
   */
  private route(job: Job & { text: string }): { worker: number; reused: number; waitChars: number } {
    if (this.opts.routing === 'least-busy') {
      const worker = this.lanes.next();
      return { worker, ...this.mirror.expect(worker, job.text) };
    }
    return this.mirror.route(
      job.text,
      this.lanes.loads(),
      (b, share) =>
        this.estimator.serviceMs(job.maxTokens, job.promptTokens, b, job.grammar, share) +
        (b - 1) * this.estimator.evalMs(job.promptTokens, share),
    );
  }

  /**
   * Sets what `job` is expected to evaluate on the worker `at` names: the share of its
   * prompt not found there, and the wait for a request sent before it to evaluate the start
   * it then copies (as long as that request's evaluation of those characters).
   */
  private expectOn(
    job: Job & { text: string },
    at: { worker: number; reused: number; waitChars: number },
  ): void {
    const n = job.text.length;
    job.lane = at.worker;
    job.share = n > 0 ? 1 - at.reused / n : 1;
    job.waitMs = n > 0 && at.waitChars > 0 ? this.estimator.evalMs(job.promptTokens, at.waitChars / n) : 0;
  }

  complete(
    req: InferenceRequest,
    sink: TokenSink | null,
    signal: CancelSignal,
    opts: LocalCallOptions = {},
    trace = new RequestTrace(req.receivedAt),
  ): Promise<CompletionResult> {
    if (this.closed) return Promise.reject(new ColoError('SHUTTING_DOWN', 'engine is shutting down'));
    if (signal.aborted) return Promise.reject(new ColoError('CANCELLED', 'request cancelled'));
    if (opts.jsonSchema !== undefined && !this.checkedSchemas.has(opts.jsonSchema)) {
      try {
        checkGrammarSchema(JSON.parse(opts.jsonSchema));
      } catch (err) {
        return Promise.reject(toColoError(err));
      }
      if (this.checkedSchemas.size >= 256) this.checkedSchemas.clear();
      this.checkedSchemas.add(opts.jsonSchema);
    }
    return new Promise<CompletionResult>((resolve, reject) => {
      const p: Pending = {
        ...this.predictedJob(req, trace.receivedAt, opts),
        req,
        sink,
        trace,
        opts,
        resolve,
        reject,
        texts: [],
        logprobs: req.logprobs !== undefined && !req.choices ? new LogprobLineup() : undefined,
        workerPromptTokens: 0,
        settled: false,
        signal,
        seq: -1,
      };
      const now = performance.now();
      if (p.deadlineAt <= now)
        return reject(new ColoError('DEADLINE', `deadline of ${req.deadlineMs} ms passed before admission`));
      const plan = this.sched.plan(p, now);
      if (plan.action === 'refuse') return reject(this.refusal(plan, req));
      if (plan.action === 'start') this.dispatch(p);
      else if (plan.action === 'queue') this.sched.queue.push(p);
      else {
        // The victim's sequence frees when its worker answers; this request waits at the
        // head of its priority for it.
        plan.victim.preempting = true;
        this.preemptions++;
        this.sched.queue.push(p, true);
        plan.victim.cancel?.('preempt');
      }
      p.timer = setTimeout(() => this.abort(p, 'deadline'), timerDelay(p.deadlineAt));
      p.onAbort = () => this.abort(p, 'cancel');
      signal.addEventListener('abort', p.onAbort, { once: true });
    });
  }

  private refusal(plan: Extract<Plan<Pending>, { action: 'refuse' }>, req: InferenceRequest): ColoError {
    if (plan.code === 'DEADLINE')
      return new ColoError(
        'DEADLINE',
        plan.reason === 'busy'
          ? `model ${this.name} cannot generate ${req.sampling.maxTokens} tokens within ${req.deadlineMs} ms at its current load (a sequence frees in ~${plan.startMs} ms; predicted ${plan.needMs} ms alone)`
          : `model ${this.name} cannot generate ${req.sampling.maxTokens} tokens within ${req.deadlineMs} ms (predicted ${plan.needMs} ms alone)`,
      );
    return new ColoError(
      'OVERLOADED',
      plan.reason === 'capacity'
        ? `model ${this.name} is at capacity (${this.slots} running, ${this.sched.queue.capacity} queued)`
        : `model ${this.name} is too busy to finish within the deadline of ${req.deadlineMs} ms`,
      { retryAfterMs: plan.retryAfterMs },
    );
  }

  private abort(p: Pending, reason: CancelReason): void {
    if (p.settled) return;
    if (p.cancel) {
      p.cancel(reason);
      return;
    }
    this.sched.queue.remove(p);
    const usage = { promptTokens: 0, completionTokens: 0 };
    this.fail(
      p,
      reason === 'deadline'
        ? new ColoError('DEADLINE', `deadline of ${p.req.deadlineMs} ms passed in queue`, { usage })
        : new ColoError('CANCELLED', 'request cancelled', { usage }),
    );
  }

  private dispatch(p: Pending): void {
    this.sched.running.add(p);
    p.trace.markDispatched();
    const lineup = p.logprobs;
    const onText = (text: string) => {
      p.tokens++;
      p.trace.markToken();
      p.texts.push(text);
      if (lineup) p.sink?.onToken(text, lineup.take(text));
      else p.sink?.onToken(text);
    };
    const client: LaneClient = {
      message: (msg: WorkerPortMessage) => {
        if (typeof msg === 'string') return onText(msg);
        lineup?.add(msg.type === 'error' ? undefined : msg.logprobs);
        if (msg.type === 'first') {
          p.workerPromptTokens = msg.promptTokens;
          this.placed(p, msg.seq);
          return onText(msg.text);
        }
        if (msg.type === 'text') return onText(msg.text);
        if (msg.type === 'error') {
          if (msg.error.code === 'WORKER_CRASHED') {
            // The worker recovered by reloading its model: its sequences start empty.
            this.crashFailures++;
            this.mirror.clear(p.lane);
          }
          const e = toColoError(msg.error);
          e.usage = { promptTokens: msg.promptTokens, completionTokens: msg.completionTokens };
          return this.fail(p, e);
        }
        if (msg.text.length > 0) onText(msg.text);
        this.finish(p, msg);
      },
      lost: (err) => {
        // The worker died with this request on it (Piscina replaces the thread). Tokens
        // generated are known only as the chunks that arrived: a lower bound.
        this.crashFailures++;
        this.fail(
          p,
          new ColoError('WORKER_CRASHED', `worker for model ${this.name} crashed: ${err.message}`, {
            usage: { promptTokens: p.workerPromptTokens, completionTokens: p.tokens },
          }),
        );
      },
    };
    const id = this.lanes.newId();
    const task: GenerateTask | ScoreTask = p.req.choices
      ? {
          kind: 'score',
          id,
          prompt: p.req.prompt,
          messages: p.req.messages,
          choices: p.req.choices,
          tickers: p.req.tickers,
          priority: p.req.priority,
        }
      : {
          kind: 'generate',
          id,
          prompt: p.req.prompt,
          messages: p.req.messages,
          sampling: p.req.sampling,
          priority: p.req.priority,
          jsonSchema: p.opts.jsonSchema,
          logprobs: p.req.logprobs,
        };
    // p.lane: where admission (complete) or the queue (settle) just found it should go.
    this.mirror.sent(p.lane, p.text);
    p.cancel = this.lanes.send(task, client, p.lane);
  }

  /** The worker named the sequence the request took (once; later namings are the same). */
  private placed(p: Pending, seq: number | undefined): void {
    if (p.seq >= 0 || seq === undefined || seq < 0) return;
    p.seq = seq;
    this.mirror.placed(p.lane, seq, p.text);
  }

  private finish(p: Pending, msg: WorkerDone): void {
    this.placed(p, msg.stats.seq);
    const usage: Usage = {
      promptTokens: msg.promptTokens,
      completionTokens: msg.completionTokens,
      cachedTokens: msg.cachedTokens,
    };
    const text = (): string => p.texts.join('');
    // Every ending teaches the rates, early ones included: learning only from successes
    // would never see the slowness that made requests miss. Scoring decodes no tokens and
    // is not a generation's shape: it teaches nothing.
    if (msg.choiceLogprobs === undefined && !p.req.choices)
      this.estimator.observe({
        promptChars: promptChars(p.req),
        promptTokens: msg.promptTokens,
        // Not the wait for another request's prompt evaluation (a copy's): that is not this box's overhead.
        overheadMs:
          p.trace.firstTokenAt < 0
            ? -1
            : p.trace.firstTokenAt - p.trace.dispatchedAt - msg.stats.prefillMs - (msg.stats.waitMs ?? 0),
        prefillTokens: msg.stats.prefillTokens,
        prefillMs: msg.stats.prefillMs,
        steps: msg.stats.steps,
        grammar: p.grammar,
      });
    switch (msg.finishReason) {
      case 'cancelled':
        return this.fail(p, new ColoError('CANCELLED', 'request cancelled', { usage }));
      case 'deadline':
        return this.fail(
          p,
          new ColoError('DEADLINE', `deadline of ${p.req.deadlineMs} ms passed while generating`, { usage }),
        );
      case 'preempted':
        return this.fail(
          p,
          new ColoError('PREEMPTED', 'preempted by a higher-priority request', {
            usage: { ...usage, text: text() },
            retryAfterMs: Math.ceil(
              this.estimator.serviceMs(p.maxTokens, p.promptTokens, this.slots, p.grammar, p.share),
            ),
          }),
        );
      case 'shutdown':
        return this.fail(
          p,
          new ColoError('SHUTTING_DOWN', 'server is shutting down', { usage: { ...usage, text: text() } }),
        );
    }
    const timings = p.trace.finish();
    this.settle(p);
    const lps = msg.choiceLogprobs;
    const { choices, tickers } = p.req;
    const scored =
      !lps || !choices ? {} : tickers ? tickerDecisions(tickers, choices, lps) : scoredChoices(choices, lps);
    p.resolve({
      id: p.req.id,
      text: text(),
      finishReason: msg.finishReason,
      usage,
      route: { kind: 'local', provider: 'local', model: this.name, cached: false },
      timings,
      ...scored,
      logprobs: p.logprobs && trimLogprobs(p.logprobs.all, text().length),
    });
  }

  private fail(p: Pending, err: ColoError): void {
    if (p.settled) return;
    p.trace.finish();
    this.settle(p);
    p.reject(err);
  }

  /** Releases the request's slot exactly once and starts the next queued requests that still fit. */
  private settle(p: Pending): void {
    p.settled = true;
    if (p.timer) clearTimeout(p.timer);
    if (p.onAbort) p.signal.removeEventListener('abort', p.onAbort);
    if (!this.sched.running.delete(p)) return;
    this.mirror.ended(p.lane, p.seq, p.text);
    this.busyMs += performance.now() - p.trace.dispatchedAt;
    while (this.sched.running.size < this.slots) {
      const next = this.sched.queue.pop();
      if (!next) return;
      if (next.settled) continue;
      // What it expects, where it would go now: sequences freed and filled while it waited.
      this.expectOn(next, this.route(next));
      const now = this.sched.dispatchable(next);
      if (now === 'wait') {
        // Fits once the running requests are done: back at the head, until the next one ends.
        this.sched.queue.push(next, true);
        return;
      }
      if (now === 'shed') {
        // Shed: it can no longer finish in time, so it ends now rather than at its deadline.
        this.fail(
          next,
          new ColoError('DEADLINE', `deadline of ${next.req.deadlineMs} ms cannot be met any more`, {
            usage: { promptTokens: 0, completionTokens: 0 },
          }),
        );
        continue;
      }
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

  /**
   * Refuses new work, fails what waits with SHUTTING_DOWN, lets running requests finish
   * for up to graceMs, then stops the rest (SHUTTING_DOWN with their text so far).
   */
  async drain(graceMs: number): Promise<void> {
    this.closed = true;
    for (;;) {
      const p = this.sched.queue.pop();
      if (!p) break;
      this.fail(
        p,
        new ColoError('SHUTTING_DOWN', 'server is shutting down', {
          usage: { promptTokens: 0, completionTokens: 0, text: '' },
        }),
      );
    }
    const until = Date.now() + graceMs;
    while (this.sched.running.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    for (const p of this.sched.running) p.cancel?.('shutdown');
    const stopBy = Date.now() + 1000;
    while (this.sched.running.size > 0 && Date.now() < stopBy) await new Promise((r) => setTimeout(r, 5));
  }

  /**
   * Closes the pool. Worker threads are left to end with the process: terminating a
   * thread that holds llama.cpp's backend can abort the process.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.lanes.close();
  }
}
