/**
 * A sliding window of the last N seconds for the dashboard: per model, tokens,
 * requests, and TTFT / total latency in log buckets 5% wide (percentiles within 5%);
 * and over all models, the route mix and errors by code. One slot per second, reused
 * in a ring; a slot is cleared when a new second lands on it, so recording is O(1) and
 * reading sums at most N slots.
 */
const GROWTH = 1.05;
const LOG_G = Math.log(GROWTH);
/** Buckets from 1 µs to about 1.5 hours. */
const NB = 460;

const bucketOf = (us: number): number => (us <= 1 ? 0 : Math.min(NB - 1, Math.ceil(Math.log(us) / LOG_G)));

interface ModelSlots {
  tokens: Float64Array;
  requests: Float64Array;
  ttft: Uint32Array;
  total: Uint32Array;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  count: number;
}

export interface ModelWindow {
  model: string;
  tokensPerSec: number;
  requestsPerSec: number;
  /** Milliseconds. */
  ttftMs: Percentiles;
  totalMs: Percentiles;
}

export class SlidingWindow {
  private readonly slotSec: Float64Array;
  private readonly models = new Map<string, ModelSlots>();
  private readonly counts = new Map<string, Float64Array>();

  constructor(
    readonly seconds: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.slotSec = new Float64Array(seconds).fill(-1);
  }

  /** The slot of the current second, cleared first if it holds an older second. */
  private slot(): number {
    const sec = Math.floor(this.now() / 1000);
    const i = sec % this.seconds;
    if (this.slotSec[i] !== sec) {
      this.slotSec[i] = sec;
      for (const m of this.models.values()) {
        m.tokens[i] = 0;
        m.requests[i] = 0;
        m.ttft.fill(0, i * NB, (i + 1) * NB);
        m.total.fill(0, i * NB, (i + 1) * NB);
      }
      for (const c of this.counts.values()) c[i] = 0;
    }
    return i;
  }

  recordRequest(
    model: string,
    route: string,
    errorCode: string | undefined,
    tokens: number,
    ttftUs: number,
    totalUs: number,
  ): void {
    const i = this.slot();
    this.add(`route:${route === 'none' ? 'refused' : route}`, i, 1);
    if (errorCode) this.add(`error:${errorCode}`, i, 1);
    if (route === 'none') return;
    let m = this.models.get(model);
    if (!m) {
      const n = this.seconds;
      m = {
        tokens: new Float64Array(n),
        requests: new Float64Array(n),
        ttft: new Uint32Array(n * NB),
        total: new Uint32Array(n * NB),
      };
      this.models.set(model, m);
    }
    m.tokens[i]! += tokens;
    m.requests[i]! += 1;
    if (ttftUs > 0) m.ttft[i * NB + bucketOf(ttftUs)]! += 1;
    m.total[i * NB + bucketOf(totalUs)]! += 1;
  }

  private add(key: string, i: number, n: number): void {
    let c = this.counts.get(key);
    if (!c) this.counts.set(key, (c = new Float64Array(this.seconds)));
    c[i]! += n;
  }

  /** Slots holding one of the last `span` seconds (the current one included). */
  private live(span = this.seconds): number[] {
    const sec = Math.floor(this.now() / 1000);
    const out: number[] = [];
    for (let i = 0; i < this.seconds; i++) {
      const s = this.slotSec[i]!;
      if (s >= 0 && s > sec - span && s <= sec) out.push(i);
    }
    return out;
  }

  /**
   * Per model: rates over the last `rateSec` seconds (the current, partial second
   * counted by its elapsed fraction) and percentiles over the whole window.
   */
  modelStats(rateSec = 5): ModelWindow[] {
    this.slot();
    const nowMs = this.now();
    const elapsed = rateSec - 1 + (nowMs % 1000) / 1000;
    const recent = this.live(rateSec);
    const all = this.live();
    const out: ModelWindow[] = [];
    for (const [model, m] of this.models) {
      let tokens = 0;
      let requests = 0;
      for (const i of recent) {
        tokens += m.tokens[i]!;
        requests += m.requests[i]!;
      }
      out.push({
        model,
        tokensPerSec: tokens / elapsed,
        requestsPerSec: requests / elapsed,
        ttftMs: percentiles(m.ttft, all),
        totalMs: percentiles(m.total, all),
      });
    }
    return out;
  }

  /** Counts over the window by prefix ('route', 'error'), e.g. { local: 12, refused: 3 }. */
  countsOf(prefix: 'route' | 'error'): Record<string, number> {
    this.slot();
    const all = this.live();
    const out: Record<string, number> = {};
    for (const [key, c] of this.counts) {
      if (!key.startsWith(`${prefix}:`)) continue;
      let n = 0;
      for (const i of all) n += c[i]!;
      if (n > 0) out[key.slice(prefix.length + 1)] = n;
    }
    return out;
  }
}

/** Percentiles (ms) from log-bucket counts summed over the live slots; bucket upper bound. */
function percentiles(h: Uint32Array, slots: number[]): Percentiles {
  const sum = new Float64Array(NB);
  let count = 0;
  for (const i of slots) {
    const base = i * NB;
    for (let b = 0; b < NB; b++) {
      const v = h[base + b]!;
      if (v) {
        sum[b]! += v;
        count += v;
      }
    }
  }
  const at = (q: number): number => {
    if (count === 0) return 0;
    const rank = Math.ceil(q * count);
    let cum = 0;
    for (let b = 0; b < NB; b++) {
      cum += sum[b]!;
      if (cum >= rank) return GROWTH ** b / 1000;
    }
    return GROWTH ** (NB - 1) / 1000;
  };
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), count };
}
