/**
 * What machine a figure was measured on. Every result file carries this, because a
 * p99 without the box, the Node version and the commit cannot be compared later.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  /** Logical cores the OS reports. */
  cores: number;
  /** Cores this process may use (affinity, cgroups). */
  availableParallelism: number;
  /** cpufreq governor of cpu0, or 'unknown' when /sys does not expose it (VMs, containers). */
  governor: string;
  totalMemGiB: number;
  /** 1-minute load average when the run started: a busy shared box explains a bad tail. */
  loadavg1: number;
  platform: string;
  arch: string;
  kernel: string;
  node: string;
  v8: string;
  /** Short commit, with "-dirty" when the tree has changes; 'unknown' outside git. */
  gitCommit: string;
}

function readTrim(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function gitCommit(cwd: string = process.cwd()): string {
  try {
    const opts = {
      cwd,
      encoding: 'utf8' as const,
      stdio: ['ignore', 'pipe', 'ignore'] as ('ignore' | 'pipe')[],
    };
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], opts).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], opts).trim() !== '';
    return dirty ? `${head}-dirty` : head;
  } catch {
    return 'unknown';
  }
}

let cached: MachineInfo | undefined;

export function machineInfo(): MachineInfo {
  if (cached) return cached;
  const cpus = os.cpus();
  cached = {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    governor: readTrim('/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor') ?? 'unknown',
    totalMemGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadavg1: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
    platform: process.platform,
    arch: process.arch,
    kernel: os.release(),
    node: process.version,
    v8: process.versions.v8,
    gitCommit: gitCommit(),
  };
  return cached;
}

/** One line for the top of a bench's console output. */
export function machineLine(m: MachineInfo = machineInfo()): string {
  return `${m.cpuModel} x${m.cores} (governor ${m.governor}, load ${m.loadavg1}) | node ${m.node} | ${m.platform}/${m.arch} | commit ${m.gitCommit}`;
}

/** The machine line with the load averages now, for the end of a bench's console output. */
export function machineEndLine(): string {
  return `${machineLine()} load ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`;
}

/**
 * True when the process entry is the bench file named `name` (no extension). A
 * basename check, not import.meta.url: bundled by run.mjs, imported modules share the
 * entry's import.meta.url, and would all think they are main.
 */
export function isMain(name: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  const base = entry.split(/[\\/]/).pop() ?? '';
  return base.replace(/\.(ts|mts|mjs|js)$/, '') === name;
}
