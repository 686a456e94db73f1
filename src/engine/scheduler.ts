/**
 * Predict, then admit. For one arriving request, given what runs and what waits, the
 * plan is one of:
 *
 * 1. `refuse DEADLINE` — even alone on an idle model it would not finish in time.
 * 2. `start` — a sequence is free, nobody waits, it fits at the batch size it makes,
 *    and no running request of equal or higher priority that fits now would miss its
 *    deadline because of the bigger batch.
 * 3. `queue` — it fits after waiting: the wait is simulated in service order (priority,
 *    then earliest deadline), each request taking the earliest free sequence for its
 *    full maxTokens at the full batch step time (pessimistic, so admitted work fits).
 * 4. `preempt` — it does not fit by waiting, but a running request of *lower*
 *    priority can be stopped and this one then fits. The victim ends with PREEMPTED
 *    and the text and tokens so far (its KV state is not saved: resuming would hold a
 *    sequence's cache for a request that may never come back).
 * 5. `refuse OVERLOADED` with a retry-after: it would fit on a less busy model.
 *
 * An idle model admits one request per second that it predicts to miss (a probe): the
 * rates are learnt from requests that run, and estimates taken during a stall would
 * otherwise refuse everything forever.
 *
 * `margin` keeps a fraction of each request's remaining time in reserve: predictions
 * are learnt means, and a shared machine is noisy.
 */
import { AdmissionQueue, servedBefore, type Queued } from './admission';
import type { ServiceEstimator } from './estimator';

export interface Job extends Queued {
  maxTokens: number;
  /** Estimated before dispatch, exact once the worker reports it. */
  promptTokens: number;
  /** Chunks received so far (a lower bound of tokens generated). */
  tokens: number;
  /** Set while a preemption of this job is in flight. */
  preempting?: boolean;
  /** Decodes under a JSON-schema grammar (skills): slower steps (estimator's grammarFactor). */
  grammar?: boolean | undefined;
  /** The share of its prompt expected to be evaluated, the rest found cached (src/engine/cache-mirror.ts); default: the estimator's. */
  share?: number | undefined;
  /** Time it is expected to wait, before its own evaluation, for a request sent before it to evaluate the start it copies (CacheMirror's waitChars). */
  waitMs?: number | undefined;
  /**
   * The worker it runs on, or would be sent to now (replicas > 1): it shares decode
   * batches with the requests on that worker only. Undefined: one batch for all.
   */
  lane?: number | undefined;
}

export type Plan<J> =
  /** `probe`: predicted to miss, admitted anyway to relearn the rates (see PROBE_MS). */
  | { action: 'start'; probe?: boolean }
  | { action: 'queue' }
  | { action: 'preempt'; victim: J }
  | {
      action: 'refuse';
      code: 'DEADLINE' | 'OVERLOADED';
      /**
       * too-long: it cannot finish in time even on an idle model (DEADLINE); busy: not
       * even if retried when a sequence is predicted to free up (DEADLINE); deadline: it
       * misses at the current load but a retry after `retryAfterMs` could make it
       * (OVERLOADED); capacity: the queue is full (OVERLOADED).
       */
      reason: 'too-long' | 'busy' | 'deadline' | 'capacity';
      retryAfterMs?: number;
      /** Predicted service time alone, ms (for the error message). */
      needMs?: number;
      /** busy: when a sequence is predicted to free up for it, ms from now. */
      startMs?: number;
    };

/** At most one probe (a request predicted to miss, admitted on an idle model) per this many ms. */
export const PROBE_MS = 1000;

export class Scheduler<J extends Job> {
  readonly running = new Set<J>();
  private lastProbe = -Infinity;
  readonly queue: AdmissionQueue<J>;

  constructor(
    readonly slots: number,
    maxQueue: number,
    readonly estimator: ServiceEstimator,
    readonly margin = 0.1,
    /** 'admit-all': the FIFO baseline benches compare against (capacity is the only limit). */
    readonly mode: 'predict' | 'admit-all' = 'predict',
    /**
     * Workers running side by side, `slots / workers` sequences each (replicas): a batch
     * is one worker's, and the one-at-a-time plan runs one request per worker at once.
     */
    readonly workers = 1,
  ) {
    this.queue = new AdmissionQueue<J>(maxQueue);
    this.perWorker = Math.max(1, Math.ceil(slots / workers));
  }

