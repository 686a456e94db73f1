/**
 * Does host tuning (thread pinning + mlockall) move the tail? Same workloads, tuning
 * off and on, in the same run, in alternating rounds (off, on, off, on...) so drift in
 * the box's load hits both sides alike.
 *
 *   node bench/lib/run.mjs bench/e2e/tuning.ts [--quick] [--rounds=N] [--mlock]
 *
 * Workloads:
 * 1. hiccup: a busy loop reads the clock back to back for a few seconds and records
 *    every gap; the tail is time stolen from this thread (preemption, interrupts, page
 *    faults), the floor under any request's latency.
 * 2. echo: closed-loop (1 client) WebSocket round trips of a 100 B frame through a uWS
 *    echo server in a child process.
 *
 * Variants: plain; pin-split (client core A, server core B); pin-same (both on core A);
 * with --mlock also mlock (both processes mlockall'd) and pin-split+mlock. mlockall can
 * abort node (see native/README.md): run --mlock under run.mjs, not tsx, and expect it
 * to crash now and then.
 *
 * Needs the addon (native/build). Without it the bench says so and exits 0.
 */
import { loadTuning, type Tuning } from '../../src/tuning';
import {
  compareLatency,
  createHistogram,
  formatComparison,
  formatSummary,
  isMain,
  machineLine,
  recordNs,
  runClosedLoop,
  summarize,
  writeResult,
} from '../lib';
import type { LatencySummary } from '../lib';
import { EchoClient } from './uws-echo-client';
import { startEchoChild, type RunningServer } from './uws-echo';

/** One tuning setup: what the client (this thread) does, and how its echo server runs. */
interface Variant {
  name: string;
  pin: boolean;
  mlock: boolean;
  /** Core for the echo server, or undefined to leave it unpinned. */
  serverCore: number | undefined;
}

interface Phase {
  variant: string;
  round: number;
  hiccup: LatencySummary & { gapsOver10us: number; gapsOver100us: number };
  echo: LatencySummary;
}

/** Records every gap between back-to-back clock reads for `ms`. */
function hiccup(tuning: Tuning, ms: number): Phase['hiccup'] {
  const h = createHistogram();
  let over10 = 0;
  let over100 = 0;
  const end = tuning.monotonicNs() + BigInt(Math.round(ms * 1e6));
  let prev = tuning.monotonicNs();
  while (prev < end) {
    const now = tuning.monotonicNs();
    const gap = Number(now - prev);
    recordNs(h, gap);
    if (gap > 10_000) over10++;
    if (gap > 100_000) over100++;
    prev = now;
  }
  const s = summarize(h);
  h.destroy();
  return { ...s, gapsOver10us: over10, gapsOver100us: over100 };
}

async function echo(url: string, count: number): Promise<LatencySummary> {
  const client = await EchoClient.connect(url);
  const r = await runClosedLoop({ concurrency: 1, count, warmup: 2000, send: () => client.roundTrip(100) });
  await client.close();
  return r.rtt;
}

function merge(phases: Phase[], pick: (p: Phase) => LatencySummary): LatencySummary {
  // Worst-of across rounds for the tail: a tail that appears once is still a tail.
  const ss = phases.map(pick);
  const max = (k: keyof LatencySummary) => Math.max(...ss.map((s) => s[k] as number));
  const med = (k: keyof LatencySummary) => {
    const v = ss.map((s) => s[k] as number).sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)] as number;
  };
  return {
    unit: 'us',
    count: ss.reduce((a, s) => a + s.count, 0),
    min: Math.min(...ss.map((s) => s.min)),
    mean: med('mean'),
    p50: med('p50'),
    p90: med('p90'),
    p99: max('p99'),
    p999: max('p999'),
    max: max('max'),
    stddev: med('stddev'),
  };
}

