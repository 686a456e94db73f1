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
