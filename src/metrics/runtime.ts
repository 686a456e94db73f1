/**
 * Runtime metrics, so a latency tail can be explained from a scrape: event-loop delay
 * (perf_hooks.monitorEventLoopDelay), GC pauses by kind (PerformanceObserver 'gc'),
 * heap and RSS.
 *
 * The event-loop monitor is read and reset once a second (an unref'd timer): each
 * second's worst delay goes to a histogram (aggregatable), and the last ten seconds'
 * figures are kept for the gauges and the dashboard. monitorEventLoopDelay reports
 * the time between its timer's wake-ups, so the resolution is subtracted.
 */
import {
  constants,
  monitorEventLoopDelay,
  PerformanceObserver,
  type IntervalHistogram,
} from 'node:perf_hooks';

const RESOLUTION_MS = 10;
const KEEP_SECONDS = 10;

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

export interface LoopSecond {
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

export class RuntimeMetrics {
  private eld: IntervalHistogram | undefined;
  private gcObserver: PerformanceObserver | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The last KEEP_SECONDS seconds, oldest first. */
  readonly seconds: LoopSecond[] = [];

  constructor(
    private readonly onSecondMaxUs: (us: number) => void,
    private readonly onGc: (kind: string, us: number) => void,
  ) {}

  start(): void {
    if (this.timer) return;
    this.eld = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.eld.enable();
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
    this.gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const detail = (e as { detail?: { kind?: number } }).detail;
        const kind = GC_KINDS[detail?.kind ?? -1] ?? 'other';
        this.onGc(kind, e.duration * 1000);
      }
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.eld?.disable();
    this.eld = undefined;
    this.gcObserver?.disconnect();
    this.gcObserver = undefined;
  }

  /** Delay samples taken since the last tick. */
  get samples(): number {
    return this.eld?.count ?? 0;
  }

  /** Folds the last second of event-loop delay into the series. Public for tests. */
  tick(): void {
    const h = this.eld;
    if (!h || h.count === 0) return;
    const lag = (ns: number) => Math.max(0, ns / 1000 - RESOLUTION_MS * 1000);
    const s = { p50Us: lag(h.percentile(50)), p99Us: lag(h.percentile(99)), maxUs: lag(h.max) };
    h.reset();
    this.seconds.push(s);
    if (this.seconds.length > KEEP_SECONDS) this.seconds.shift();
    this.onSecondMaxUs(s.maxUs);
  }

  /** Worst per-second figures over the last ten seconds, in microseconds. */
  recent(): LoopSecond {
    let p50Us = 0;
    let p99Us = 0;
    let maxUs = 0;
    for (const s of this.seconds) {
      p50Us = Math.max(p50Us, s.p50Us);
      p99Us = Math.max(p99Us, s.p99Us);
      maxUs = Math.max(maxUs, s.maxUs);
    }
    return { p50Us, p99Us, maxUs };
  }

  render(out: string[]): void {
    const r = this.recent();
    const m = process.memoryUsage();
    out.push(
      '# HELP colo_eventloop_delay_seconds Event-loop delay over the last 10 s: the worst one-second p50, p99 and max',
      '# TYPE colo_eventloop_delay_seconds gauge',
      `colo_eventloop_delay_seconds{stat="p50"} ${r.p50Us / 1e6}`,
      `colo_eventloop_delay_seconds{stat="p99"} ${r.p99Us / 1e6}`,
      `colo_eventloop_delay_seconds{stat="max"} ${r.maxUs / 1e6}`,
      '# HELP colo_process_memory_bytes Process memory (process.memoryUsage)',
      '# TYPE colo_process_memory_bytes gauge',
      `colo_process_memory_bytes{kind="rss"} ${m.rss}`,
      `colo_process_memory_bytes{kind="heap_used"} ${m.heapUsed}`,
      `colo_process_memory_bytes{kind="heap_total"} ${m.heapTotal}`,
      `colo_process_memory_bytes{kind="external"} ${m.external}`,
      `colo_process_memory_bytes{kind="array_buffers"} ${m.arrayBuffers}`,
    );
  }
}
