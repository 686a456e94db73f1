/**
 * Writes one machine-readable result file per bench run.
 *
 * BENCH_OUT (read here because this is bench code, not library code):
 * - unset: write to bench/results/<name>.json
 * - a directory path: write there instead
 * - "0" or "none": do not write (console output only)
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo, type MachineInfo } from './machine';

/**
 * The repo's bench/results. Found by walking up to the directory holding package.json
 * and bench/, because this module also runs bundled from node_modules/.cache (run.mjs).
 */
function findResultsDir(from: string): string {
  let dir = from;
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bench')))
      return join(dir, 'bench', 'results');
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return resolve('bench', 'results');
}

export const DEFAULT_RESULTS_DIR = findResultsDir(dirname(fileURLToPath(import.meta.url)));

export interface ResultEnvelope<T> {
  name: string;
  kind: 'micro' | 'e2e';
  date: string;
  machine: MachineInfo;
  /** The command that produced this file, so anyone can reproduce it. */
  command: string;
  results: T;
}

export function resultsDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const out = env.BENCH_OUT;
  if (out === '0' || out === 'none') return undefined;
  return out ? resolve(out) : DEFAULT_RESULTS_DIR;
}

export function envelope<T>(name: string, kind: 'micro' | 'e2e', results: T): ResultEnvelope<T> {
  return {
    name,
    kind,
    date: new Date().toISOString(),
    machine: machineInfo(),
    command: process.argv.slice(1).join(' '),
    results,
  };
}

/** Writes atomically (tmp + rename) so a killed run never leaves half a JSON file. Returns the path or undefined. */
export function writeResult<T>(name: string, kind: 'micro' | 'e2e', results: T): string | undefined {
  const dir = resultsDir();
  if (!dir) return undefined;
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${safe}.json`);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(envelope(name, kind, results), null, 2)}\n`);
  renameSync(tmp, path);
  return path;
}
