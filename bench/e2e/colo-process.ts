/**
 * Starts a real Colo server as a child process (the built dist/cli.js), as an
 * operator would, and returns its port once it logs that it is listening. Benches
 * talk to it over loopback only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export interface ColoProcess {
  port: number;
  child: ChildProcess;
  /** What it logged up to 'colo listening' (the models' load lines among it). */
  log: string;
  stop(): Promise<void>;
}

/**
 * The repo root: the nearest directory above this module holding package.json and
 * bench/. Walked up rather than '../..' because bench/lib/run.mjs runs this module
 * bundled from node_modules/.cache/colo-bench/bench/e2e/.
 */
function findRoot(from: string): string {
  for (let dir = from; dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bench'))) return dir;
  }
  return resolve(from, '../..');
}

export const ROOT = findRoot(import.meta.dirname);

/** The tiny real model every bench runs by default (../shared, never committed). */
export const DEFAULT_MODEL_PATH = resolve(ROOT, '../shared/models/stories260K.gguf');

/**
 * `nodeArgs` go before the script (e.g. ['--cpu-prof', '--cpu-prof-dir=DIR']: V8 writes
 * the profile when Colo exits after SIGTERM; --cpu-prof is refused in NODE_OPTIONS).
 */
export async function startColoProcess(
  config: Record<string, unknown>,
  env: Record<string, string> = {},
  nodeArgs: readonly string[] = [],
  /** The built CLI to run; default dist/cli.js (a saved copy runs a before/after comparison in one bench). */
  cli: string = join(ROOT, 'dist/cli.js'),
): Promise<ColoProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'colo-bench-'));
  const file = join(dir, 'colo.json');
  // The audit log (on by default, fsync 'always') goes to this run's temporary directory
  // unless the config says otherwise, so benches never write into the repo's data/.
  const audit = { dir: join(dir, 'audit'), ...(config.audit as object) };
  writeFileSync(
    file,
    JSON.stringify({ ...config, audit, server: { port: 0, ...(config.server as object) } }),
  );
  const child = spawn(
    process.execPath,
    [...nodeArgs, cli, 'serve', '--config', file, '--log-level', 'info'],
    {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'pipe'],
    },
  );
  let startLog = '';
  const port = await new Promise<number>((resolvePort, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = /"port":(\d+)/.exec(buf) ?? /port=(\d+)/.exec(buf);
      if (m && buf.includes('colo listening')) {
        startLog = buf;
        child.stderr!.off('data', onData);
        child.stderr!.on('data', (x: Buffer) => process.env.BENCH_VERBOSE && process.stderr.write(x));
        resolvePort(Number(m[1]));
      }
    };
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`colo exited with ${code} before listening:\n${buf}`)));
  });
  return {
    port,
    child,
    log: startLog,
    stop: () =>
      new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}

/** A Colo build a bench runs: its label, its CLI and its server's extra environment. */
export interface ColoSubject {
  label: string;
  cli: string;
  env: Record<string, string>;
}

/**
 * The builds of `--colo label=cli,…` (paths from the repo root) with the environment of
 * `--colo-env label:KEY=VALUE,…`, so a setting can be read against the default in one
 * run (e.g. `--colo a=dist/cli.js,b=dist/cli.js --colo-env b:COLO_BUSY_POLL_MS=0`).
 */
export function coloSubjects(colo: string, env = ''): ColoSubject[] {
  const subjects = colo.split(',').map((s) => {
    const [label, cli] = s.split('=');
    if (!label || !cli) throw new Error(`--colo: expected label=cli, got ${s}`);
    return { label, cli: resolve(ROOT, cli), env: {} as Record<string, string> };
  });
  for (const item of env.split(',').filter(Boolean)) {
    const m = /^([^:]+):([^=]+)=(.*)$/.exec(item);
    const s = m && subjects.find((x) => x.label === m[1]);
    if (!m || !s) throw new Error(`--colo-env: expected label:KEY=VALUE for a --colo label, got ${item}`);
    s.env[m[2]!] = m[3]!;
  }
  return subjects;
}

/**
 * A model's attention settings pinned by `--attention on|off-f16|f32` (every server runs
 * the same kernels), or none for `auto` (Colo probes at load, src/engine/attention.ts).
 */
export function pinnedAttention(a: string): { flashAttention?: boolean; kvCacheType?: 'f16' | 'f32' } {
  if (a === 'auto') return {};
  const m = /^(on|off)-(f16|f32)$/.exec(a);
  if (!m) throw new Error(`--attention: auto or on|off-f16|f32, got ${a}`);
  return { flashAttention: m[1] === 'on', kvCacheType: m[2] as 'f16' | 'f32' };
}
