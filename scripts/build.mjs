// Bundles Colo's own code with esbuild; every npm package stays external
// (native addons, Piscina's worker loader). Entry points: the CLI and the
// engine worker, which Piscina loads by file path.
import { build } from 'esbuild';

const entryPoints = {
  cli: 'src/cli.ts',
  'engine-worker': 'src/engine/worker.ts',
  'classifier-worker': 'src/classifier/worker.ts',
};

await build({
  entryPoints,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
