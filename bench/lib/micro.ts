/**
 * Micro-bench runner over tinybench 6. A bench is treated like a test: every task's
 * correctness check runs first, and if any fails nothing is timed and the process
 * exits non-zero. Then it times, prints a table and writes bench/results/<name>.json.
 */
import { Bench, type BenchOptions } from 'tinybench';
import { machineLine } from './machine';
import { writeResult } from './results';

export interface MicroTask {
  name: string;
  /** The hot function under test. */
  fn: () => unknown;
  /** Throws when `fn` (or what it builds on) gives a wrong answer. Runs once before timing. */
  check?: () => unknown;
  /**
   * Operations one call of `fn` performs. For ops of tens of ns the timer read costs as
   * much as the op, so loop inside `fn` and say how many; figures are per op. Default 1.
   */
  batch?: number;
  /** Runs once before this task is timed (e.g. subscribe a listener); afterAll undoes it. */
  beforeAll?: () => void | Promise<void>;
  afterAll?: () => void | Promise<void>;
}

export interface MicroOptions {
  /** A check over the whole bench (e.g. all tasks agree), run before timing. */
  check?: () => unknown;
  /** Time budget per task in ms. Default 1000 (BENCH_QUICK=1 makes it 200). */
  time?: number;
  /** Minimum iterations per task. Default 64. */
  iterations?: number;
  /** Extra fields for the result file (sizes, parameters). */
  meta?: Record<string, unknown>;
  /** Passed through to tinybench. */
  bench?: Partial<BenchOptions>;
}

export interface MicroTaskResult {
  name: string;
  /** Operations per second (per op, after dividing by `batch`). */
  opsPerSec: number;
  meanNs: number;
  p50Ns: number;
  p99Ns: number;
  p999Ns: number;
  minNs: number;
  maxNs: number;
  /** Relative margin of error of the mean, in percent. */
  rmePct: number;
  samples: number;
}

export interface MicroResult {
  name: string;
  ok: boolean;
  /** Set when a check failed; then `tasks` is empty. */
  checkError?: string;
  tasks: MicroTaskResult[];
  meta?: Record<string, unknown>;
}

async function runChecks(tasks: readonly MicroTask[], opts: MicroOptions): Promise<string | undefined> {
  for (const t of tasks) {
    try {
      await t.check?.();
    } catch (err) {
      return `${t.name}: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  try {
    await opts.check?.();
  } catch (err) {
    return `bench check: ${err instanceof Error ? err.message : String(err)}`;
  }
  return undefined;
}

const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;

export async function runMicro(
  name: string,
  tasks: readonly MicroTask[],
  opts: MicroOptions = {},
): Promise<MicroResult> {
  console.log(`# ${name}\n${machineLine()}`);
  const checkError = await runChecks(tasks, opts);
  if (checkError) {
    console.error(`CHECK FAILED, not timing: ${checkError}`);
    process.exitCode = 1;
    const failed: MicroResult = { name, ok: false, checkError, tasks: [], meta: opts.meta };
    writeResult(name, 'micro', failed);
    return failed;
  }

  const quick = process.env.BENCH_QUICK === '1';
  const bench = new Bench({
    name,
    time: opts.time ?? (quick ? 200 : 1000),
    iterations: opts.iterations ?? 64,
    throws: true,
    ...opts.bench,
  });
  for (const t of tasks) bench.add(t.name, t.fn, { beforeAll: t.beforeAll, afterAll: t.afterAll });
  await bench.run();
  console.table(bench.table());
  if (tasks.some((t) => (t.batch ?? 1) > 1))
    console.log('(table is per call; the JSON is per op, divided by batch)');

  const results: MicroTaskResult[] = [];
  for (const [idx, task] of bench.tasks.entries()) {
    const r = task.result;
    const per = tasks[idx]?.batch ?? 1;
    if (r.state !== 'completed') throw new Error(`task ${task.name} ended ${r.state}`);
    const l = r.latency; // milliseconds
    results.push({
      name: task.name,
      opsPerSec: Math.round((1e3 * per) / r.period),
      meanNs: round((l.mean * 1e6) / per),
      p50Ns: round((l.p50 * 1e6) / per),
      p99Ns: round((l.p99 * 1e6) / per),
      p999Ns: round((l.p999 * 1e6) / per),
      minNs: round((l.min * 1e6) / per),
      maxNs: round((l.max * 1e6) / per),
      rmePct: round(l.rme, 2),
      samples: l.samplesCount,
    });
  }
  const out: MicroResult = { name, ok: true, tasks: results, meta: opts.meta };
  const path = writeResult(name, 'micro', out);
  if (path) console.log(`wrote ${path}`);
  return out;
}
