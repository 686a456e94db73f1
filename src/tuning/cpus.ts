/**
 * How many CPUs this process may keep busy: the cores its affinity mask allows
 * (`os.availableParallelism`), capped by a cgroup CPU quota when it runs in a container
 * with a CPU limit. Node 20's `availableParallelism` does not read the quota, so a pod
 * limited to 2 CPUs on a 64-core host reads 64; a thread that polls there would spend the
 * quota the model's threads need, and the whole process would be throttled.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

type Read = (path: string) => string | undefined;

const readOrUndefined: Read = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** The cgroup CPU quota in CPUs (fractional), or undefined when there is none. */
export function cgroupCpuQuota(read: Read = readOrUndefined): number | undefined {
  // cgroup v2: the process's own group (from /proc/self/cgroup "0::/path"), then the root.
  const own = read('/proc/self/cgroup')
    ?.split('\n')
    .find((l) => l.startsWith('0::'))
    ?.slice(3)
    .trim();
  for (const dir of [own && own !== '/' ? `/sys/fs/cgroup${own}` : undefined, '/sys/fs/cgroup']) {
    if (!dir) continue;
    const max = read(`${dir}/cpu.max`)?.trim().split(/\s+/);
    if (max && max.length >= 1) {
      if (max[0] === 'max') return undefined;
      const quota = Number(max[0]);
      const period = Number(max[1] ?? 100_000);
      if (quota > 0 && period > 0) return quota / period;
    }
  }
  // cgroup v1.
  for (const dir of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
    const quota = Number(read(`${dir}/cpu.cfs_quota_us`)?.trim());
    const period = Number(read(`${dir}/cpu.cfs_period_us`)?.trim());
    if (quota > 0 && period > 0) return quota / period;
  }
  return undefined;
}

/** CPUs this process may keep busy (fractional under a quota). */
export function cpuBudget(cores = availableParallelism(), read: Read = readOrUndefined): number {
  const quota = cgroupCpuQuota(read);
  return quota === undefined ? cores : Math.min(cores, quota);
}