  /** Sequences per worker: the biggest batch a request can be in. */
  readonly perWorker: number;

  /** Running jobs not being preempted: the batch that will keep decoding. */
  private live(): J[] {
    const out: J[] = [];
    for (const r of this.running) if (!r.preempting) out.push(r);
    return out;
  }

  /** Of `live`, those in `job`'s batch: on its worker (all of them when workers are not told apart). */
  private beside(live: J[], job: Job): J[] {
    return job.lane === undefined ? live : live.filter((r) => r.lane === undefined || r.lane === job.lane);
  }

  /** Latest acceptable finish for a job, with the safety margin taken off. */
  private latest(j: Queued, now: number): number {
    return now + (j.deadlineAt - now) * (1 - this.margin);
  }

  private service(j: Job, b: number): number {
    return this.estimator.serviceMs(j.maxTokens, j.promptTokens, b, j.grammar, j.share) + (j.waitMs ?? 0);
  }

  private remainingMs(r: Job, b: number): number {
    return this.estimator.decodeMs(
      Math.max(0, r.maxTokens - r.tokens),
      r.promptTokens + r.tokens,
      b,
      r.grammar,
    );
  }

  /**
   * What to do with `job`. `commit` false (a prediction) takes nothing: in particular it
   * does not use up the probe, and a probe is marked (`probe: true`) so a caller with a
   * remote target can prefer it over a request predicted to miss.
   */
  plan(job: Job, now = performance.now(), commit = true): Plan<J> {
    if (this.mode === 'admit-all') {
      if (this.running.size < this.slots && this.queue.length === 0) return { action: 'start' };
      if (this.queue.length < this.queue.capacity) return { action: 'queue' };
      return { action: 'refuse', code: 'OVERLOADED', reason: 'capacity', retryAfterMs: 1 };
    }
    const latest = this.latest(job, now);
    const alone = this.service(job, 1);
    if (now + alone > latest) {
      // Probe: an idle model admits one such request per PROBE_MS anyway. Rates are
      // learnt only from requests that run; a model that measured itself during a stall
      // would otherwise refuse everything, forever. Nobody else is slowed by it.
      // Only one with time for a few tokens: a shorter one would teach nothing.
      const teaches = latest - now >= this.service({ ...job, maxTokens: 4 }, 1);
      if (teaches && this.running.size === 0 && this.queue.length === 0 && now - this.lastProbe >= PROBE_MS) {
        if (commit) this.lastProbe = now;
        return { action: 'start', probe: true };
      }
      return { action: 'refuse', code: 'DEADLINE', reason: 'too-long', needMs: Math.ceil(alone) };
    }
    const live = this.live();
    const busy = this.running.size;

    // 2. Start now if that breaks no one who matters (those in the batch it joins).
    if (busy < this.slots && this.queue.length === 0) {
      const batch = this.beside(live, job);
      const b = batch.length + 1;
      if (now + this.service(job, b) <= latest && !this.breaksRunning(batch, job, b, now))
        return { action: 'start' };
    }

    // 3. Wait, simulated in service order: pessimistically in a full batch, or one after
    // another on each worker once batching would make someone miss (the dispatcher then
    // runs them so).
    const start = this.predictedStart(job, live, now);
    const fitsWaiting =
      start + this.service(job, this.perWorker) <= latest || this.serialFinish(job, live, now) <= latest;
    if (fitsWaiting && this.queue.length < this.queue.capacity) return { action: 'queue' };

    // 4. Preempt a lower-priority running request.
    const victim = this.victimFor(job, live);
    if (victim && now + this.service(job, this.beside(live, { ...job, lane: victim.lane }).length) <= latest)
      return { action: 'preempt', victim };

    // 5. It would fit on a less busy model. Retry after a sequence frees up, and at
    // least until the first running request ends: with a sequence free, what stands in
    // the way is the batch it would join (a retry-after of "now" only invites a storm).
    let retryAt = start;
    if (start <= now && live.length > 0)
      retryAt = Math.min(...live.map((r) => now + this.remainingMs(r, this.beside(live, r).length)));
    // A retry-after the request could not finish after, even alone, is no offer: say
    // DEADLINE now rather than have the client wait to be told so (seen: `colo replay`'s
    // burst of 120 skill calls, 1 s deadlines, ~0.9 s each alone: 118 waited ~0.6 s for
    // a retry-after, then were refused DEADLINE).
    if (retryAt + alone > latest) {
      return {
        action: 'refuse',
        code: 'DEADLINE',
        reason: 'busy',
        needMs: Math.ceil(alone),
        startMs: Math.max(0, Math.ceil(retryAt - now)),
      };
    }
    return {
      action: 'refuse',
      code: 'OVERLOADED',
      reason: this.queue.length >= this.queue.capacity ? 'capacity' : 'deadline',
      retryAfterMs: Math.max(1, Math.ceil(retryAt - now)),
    };
  }

