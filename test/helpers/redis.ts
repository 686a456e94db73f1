/**
 * Starts a private redis-server for a test file: a free port on 127.0.0.1, a temp
 * dir, no persistence. Never uses a system Redis. Fails loudly (throws) when
 * redis-server is missing: install it with `.ci/redis.sh install`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface TestRedis {
  url: string;
  port: number;
  /** A new client; closed by stop(). */
  client(): Redis;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function redisServerPath(): string {
  const bin = process.env.REDIS_SERVER ?? 'redis-server';
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(
      `redis-server not found (${bin}); install it with 'bash .ci/redis.sh install' (Debian package redis-server)`,
    );
  }
  return bin;
}

/** `port`: start on this port (to bring a stopped server back where its clients reconnect). */
export async function startRedis(opts: { port?: number } = {}): Promise<TestRedis> {
  const bin = redisServerPath();
  const dir = mkdtempSync(join(tmpdir(), 'colo-redis-'));
  // A port can be taken between probing and binding; retry a few times.
  for (let attempt = 0; ; attempt++) {
    const port = opts.port ?? (await freePort());
    const proc = spawn(
      bin,
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const ready = await waitReady(proc);
    if (!ready.ok) {
      proc.kill('SIGKILL');
      if (attempt < 3) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server failed to start: ${ready.log.slice(-2000)}`);
    }
    const clients: Redis[] = [];
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      client() {
        const c = new Redis(port, '127.0.0.1', { lazyConnect: false, maxRetriesPerRequest: 2 });
        clients.push(c);
        return c;
      },
      async stop() {
        await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
        await new Promise<void>((resolve) => {
          if (proc.exitCode !== null) return resolve();
          proc.once('exit', () => resolve());
          proc.kill('SIGTERM');
        });
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

function waitReady(proc: ChildProcess): Promise<{ ok: boolean; log: string }> {
  return new Promise((resolve) => {
    let log = '';
    const timer = setTimeout(() => done(false), 10_000);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      proc.stdout?.removeAllListeners('data');
      proc.stdout?.resume();
      proc.stderr?.resume();
      resolve({ ok, log });
    };
    proc.stdout?.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('Ready to accept connections')) done(true);
    });
    proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    proc.once('exit', () => done(false));
  });
}
