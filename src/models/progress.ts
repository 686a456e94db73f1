/**
 * A one-line text progress bar for downloads and model generation. On a TTY it redraws
 * in place at most ten times a second; elsewhere (CI logs) it prints a line per 10%.
 */
import type { DownloadProgress } from './download';

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : v < 10 ? 2 : 1)} ${units[u]}`;
}

export interface ProgressState {
  label: string;
  received: number;
  total: number | undefined;
  /** Bytes per second over the transfer so far. */
  rate: number;
}

/** `label  42% [########----------]  1.20 MB / 2.85 MB  3.1 MB/s  ETA 1s` */
export function renderProgress(p: ProgressState, width = 24): string {
  const rate = p.rate > 0 ? `${formatBytes(p.rate)}/s` : '-';
  if (p.total === undefined || p.total <= 0) return `${p.label}  ${formatBytes(p.received)}  ${rate}`;
  const frac = Math.min(1, p.received / p.total);
  const filled = Math.round(frac * width);
  const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
  const pct = `${Math.floor(frac * 100)}%`.padStart(4);
  const eta = p.rate > 0 && frac < 1 ? `  ETA ${formatDuration((p.total - p.received) / p.rate)}` : '';
  return `${p.label} ${pct} [${bar}]  ${formatBytes(p.received)} / ${formatBytes(p.total)}  ${rate}${eta}`;
}

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  if (seconds < 3600)
    return `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

export interface ProgressReporter {
  onProgress: (p: DownloadProgress) => void;
  /** Prints the final state and a newline (TTY). */
  finish(): void;
}

/** Writes progress for `label` to `out` (usually process.stderr). */
export function progressReporter(
  out: { write(s: string): unknown; isTTY?: boolean },
  label: string,
  now: () => number = () => performance.now(),
): ProgressReporter {
  let last = -Infinity;
  let lastDecile = -1;
  let state: ProgressState | undefined;
  const tty = out.isTTY === true;
  return {
    onProgress(p) {
      const t = now();
      const secs = (t - p.startedAt) / 1000;
      state = {
        label,
        received: p.received,
        total: p.total,
        rate: secs > 0 ? (p.received - p.resumedFrom) / secs : 0,
      };
      if (tty) {
        if (t - last < 100) return;
        last = t;
        out.write(`\r${renderProgress(state)}\x1b[K`);
      } else if (p.total) {
        const decile = Math.floor((p.received / p.total) * 10);
        if (decile > lastDecile) {
          lastDecile = decile;
          out.write(`${renderProgress(state)}\n`);
        }
      }
    },
    finish() {
      if (tty && state) out.write(`\r${renderProgress(state)}\x1b[K\n`);
    },
  };
}
