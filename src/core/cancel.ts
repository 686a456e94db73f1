/**
 * Cancellation on the request path without Node's AbortController.
 *
 * Why: on Node 20 every AbortSignal survives young-generation collections (scavenges)
 * and is promoted to the old generation, where only a full mark-compact frees it, and it
 * drags what it refers to along. Three per gateway request (route, gateway deadline,
 * attempt) promoted about 6 KB per request at 1,000 req/s: a scavenge copying ~1.4 MB
 * every ~200 ms (4–10 ms pauses on the 2-vCPU box) and a mark-compact every few seconds
 * (bench/README.md, "Issue 16: the gateway path"). A `Cancel` is a plain object, which
 * dies young.
 *
 * `CancelSignal` is the part of AbortSignal the request path uses, so an AbortSignal is
 * one (callers holding an AbortController may pass its signal), and a `Cancel` is one
 * too. undici accepts it as a request `signal` (it needs `aborted`, `reason` and
 * `addEventListener`/`removeEventListener`).
 */

/** What the request path reads of a cancellation signal. An AbortSignal is one. */
export interface CancelSignal {
  readonly aborted: boolean;
  /** Why it was aborted; undefined until then. */
  readonly reason: unknown;
  /** `listener` runs once, on abort; never when added after the abort (as with AbortSignal). */
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A controller that is its own signal: `new Cancel()` replaces `new AbortController()`,
 * and `cancel.signal` (or the Cancel itself) replaces `controller.signal`. Listeners run
 * in the order added, once; one that throws does not stop the others (its error is
 * rethrown on the next tick, as EventTarget does).
 */
export class Cancel implements CancelSignal {
  private isAborted = false;
  private why: unknown = undefined;
  /** Most requests have one listener at a time; more go to `rest`. */
  private first: (() => void) | undefined = undefined;
  private rest: (() => void)[] | undefined = undefined;

  get aborted(): boolean {
    return this.isAborted;
  }

  get reason(): unknown {
    return this.why;
  }

  get signal(): CancelSignal {
    return this;
  }

  /** Aborts once; later calls do nothing. The default reason is an AbortError, as AbortController's. */
  abort(reason?: unknown): void {
    if (this.isAborted) return;
    this.isAborted = true;
    this.why = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    const first = this.first;
    const rest = this.rest;
    this.first = undefined;
    this.rest = undefined;
    if (first) run(first);
    if (rest) for (const fn of rest) run(fn);
  }

  addEventListener(type: 'abort', listener: () => void): void {
    if (type !== 'abort' || this.isAborted) return;
    if (listener === this.first || this.rest?.includes(listener)) return; // added once, as EventTarget does
    if (this.first === undefined) this.first = listener;
    else (this.rest ??= []).push(listener);
  }

  removeEventListener(type: 'abort', listener: () => void): void {
    if (type !== 'abort') return;
    if (this.first === listener) {
      this.first = this.rest?.shift();
      return;
    }
    const i = this.rest?.indexOf(listener) ?? -1;
    if (i >= 0) this.rest!.splice(i, 1);
  }
}

function run(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    process.nextTick(() => {
      throw err;
    });
  }
}