async function main() {
  const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
  const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? (quick ? 1 : 3));
  const hiccupMs = quick ? 1000 : 3000;
  const echoCount = quick ? 5000 : 20_000;
  console.log(`# tuning effect\n${machineLine()}`);

  const tuning = loadTuning();
  if (!tuning.available) {
    console.log(`tuning addon unavailable (${tuning.reason}); nothing to compare.`);
    writeResult('tuning', 'e2e', { available: false, reason: tuning.reason });
    return;
  }
  const original = tuning.getThreadAffinity();
  const a = original[0] ?? 0;
  const b = original[1] ?? a;
  const variants: Variant[] = [
    { name: 'plain', pin: false, mlock: false, serverCore: undefined },
    { name: 'pin-split', pin: true, mlock: false, serverCore: b },
    { name: 'pin-same', pin: true, mlock: false, serverCore: a },
  ];
  // mlockall can abort node (V8 CHECK on madvise of locked pages, native/README.md), so
  // its variants run only when asked for.
  if (process.argv.includes('--mlock')) {
    variants.push(
      { name: 'mlock', pin: false, mlock: true, serverCore: undefined },
      { name: 'pin-split+mlock', pin: true, mlock: true, serverCore: b },
    );
  }
  const limit = tuning.memlockLimit();
  console.log(
    `memlock limit ${limit === Infinity ? 'unlimited' : `${limit} B`}; client core ${a}; ${rounds} round(s)`,
  );

  const servers = new Map<string, RunningServer>();
  const phases: Phase[] = [];
  const steps: string[] = [];
  try {
    for (const v of variants) {
      const args = [
        ...(v.serverCore === undefined ? [] : [`--pin=${v.serverCore}`]),
        ...(v.mlock ? ['--mlock'] : []),
      ];
      const s = await startEchoChild(args);
      servers.set(v.name, s);
      steps.push(`server ${v.name}: ${s.label}`);
    }
    for (let round = 0; round < rounds; round++) {
      for (const v of variants) {
        if (v.pin)
          steps.push(`round ${round} ${v.name}: pin [${a}] ${JSON.stringify(tuning.pinThreadToCores([a]))}`);
        if (v.mlock) steps.push(`round ${round} ${v.name}: mlockall ${JSON.stringify(tuning.lockMemory())}`);
        try {
          const h = hiccup(tuning, hiccupMs);
          const e = await echo(servers.get(v.name)!.url, echoCount);
          phases.push({ variant: v.name, round, hiccup: h, echo: e });
          console.log(`  r${round} ${v.name.padEnd(16)} hiccup ${formatSummary(h)} >10µs:${h.gapsOver10us}`);
          console.log(`  r${round} ${v.name.padEnd(16)} echo   ${formatSummary(e)}`);
        } finally {
          // Unlock before anything else happens: a worker thread torn down while memory
          // is locked aborts the process (native/README.md).
          if (v.mlock) tuning.unlockMemory();
          if (v.pin) tuning.pinThreadToCores(original);
        }
      }
    }
  } finally {
    for (const s of servers.values()) s.close();
  }
  const of = (name: string) => phases.filter((p) => p.variant === name);
  const base = of('plain');
  const comparison: Record<
    string,
    { hiccup: ReturnType<typeof compareLatency>; echo: ReturnType<typeof compareLatency> }
  > = {};
  for (const v of variants.slice(1)) {
    const hiccupCmp = compareLatency(
      merge(base, (p) => p.hiccup),
      merge(of(v.name), (p) => p.hiccup),
    );
    const echoCmp = compareLatency(
      merge(base, (p) => p.echo),
      merge(of(v.name), (p) => p.echo),
    );
    comparison[v.name] = { hiccup: hiccupCmp, echo: echoCmp };
    console.log(formatComparison(`hiccup gap (µs): ${v.name} / plain`, hiccupCmp, ['plain', v.name]));
    console.log(formatComparison(`echo RTT (µs): ${v.name} / plain`, echoCmp, ['plain', v.name]));
  }
  const path = writeResult('tuning', 'e2e', {
    available: true,
    clientCore: a,
    memlockLimit: limit === Infinity ? 'unlimited' : limit,
    rounds,
    hiccupMs,
    echoCount,
    note: 'p50/p90/mean: median over rounds; p99/p99.9/max: worst over rounds',
    steps,
    phases,
    comparison,
  });
  if (path) console.log(`wrote ${path}`);
}

if (isMain('tuning')) await main();
