/**
 * Pool mode: model runs happen on Piscina worker threads so a blocking onnxruntime run
 * never stalls the event loop that serves sockets. Costs a thread hop (~tens of µs) per
 * batch; see README.md for measured figures and when to pick it.
 *
 * Worker file: next to the bundle (`dist/classifier-worker.js`, add
 * `'classifier-worker': 'src/classifier/worker.ts'` to scripts/build.mjs), or, when running
 * from TypeScript sources (tests, tsx), bundled on first use with esbuild into node_modules/.cache.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { ColoError, toColoError } from '../core/errors';
import type { ClassifyTask } from './messages';
import type { RunnerOptions } from './runner';

let bundled: Promise<string> | null = null;

async function workerFile(): Promise<string> {
  const here = fileURLToPath(import.meta.url);
  const sibling = join(dirname(here), 'classifier-worker.js');
  if (existsSync(sibling)) return sibling;
  bundled ??= (async () => {
    // Running from sources (tests, tsx), or from a bundle that lacks the worker (benches).
    const source = [join(dirname(here), 'worker.ts'), join(process.cwd(), 'src/classifier/worker.ts')].find(
      (p) => existsSync(p),
    );
    if (!source) {
      throw new ColoError(
        'INTERNAL',
        `classifier worker not found: expected ${sibling} (add it to the build)`,
      );
    }
    // Inside the project, so the bundle's bare imports (onnxruntime-node...) resolve.
    const cache = join(dirname(source), '..', '..', 'node_modules', '.cache');
    mkdirSync(cache, { recursive: true });
    const outfile = join(mkdtempSync(join(cache, 'colo-classifier-')), 'classifier-worker.mjs');
    // esbuild is a dev dependency: present wherever the TypeScript sources are run.
    const { build } = await import('esbuild');
    await build({
      entryPoints: [source],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      logLevel: 'error',
    });
    return outfile;
  })();
  return bundled;
}

export class ClassifierPool {
  private constructor(
    private readonly pool: Piscina,
    private readonly dir: string,
    private readonly options: RunnerOptions,
  ) {}

  static async create(dir: string, options: RunnerOptions, threads: number): Promise<ClassifierPool> {
    const pool = new Piscina({
      filename: await workerFile(),
      minThreads: threads,
      maxThreads: threads,
      // One run at a time per worker: onnxruntime's run blocks the worker anyway.
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
    });
    return new ClassifierPool(pool, dir, options);
  }

  async run(texts: string[]): Promise<Float32Array> {
    const task: ClassifyTask = { dir: this.dir, options: this.options, texts };
    try {
      return (await this.pool.run(task)) as Float32Array;
    } catch (err) {
      throw toColoError(err);
    }
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
