/**
 * Where a server process's time went: CPU time from /proc, and the top self-time
 * functions and files of a V8 `--cpu-prof` profile.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Linux USER_HZ; /proc/<pid>/stat times are in these ticks. */
const CLK_TCK = 100;

/** utime + stime of a process (all its threads) from /proc/<pid>/stat, in µs. */
export function processCpuUs(pid: number): number {
  return statCpuUs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** utime + stime of each thread of a process (/proc/<pid>/task/<tid>/stat), µs by thread id. */
export function threadCpuUs(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(Number(tid), statCpuUs(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

function statCpuUs(stat: string): number {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
}

export interface ProfileEntry {
  name: string;
  selfMs: number;
  pct: number;
}

export interface ProfileSummary {
  /** Non-idle main-thread sample time in the window, ms. */
  totalMs: number;
  functions: ProfileEntry[];
  files: ProfileEntry[];
}

/**
 * Top self-time functions and files of the `--cpu-prof` profiles in `dir` (main thread,
 * tid 0), idle and `(program)` left out, counting only samples from `fromUs` on
 * (CLOCK_MONOTONIC µs: the clock of both V8's profile timestamps and process.hrtime),
 * so start-up and warm-up are excluded. `root` is cut from file names. `threads`: 'main'
 * (default) or 'workers' (every worker thread's profile, e.g. the engine worker's).
 */
export function summarizeCpuProfile(
  dir: string,
  fromUs: number,
  root: string,
  n = 25,
  threads: 'main' | 'workers' = 'main',
): ProfileSummary {
  const files = readdirSync(dir).filter(
    (f) => f.endsWith('.cpuprofile') && (f.split('.')[4] === '0') === (threads === 'main'),
  );
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (const f of files) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
      nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
      startTime: number;
      samples: number[];
      timeDeltas: number[];
    };
    const byId = new Map(p.nodes.map((node) => [node.id, node.callFrame]));
    let at = p.startTime;
    p.samples.forEach((id, i) => {
      at += p.timeDeltas[i] ?? 0;
      if (at < fromUs) return;
      const cf = byId.get(id)!;
      if (cf.functionName === '(idle)' || cf.functionName === '(program)') return;
      const dt = (p.timeDeltas[i] ?? 0) / 1000;
      const file = cf.url ? cf.url.replace(/^file:\/\//, '').replace(`${root}/`, '') : `(${cf.functionName})`;
      const fn = `${cf.functionName || '(anonymous)'} ${file.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`;
      total += dt;
      byFn.set(fn, (byFn.get(fn) ?? 0) + dt);
      byFile.set(file, (byFile.get(file) ?? 0) + dt);
    });
  }
  const top = (m: Map<string, number>): ProfileEntry[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({
        name,
        selfMs: Math.round(ms),
        pct: Math.round((ms / Math.max(total, 1e-9)) * 1000) / 10,
      }));
  return { totalMs: Math.round(total), functions: top(byFn), files: top(byFile) };
}
