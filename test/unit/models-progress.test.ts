import { describe, expect, it } from 'vitest';
import { formatBytes, progressReporter, renderProgress } from '../../src/models';

describe('progressReporter', () => {
  it('redraws in place on a TTY and ends with a newline', () => {
    const out: string[] = [];
    let t = 0;
    const rep = progressReporter({ write: (s: string) => out.push(s), isTTY: true }, 'm', () => t);
    for (let i = 1; i <= 10; i++) {
      t = i * 200;
      rep.onProgress({ received: i * 100, total: 1000, resumedFrom: 0, startedAt: 0 });
    }
    rep.finish();
    expect(out.every((s) => s.startsWith('\r'))).toBe(true);
    expect(out.at(-1)).toMatch(/^\rm 100% \[#{24}\]  1.00 KB \/ 1.00 KB  500 B\/s.*\n$/);
  });
});

describe('renderProgress', () => {
  it('shows percent, bar, sizes, rate and ETA', () => {
    expect(renderProgress({ label: 'x', received: 250_000, total: 1_000_000, rate: 250_000 }, 8)).toBe(
      'x  25% [##------]  250.0 KB / 1.00 MB  250.0 KB/s  ETA 3s',
    );
  });
  it('shows bytes and rate when the size is unknown', () => {
    expect(renderProgress({ label: 'x', received: 1500, total: undefined, rate: 0 })).toBe('x  1.50 KB  -');
  });
  it('formats bytes in SI units', () => {
    expect([formatBytes(999), formatBytes(1_185_376), formatBytes(4_075_063_232)]).toEqual([
      '999 B',
      '1.19 MB',
      '4.08 GB',
    ]);
  });
  it('prints one line per 10% when not a TTY', () => {
    const out: string[] = [];
    const rep = progressReporter({ write: (s: string) => out.push(s) }, 'm', () => 1000);
    for (let r = 0; r <= 1000; r += 10)
      rep.onProgress({ received: r, total: 1000, resumedFrom: 0, startedAt: 0 });
    rep.finish();
    expect(out).toHaveLength(11);
    expect(out.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
  });
});
