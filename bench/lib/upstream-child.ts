/**
 * The mock upstream (test/mocks/upstream) in its own process, so it does not share the
 * measuring process's event loop: a bench re-runs its own script with `--serve-upstream`
 * (`spawnMockUpstream`), and that child (`serveMockUpstreamChild`) prints its URL and
 * lives until its stdin closes (the parent's end of the pipe: it never outlives the
 * bench) or SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { startMockUpstream } from '../../test/mocks/upstream/server';

export interface MockUpstreamChild {
  child: ChildProcess;
  pid: number;
  url: string;
  port: number;
  /** SIGTERM, resolved when the child has exited. */
  stop: () => Promise<void>;
}

/** Parent side: re-runs this bench's script with `--serve-upstream`; `children` tracks it for cleanup. */
export async function spawnMockUpstream(children?: Set<ChildProcess>): Promise<MockUpstreamChild> {
  const child = spawn(process.execPath, [process.argv[1]!, '--serve-upstream'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children?.add(child);
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (l) => resolve(l.trim()));
    child.once('exit', (code) => reject(new Error(`mock upstream exited with ${code}`)));
  });
  return {
    child,
    pid: child.pid!,
    url,
    port: Number(new URL(url).port),
    stop: () =>
      new Promise((r) => {
        if (child.exitCode !== null || child.signalCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}

/** Child side (`--serve-upstream`): serves until stdin closes or SIGTERM. */
export async function serveMockUpstreamChild(): Promise<void> {
  const mock = await startMockUpstream({ record: false });
  process.stdout.write(`${mock.url}\n`);
  const exit = () => void mock.close().then(() => process.exit(0));
  process.once('SIGTERM', exit);
  process.stdin.resume();
  process.stdin.on('end', exit);
}
