/** How often a warmer runs while polling, ms: one per turn at most, in turn. */
export const WARM_EVERY_MS = 0.2;
/**
 * Warmers run only once this long has passed since the last request (a frame or an HTTP
 * call; a worker's token messages do not count): under steady traffic the real requests
 * keep their path hot, and warming only got in their way (every 0.2 ms regardless: the
 * HTTP classifier's p50 +219 against +100 µs; after 1 ms of quiet: the gateway at a
 * steady 1,000 req/s, +480 against +348 µs). During a stream they do run, so the request
 * after it finds the parse path hot.
 */
export const WARM_AFTER_MS = 2;

/**
 * Busy polling for the network thread: while requests, frames or tokens are flowing, keep
 * the event loop turning (a setImmediate chain, so libuv polls with a zero timeout)
 * instead of sleeping in epoll_wait until the next packet or worker message wakes it.
 *
 * Why: a sleeping thread's core goes idle, and waking it (an interrupt to an idle core;
 * on a virtual machine an exit to the hypervisor too) plus the cold caches it then runs
 * with cost more than Colo's own work. On the 2-vCPU dev VM each stage of a request's
 * path took 10–30× its hot-loop time; with the loop kept turning, a lone stream decodes
 * faster than an in-process loop that sleeps between tokens, and what the gateway path
 * adds at p50 falls from ~540 to ~230 µs (bench/README.md, "Busy polling"). Kernel-bypass
 * stacks and the C++ SDK's `busy_poll` make the same trade: a core spent polling while
 * there is traffic.
 *
 * Warming: a request that arrives a few ms after the last one finds its code and data cold
 * (caches, TLB, branch predictors: the polling loop's syscalls and the model's threads
 * have run since), and runs several times slower than back to back. Parsing one
 * `/v1/completions` body took 83–90 µs 10 ms after the previous request against 5–6 µs
 * with the path kept warm (bench/README.md, "Warming the request path"). So while it
 * polls, the loop also runs the registered warmers (`addWarmer`): side-effect-free passes
 * of canned input through the request path (parse, validate, predict, encode), every
 * WARM_EVERY_MS once WARM_AFTER_MS have passed with no request, as low-latency trading
 * systems send dummy orders through theirs. Opt-in (`server.warmPath`): under steady
 * gateway traffic it made GC pauses longer and the p99 worse.
 *
 * `touch()` marks activity; the loop keeps turning until `windowMs` pass with none, then
 * sleeps as usual. With `windowMs` 0 nothing ever spins. One per thread's event loop:
 * the composition root configures the network thread's (`busyPoll.configure`).
 */
export class BusyPoll {
  private windowMs = 0;
  private last = 0;
  private spinning = false;
  private lastWarm = 0;
  private nextWarmer = 0;
  private lastRequest = 0;
  private readonly warmers: {
    name: string;
    fn: () => void;
    onFail?: ((err: unknown) => void) | undefined;
  }[] = [];
  /** Event-loop turns spent polling, since start (for /metrics). */
  turns = 0;
  /** Warming passes run, since start (for /metrics). */
  warmPasses = 0;
  /** Warmers that threw and were dropped (a warmer must never fail; it is a bug if one does). */
  readonly failedWarmers: string[] = [];

  /** `clock`: ms, monotonic (tests pass their own). */
  constructor(private readonly clock: () => number = () => performance.now()) {}

  get window(): number {
    return this.windowMs;
  }

  configure(windowMs: number): void {
    this.windowMs = Math.max(0, windowMs);
  }

  /**
   * Something happened (a request, a frame, a worker's message): keep polling for a while.
   * `request`: a client's frame or call, which also holds the warmers back for WARM_AFTER_MS.
   */
  touch(request = false): void {
    if (this.windowMs <= 0) return;
    this.last = this.clock();
    if (request) this.lastRequest = this.last;
    if (!this.spinning) {
      this.spinning = true;
      setImmediate(this.spin);
    }
  }

  /**
   * Runs `fn` while the loop polls and no request has come for WARM_AFTER_MS: the warmers
   * take turns, one every WARM_EVERY_MS. It must be cheap (µs), touch the code and data a
   * request will, and change nothing: no I/O, no metrics, no state. One that throws is
   * dropped (listed in `failedWarmers`, and `onFail` told why).
   */
  addWarmer(name: string, fn: () => void, onFail?: (err: unknown) => void): void {
    this.warmers.push({ name, fn, onFail });
  }

  /** Drops every warmer (Colo's shutdown). */
  clearWarmers(): void {
    this.warmers.length = 0;
  }

  /** True while the loop is being kept turning. */
  get active(): boolean {
    return this.spinning;
  }

  private readonly spin = (): void => {
    this.turns++;
    const now = this.clock();
    if (
      this.warmers.length > 0 &&
      now - this.lastRequest >= WARM_AFTER_MS &&
      now - this.lastWarm >= WARM_EVERY_MS
    ) {
      this.lastWarm = now;
      this.warm();
    }
    if (now - this.last < this.windowMs) setImmediate(this.spin);
    else this.spinning = false;
  };

  /** One warmer (in turn), so a request that arrives meanwhile waits for one, not all. */
  private warm(): void {
    this.warmPasses++;
    const i = this.nextWarmer++ % this.warmers.length;
    const w = this.warmers[i]!;
    try {
      w.fn();
    } catch (err) {
      this.failedWarmers.push(w.name);
      this.warmers.splice(i, 1);
      w.onFail?.(err);
    }
  }
}

/** The network thread's poller (the server and the engine's lanes touch it). */
export const busyPoll = new BusyPoll();

/**
 * The window to use: `configured`, unless a polling network thread would leave llama.cpp
 * fewer cores than its threads (it spin-waits at every step's barrier, and one preempted
 * thread stalls them all: the oversubscription that runs ~1000× slower), i.e. unless
 * `llamaThreads` + 1 ≤ `cores` (the CPUs this process may keep busy: affinity, capped by
 * a container's CPU quota; fractional under a quota). Returns the window and, when it
 * turned polling off, why.
 */
export function busyPollWindow(
  configured: number,
  llamaThreads: number,
  cores: number,
): { windowMs: number; reason?: string } {
  if (configured <= 0) return { windowMs: 0 };
  if (llamaThreads + 1 > cores)
    return {
      windowMs: 0,
      reason: `${llamaThreads} llama.cpp thread(s) and a polling network thread need ${llamaThreads + 1} cores; this process may use ${Math.round(cores * 100) / 100}`,
    };
  return { windowMs: configured };
}