  /**
   * What to do with the head of the queue when a sequence frees: `start` it if it fits
   * at the batch it makes without making a running request miss; else `wait` (stay at
   * the head) if it still fits once the running requests are done, one after another;
   * else `shed` it (it ends now rather than at its deadline).
   */
  dispatchable(job: Job, now = performance.now()): 'start' | 'wait' | 'shed' {
    if (this.mode === 'admit-all') return 'start';
    const live = this.live();
    const batch = this.beside(live, job);
    const b = batch.length + 1;
    // The same margin as at admission: a job admitted to run after the others (the
    // serial plan) must not be started beside them on a prediction that only fits
    // without it (both then missed their deadlines in the burst bench).
    const latest = this.latest(job, now);
    if (now + this.service(job, b) <= latest && !this.breaksRunning(batch, job, b, now)) return 'start';
    if (live.length > 0 && this.serialFinish(job, live, now, false) <= latest) return 'wait';
    return 'shed';
  }

  /**
   * When `job` would finish if what runs and what is served before it went one at a
   * time on each worker, each alone (batch 1): the plan for a burst whose requests do not
   * fit together. A running request stays on its worker; a waiting one takes the worker
   * that frees first (the queue routes it when it is dispatched).
   */
  private serialFinish(job: Job, live: J[], now: number, queued = true): number {
    const free = new Array<number>(this.workers).fill(now);
    for (const r of live) {
      const w = r.lane !== undefined && r.lane < this.workers ? r.lane : 0;
      free[w]! += this.remainingMs(r, 1);
    }
    const take = (ms: number): number => {
      let w = 0;
      for (let i = 1; i < free.length; i++) if (free[i]! < free[w]!) w = i;
      return (free[w]! += ms);
    };
    if (queued) for (const q of this.queue.ahead(job)) take(this.service(q, 1));
    return take(this.service(job, 1));
  }

  /**
   * Whether starting `job` beside `live` makes a running request of equal or higher
   * priority that fits now miss: its steps at the bigger batch, and the time `job`'s
   * prompt evaluation holds them first (llama.cpp puts a new prompt's tokens and the
   * running streams' next tokens in the same batches: on stories260K a cached ~900-token
   * template's 32 tokens took ~460 ms instead of ~60 beside a copy prefilling in full).
   */
  private breaksRunning(live: J[], job: Job, b: number, now: number): boolean {
    const held = this.estimator.evalMs(job.promptTokens, job.share);
    for (const r of live) {
      if (r.priority < job.priority) continue;
      const latest = this.latest(r, now);
      const fitsNow = now + this.remainingMs(r, b - 1) <= latest;
      if (fitsNow && now + held + this.remainingMs(r, b) > latest) return true;
    }
    return false;
  }

  /**
   * Earliest time a sequence frees up for `job`, after everything served before it,
   * every worker's batch taken as full.
   */
  private predictedStart(job: Job, live: J[], now: number): number {
    const full = this.perWorker;
    const free: number[] = live.map((r) => now + this.remainingMs(r, full));
    for (let i = free.length; i < this.slots; i++) free.push(now);
    free.sort((a, b) => a - b);
    for (const q of this.queue.ahead(job)) {
      const t = Math.max(now, free.shift()!);
      free.push(t + this.service(q, full));
      free.sort((a, b) => a - b);
    }
    return Math.max(now, free[0]!);
  }

  /** The lowest-priority running job below `job`'s priority; latest deadline among equals. */
  private victimFor(job: Job, live: J[]): J | undefined {
    let v: J | undefined;
    for (const r of live) {
      if (r.priority >= job.priority) continue;
      if (!v || r.priority < v.priority || (r.priority === v.priority && servedBefore(v, r))) v = r;
    }
    return v;
  }
}
