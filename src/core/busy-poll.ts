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
 * `touch()` marks activity; the loop keeps turning until `windowMs` pass with none, then
 * sleeps as usual. With `windowMs` 0 nothing ever spins. One per thread's event loop:
 * the composition root configures the network thread's (`busyPoll.configure`).
 */
export class BusyPoll {
  private windowMs = 0;
  private last = 0;
  private spinning = false;
  /** Event-loop turns spent polling, since start (for /metrics). */
  turns = 0;

  get window(): number {
    return this.windowMs;
  }

  configure(windowMs: number): void {
    this.windowMs = Math.max(0, windowMs);
  }

  /** Something happened (a request, a frame, a worker's message): keep polling for a while. */
  touch(): void {
    if (this.windowMs <= 0) return;
    this.last = performance.now();
    if (!this.spinning) {
      this.spinning = true;
      setImmediate(this.spin);
    }
  }

  /** True while the loop is being kept turning. */
  get active(): boolean {
    return this.spinning;
  }

  private readonly spin = (): void => {
    this.turns++;
    if (performance.now() - this.last < this.windowMs) setImmediate(this.spin);
    else this.spinning = false;
  };
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
