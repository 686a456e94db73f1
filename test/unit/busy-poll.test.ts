import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { BusyPoll, busyPollWindow, WARM_AFTER_MS, WARM_EVERY_MS } from '../../src/core/busy-poll';
import { cgroupCpuQuota, cpuBudget } from '../../src/tuning';

describe('BusyPoll warmers', () => {
  it('runs the warmers while polling, spaced by WARM_EVERY_MS, and not once asleep', async () => {
    const p = new BusyPoll();
    p.configure(30);
    let runs = 0;
    p.addWarmer('count', () => void runs++);
    p.touch();
    await sleep(20);
    expect(runs).toBeGreaterThan(0);
    expect(p.warmPasses).toBe(runs);
    // Spaced: far fewer passes than loop turns.
    expect(runs).toBeLessThan(p.turns);
    expect(runs).toBeLessThanOrEqual(Math.ceil(40 / WARM_EVERY_MS));
    await sleep(100); // the window has passed: asleep
    const asleep = runs;
    await sleep(30);
    expect(runs).toBe(asleep);
    p.configure(0);
  });

  it('holds the warmers back for WARM_AFTER_MS after a request, but not after a worker message', async () => {
    let t = 1000;
    const p = new BusyPoll(() => t);
    p.configure(50);
    let runs = 0;
    p.addWarmer('count', () => void runs++);
    const turns = async (n: number) => {
      for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
    };
    p.touch(true); // a request at t = 1000
    await turns(20);
    t += WARM_AFTER_MS / 2;
    await turns(20);
    expect(runs).toBe(0); // its own traffic keeps the path hot
    t += WARM_AFTER_MS; // a quiet spell
    await turns(20);
    expect(runs).toBe(1); // once: the clock has not moved WARM_EVERY_MS since
    t += WARM_EVERY_MS;
    await turns(5);
    expect(runs).toBe(2);
    // A worker's token message keeps the loop polling but does not hold the warmers back.
    p.touch();
    t += WARM_EVERY_MS;
    await turns(5);
    expect(runs).toBe(3);
    p.configure(0);
  });

  it('never runs a warmer with polling off', async () => {
    const p = new BusyPoll();
    let runs = 0;
    p.addWarmer('count', () => void runs++);
    p.touch();
    await sleep(20);
    expect(runs).toBe(0);
  });

  it('drops a warmer that throws, names it, and keeps running the others', async () => {
    const p = new BusyPoll();
    p.configure(30);
    let good = 0;
    let bad = 0;
    const told: string[] = [];
    p.addWarmer(
      'bad',
      () => {
        bad++;
        throw new Error('a warmer must never throw');
      },
      (err) => told.push((err as Error).message),
    );
    p.addWarmer('good', () => void good++);
    p.touch();
    await sleep(20);
    expect(bad).toBe(1);
    expect(p.failedWarmers).toEqual(['bad']);
    expect(told).toEqual(['a warmer must never throw']);
    expect(good).toBeGreaterThan(1);
    p.clearWarmers();
    const after = good;
    await sleep(10);
    expect(good).toBe(after);
    p.configure(0);
  });
});

describe('BusyPoll', () => {
  it('with a window of 0 never keeps the loop turning', async () => {
    const p = new BusyPoll();
    p.touch();
    await sleep(20);
    expect(p.active).toBe(false);
    expect(p.turns).toBe(0);
  });

  it('keeps the loop turning while touched, and stops once the window passes with no touch', async () => {
    const p = new BusyPoll();
    p.configure(30);
    p.touch();
    expect(p.active).toBe(true);
    // Touched again and again: it keeps polling (many turns, one chain).
    for (let i = 0; i < 5; i++) {
      await sleep(10);
      p.touch();
      expect(p.active).toBe(true);
    }
    const during = p.turns;
    expect(during).toBeGreaterThan(5);
    await sleep(150);
    expect(p.active).toBe(false);
    const after = p.turns;
    await sleep(50);
    expect(p.turns).toBe(after); // asleep: no more turns
    // A new touch starts it again.
    p.touch();
    expect(p.active).toBe(true);
    p.configure(0);
    await sleep(20);
    expect(p.active).toBe(false);
  });

  it('one chain, however often touched', async () => {
    const p = new BusyPoll();
    p.configure(1000);
    for (let i = 0; i < 100; i++) p.touch();
    // Each turn runs one callback: 100 touches in one tick add no extra turns.
    await new Promise((r) => setImmediate(r));
    expect(p.turns).toBeLessThanOrEqual(2);
    p.configure(0);
    await sleep(10);
    expect(p.active).toBe(false);
  });
});

describe('busyPollWindow', () => {
  it('keeps the configured window when the llama.cpp threads leave a core for the network thread', () => {
    expect(busyPollWindow(50, 1, 2)).toEqual({ windowMs: 50 });
    expect(busyPollWindow(50, 7, 8)).toEqual({ windowMs: 50 });
  });

  it('turns polling off, saying why, when it would oversubscribe the cores', () => {
    const r = busyPollWindow(50, 2, 2);
    expect(r.windowMs).toBe(0);
    expect(r.reason).toMatch(/3 cores; this process may use 2/);
  });

  it('0 stays off', () => {
    expect(busyPollWindow(0, 1, 64)).toEqual({ windowMs: 0 });
  });

  it('counts a fractional CPU quota as the cores it allows', () => {
    expect(busyPollWindow(50, 1, 1.5).windowMs).toBe(0);
    expect(busyPollWindow(50, 1, 2).windowMs).toBe(50);
  });
});

describe('cpuBudget: a container CPU limit caps the cores', () => {
  const files = (f: Record<string, string>) => (p: string) => f[p];

  it("cgroup v2: the process group's cpu.max", () => {
    const read = files({
      '/proc/self/cgroup': '0::/kubepods/pod1\n',
      '/sys/fs/cgroup/kubepods/pod1/cpu.max': '200000 100000\n',
    });
    expect(cgroupCpuQuota(read)).toBe(2);
    expect(cpuBudget(64, read)).toBe(2);
  });

  it('cgroup v2 at the root (a container namespace), and "max" means no quota', () => {
    expect(
      cpuBudget(64, files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '150000 100000' })),
    ).toBe(1.5);
    expect(cpuBudget(8, files({ '/sys/fs/cgroup/cpu.max': 'max 100000' }))).toBe(8);
  });

  it('cgroup v1 quota and period; -1 means no quota; a quota above the cores does not raise them', () => {
    const v1 = (q: string) =>
      files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': q, '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' });
    expect(cpuBudget(16, v1('300000'))).toBe(3);
    expect(cpuBudget(16, v1('-1'))).toBe(16);
    expect(cpuBudget(2, v1('800000'))).toBe(2);
  });

  it('no cgroup files: the cores as given', () => {
    expect(cpuBudget(4, files({}))).toBe(4);
  });
});
