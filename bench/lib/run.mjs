#!/usr/bin/env node
/**
 * Runs a TypeScript bench as plain JavaScript: bundles it with esbuild, then runs it
 * with `node`, so the measured process has no TypeScript loader thread (tsx on Node 20
 * adds a module-loader worker thread, which GCs and wakes up during measurements, and
 * cannot survive mlockall).
 *
 *   node bench/lib/run.mjs bench/micro/hdr.bench.ts [args...]
 *
 * Output lands in node_modules/.cache/colo-bench/ mirroring the repo layout, so a bench
 * can find sibling entry points (uws-echo-server) next to itself. The echo server entry
 * is always built alongside.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node bench/lib/run.mjs <bench.ts> [args...]');
  process.exit(2);
}
const entryAbs = resolve(entry);
if (!existsSync(entryAbs)) {
  console.error(`no such bench: ${entry}`);
  process.exit(2);
}
const outdir = join(root, 'node_modules/.cache/colo-bench');
const server = join(root, 'bench/e2e/uws-echo-server.ts');
await build({
  entryPoints: [...new Set([entryAbs, server])],
  outdir,
  outbase: root,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'inline',
  logLevel: 'warning',
});
const out = join(outdir, relative(root, entryAbs)).replace(/\.ts$/, '.mjs');
const r = spawnSync(process.execPath, ['--enable-source-maps', out, ...args], { stdio: 'inherit' });
process.exit(r.status ?? (r.signal ? 1 : 0));
