/**
 * Does host tuning (thread pinning + mlockall) move the tail? Same workloads, tuning
 * off and on, in the same run, in alternating rounds (off, on, off, on...) so drift in
 * the box's load hits both sides alike.
 *
 *   npx tsx bench/e2e/tuning.ts [--quick] [--rounds=N]
 *
 * Workloads:
 * 1. hiccup: a busy loop reads the clock back to back for a few seconds and records
 *    every gap; the tail is time stolen from this thread (preemption, interrupts, page
 *    faults), the floor under any request's latency.
 * 2. echo: closed-loop (1 client) WebSocket round trips of a 100 B frame through a uWS
 *    echo server in a child process. Tuned: client on core A, server on core B, both
 *    mlockall'd.
 *
 * Needs the addon (native/build). Without it the bench says so and exits 0.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTuning, type Tuning } from '../../src/tuning';
import { compareLatency, createHistogram, formatComparison, formatSummary, machineLine, recordNs, runClosedLoop, summarize, writeResult } from '../lib';
import type { LatencySummary } from '../lib';
import { EchoClient } from './uws-echo-client';
import { startEchoChild } from './uws-echo';

interface Phase {
  tuned: boolean;
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
  const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? (quick ? 1 : 2));
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
  const clientCore = original[0] ?? 0;
  const serverCore = original[1] ?? clientCore;
  console.log(`memlock limit ${tuning.memlockLimit()} B; client core ${clientCore}, server core ${serverCore}; ${rounds} round(s)`);

  const plain = await startEchoChild();
  const tuned = await startEchoChild([`--pin=${serverCore}`, '--mlock']);
  console.log(`servers: plain ${plain.label}; tuned ${tuned.label}`);
  const phases: Phase[] = [];
  const steps: string[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      for (const on of [false, true]) {
        if (on) {
          const pin = tuning.pinThreadToCores([clientCore]);
          const lock = tuning.lockMemory();
          steps.push(`round ${round}: pin ${JSON.stringify(pin)} mlock ${JSON.stringify(lock)}`);
        }
        const h = hiccup(tuning, hiccupMs);
        const e = await echo((on ? tuned : plain).url, echoCount);
        if (on) {
          tuning.unlockMemory();
          tuning.pinThreadToCores(original);
        }
        phases.push({ tuned: on, round, hiccup: h, echo: e });
        console.log(`  round ${round} ${on ? 'tuned' : 'plain'}  hiccup ${formatSummary(h)} >10µs:${h.gapsOver10us}`);
        console.log(`  round ${round} ${on ? 'tuned' : 'plain'}  echo   ${formatSummary(e)}`);
      }
    }
  } finally {
    plain.close();
    tuned.close();
  }
  const off = phases.filter((p) => !p.tuned);
  const on = phases.filter((p) => p.tuned);
  const hiccupCmp = compareLatency(merge(off, (p) => p.hiccup), merge(on, (p) => p.hiccup));
  const echoCmp = compareLatency(merge(off, (p) => p.echo), merge(on, (p) => p.echo));
  console.log(formatComparison('hiccup gap (µs), ratio = tuned / plain', hiccupCmp, ['plain', 'tuned']));
  console.log(formatComparison('echo RTT (µs), ratio = tuned / plain', echoCmp, ['plain', 'tuned']));
  const path = writeResult('tuning', 'e2e', {
    available: true,
    clientCore,
    serverCore,
    memlockLimit: tuning.memlockLimit(),
    steps,
    phases,
    comparison: { hiccup: hiccupCmp, echo: echoCmp },
  });
  if (path) console.log(`wrote ${path}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
