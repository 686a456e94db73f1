#!/usr/bin/env node
/**
 * Builds the optional host-tuning addon (native/build/Release/colo_native.node).
 *
 * This runs as the root package's `install` script, so it must NEVER fail the
 * install: no compiler, no headers, an unsupported platform or a compile error all
 * end in one line saying tuning is off, and exit code 0. Colo then runs without the
 * addon and says so at start-up (src/tuning/load.ts).
 *
 * Set COLO_NATIVE=0 to skip the build. Set COLO_NATIVE_VERBOSE=1 to see node-gyp output.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const verbose = process.env.COLO_NATIVE_VERBOSE === '1';
const off = (why) => {
  console.log(`colo: host tuning addon not built (${why}); tuning is off, Colo runs without it.`);
  process.exit(0);
};

try {
  if (process.env.COLO_NATIVE === '0') off('COLO_NATIVE=0');
  if (process.platform === 'win32') off('not supported on Windows');

  // npm sets npm_config_node_gyp to its bundled node-gyp; outside npm, find npm's copy
  // next to the node binary.
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
    join(dirname(process.execPath), 'node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ].filter(Boolean);
  const nodeGyp = candidates.find((p) => existsSync(p));
  if (!nodeGyp) off('node-gyp not found');

  // Without a nodedir, node-gyp downloads headers, which fails offline. Use the headers
  // that ship with this node when they are there (npm_config_nodedir wins if set).
  const args = [nodeGyp, 'rebuild'];
  const prefix = resolve(dirname(process.execPath), '..');
  if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node_api.h'))) {
    args.push(`--nodedir=${prefix}`);
  }

  const r = spawnSync(process.execPath, args, {
    cwd: here,
    stdio: verbose ? 'inherit' : 'pipe',
    encoding: 'utf8',
    timeout: 180_000,
  });
  const out = join(here, 'build/Release/colo_native.node');
  if (r.status !== 0 || !existsSync(out)) {
    // The most telling line is the first compiler/make error, not gyp's closing "not ok".
    const lines = `${r.stderr ?? ''}\n${r.stdout ?? ''}`
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const why =
      lines.find((l) => /error|not found|no such file/i.test(l) && !l.startsWith('gyp ERR!')) ??
      lines.find((l) => l.startsWith('gyp ERR! stack Error')) ??
      r.error?.message ??
      `node-gyp exited with ${r.status}`;
    off(`build failed: ${why.slice(0, 200)}`);
  }
  console.log(`colo: host tuning addon built at ${out}`);
} catch (err) {
  off(`unexpected: ${err instanceof Error ? err.message : String(err)}`);
}
