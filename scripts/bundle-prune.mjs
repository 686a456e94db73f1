#!/usr/bin/env node
/**
 * Stages Colo's runtime packages for an offline Linux x64 bundle (called by
 * scripts/bundle.sh; usable alone).
 *
 *   node scripts/bundle-prune.mjs --app STAGE/app [--cuda] [--vulkan] [--llama-source]
 *
 * Why copy from this checkout's node_modules instead of `npm install --omit=dev`:
 * the tree here is the one the tests ran against (same versions, same prebuilt
 * binaries), copying works with no registry or cache, and it skips every install
 * script (onnxruntime-node's tries to download CUDA, node-llama-cpp's may try to
 * build). The production closure comes from `npm ls --omit=dev --all --parseable`,
 * i.e. from the lockfile's view of the installed tree, so nothing is guessed.
 *
 * What is left out, and why:
 * - any Mach-O, PE, or non-x86-64 ELF file, found by its magic bytes (not its name),
 *   so a package's foreign prebuilds go whatever their folder layout;
 * - @node-llama-cpp/* other than linux-x64 (CPU), and linux-x64-cuda / -vulkan only
 *   when asked; linux-x64-cuda-ext always (a CUDA 12 fallback, 358 MB; the box has 13);
 * - uWebSockets.js binaries for other Node ABIs than the bundled node's;
 * - node-llama-cpp's llama.cpp source (llama/gitRelease.bundle, 34 MB) unless
 *   --llama-source: it is only needed to rebuild llama.cpp on the box;
 * - typeScript (an optional peer of node-llama-cpp), *.d.ts and source maps.
 *
 * Then it writes app/package.json (runtime dependencies only, "type": "module" so
 * dist/*.js load as ESM), checks that every package dist/*.js imports statically is
 * staged, and fails if any binary in the stage is not Linux x86-64.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: {
    app: { type: 'string' },
    cuda: { type: 'boolean', default: false },
    vulkan: { type: 'boolean', default: false },
    'llama-source': { type: 'boolean', default: false },
  },
});
if (!opts.app) fail('--app DIR is required');
const app = resolve(opts.app);
const abi = process.versions.modules;

function fail(msg) {
  process.stderr.write(`bundle-prune: ${msg}\n`);
  process.exit(1);
}

// ---- what to carry ----------------------------------------------------------------

const LLAMA_BINARIES = new Set([
  'linux-x64',
  ...(opts.cuda ? ['linux-x64-cuda'] : []),
  ...(opts.vulkan ? ['linux-x64-vulkan'] : []),
]);
const DROP_PACKAGES = new Set(['typescript']);

/** Why a package is left out, or null to carry it. */
function packageVerdict(name) {
  if (DROP_PACKAGES.has(name)) return 'not needed at run time';
  if (name.startsWith('@node-llama-cpp/')) {
    const variant = name.slice('@node-llama-cpp/'.length);
    if (!LLAMA_BINARIES.has(variant))
      return variant.includes('cuda') || variant.includes('vulkan')
        ? 'GPU backend not asked for'
        : 'other platform';
  }
  return null;
}

/** Why a file inside a carried package is left out, or null to carry it. */
function fileVerdict(pkgName, rel, abs) {
  if (/\.d\.[cm]?ts$/.test(rel) || rel.endsWith('.map')) return 'types/maps';
  if (pkgName === 'uWebSockets.js') {
    // The loader picks binaries/uws_<platform>_<arch>_<abi>.node; dist/*.node are copies.
    if (rel.endsWith('.node') && rel !== join('binaries', `uws_linux_x64_${abi}.node`))
      return 'other Node ABI/platform';
    if (rel.startsWith('docs' + sep)) return 'docs';
  }
  if (pkgName === 'node-llama-cpp') {
    if (rel === join('llama', 'gitRelease.bundle') && !opts['llama-source'])
      return 'llama.cpp source (use --llama-source)';
    // Builds made on this machine are for this machine's CPU and toolchain.
    if (
      rel.startsWith(join('llama', 'localBuilds') + sep) ||
      rel.startsWith(join('llama', 'llama.cpp') + sep)
    )
      return 'local build/source tree';
  }
  const foreign = foreignBinary(abs);
  if (foreign) return foreign;
  return null;
}

const MACHO = new Set(['feedface', 'feedfacf', 'cefaedfe', 'cffaedfe', 'cafebabe', 'bebafeca']);
const ELF_X86_64 = 0x3e;

/** Reads a file's magic bytes: 'other platform: …' for a binary this box cannot load. */
function foreignBinary(abs) {
  const head = Buffer.alloc(20);
  let n = 0;
  const fd = openSync(abs, 'r');
  try {
    n = readSync(fd, head, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  if (n < 4) return null;
  const magic = head.subarray(0, 4).toString('hex');
  if (MACHO.has(magic)) return 'other platform: Mach-O';
  if (head[0] === 0x4d && head[1] === 0x5a && /\.(dll|exe|node|sys)$/i.test(abs)) return 'other platform: PE';
  if (magic === '7f454c46' && n >= 20) {
    const is64 = head[4] === 2;
    const machine = head[5] === 1 ? head.readUInt16LE(18) : head.readUInt16BE(18);
    if (!is64 || machine !== ELF_X86_64) return `other platform: ELF machine 0x${machine.toString(16)}`;
  }
  return null;
}

// ---- the production closure ---------------------------------------------------------

function productionPackages() {
  const r = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: repo,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const paths = (r.stdout ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && l !== repo);
  // npm ls exits 1 on an extraneous or invalid tree but still lists it; no list at all is fatal.
  if (paths.length === 0)
    fail(`npm ls --omit=dev gave no packages (exit ${r.status}): ${(r.stderr ?? '').trim()}`);
  const modules = join(repo, 'node_modules') + sep;
  return paths
    .filter((p) => p.startsWith(modules) && existsSync(p))
    .map((p) => {
      const rel = relative(join(repo, 'node_modules'), p);
      const parts = rel.split(sep + 'node_modules' + sep);
      return { rel, name: parts[parts.length - 1].split(sep).join('/') };
    })
    .sort((a, b) => a.rel.localeCompare(b.rel));
}

// ---- staging ------------------------------------------------------------------------

const dropped = new Map(); // reason -> bytes
const note = (reason, bytes) => dropped.set(reason, (dropped.get(reason) ?? 0) + bytes);

function duBytes(p) {
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  let sum = 0;
  for (const e of readdirSync(p)) sum += duBytes(join(p, e));
  return sum;
}

function stagePackage(pkg, outModules) {
  const src = join(repo, 'node_modules', pkg.rel);
  const why = packageVerdict(pkg.name);
  if (why) {
    note(`${why}`, duBytes(src));
    return false;
  }
  cpSync(src, join(outModules, pkg.rel), {
    recursive: true,
    dereference: true,
    filter: (from) => {
      const rel = relative(src, from);
      if (rel === '') return true;
      // Nested node_modules are copied as their own closure entries (or not at all).
      if (rel === 'node_modules' || rel.startsWith('node_modules' + sep)) return false;
      const st = statSync(from);
      if (st.isDirectory()) return true;
      const why = fileVerdict(pkg.name, rel, from);
      if (why) note(why, st.size);
      return !why;
    },
  });
  return true;
}

function writePackageJson() {
  const root = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
  const pkg = {
    name: root.name,
    version: root.version,
    description: `${root.description} (offline linux-x64 bundle)`,
    license: root.license,
    type: 'module',
    private: true,
    engines: root.engines,
    dependencies: root.dependencies,
  };
  writeFileSync(join(app, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
}

/** Every bare specifier dist/*.js imports statically must be staged. */
function checkImports(outModules) {
  const builtins = new Set(builtinModules);
  const missing = [];
  const optional = new Set();
  for (const file of readdirSync(join(app, 'dist')).filter((f) => f.endsWith('.js'))) {
    const text = readFileSync(join(app, 'dist', file), 'utf8');
    for (const m of text.matchAll(
      /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*["']([^"'./][^"']*)["']|(?:^|[\s;])import\s*["']([^"'./][^"']*)["']|\bimport\(\s*["']([^"'./][^"']*)["']\s*\)/gm,
    )) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (spec.startsWith('node:') || builtins.has(spec)) continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      if (existsSync(join(outModules, name, 'package.json'))) continue;
      if (m[3]) optional.add(`${name} (dynamic import in ${file})`);
      else missing.push(`${name} (imported by ${file})`);
    }
  }
  for (const o of optional)
    process.stdout.write(`bundle-prune: not carried, only imported dynamically: ${o}\n`);
  if (missing.length) fail(`dist imports packages that are not staged: ${[...new Set(missing)].join(', ')}`);
}

/** Fails if anything in the stage is a binary this box cannot load. */
function auditBinaries(dir) {
  const bad = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const why = foreignBinary(p);
        if (why) bad.push(`${relative(dir, p)}: ${why}`);
      }
    }
  };
  walk(dir);
  if (bad.length) fail(`foreign binaries in the stage:\n  ${bad.join('\n  ')}`);
}

function removeEmptyDirs(d) {
  for (const e of readdirSync(d, { withFileTypes: true }))
    if (e.isDirectory()) removeEmptyDirs(join(d, e.name));
  if (readdirSync(d).length === 0) rmSync(d, { recursive: true });
}

if (process.platform !== 'linux' || process.arch !== 'x64')
  fail(`bundles are made on linux-x64 (this is ${process.platform}-${process.arch})`);
if (!existsSync(join(app, 'dist', 'cli.js'))) fail(`${app}/dist/cli.js missing: copy the build first`);
const outModules = join(app, 'node_modules');
rmSync(outModules, { recursive: true, force: true });
mkdirSync(outModules, { recursive: true });

const pkgs = productionPackages();
let carried = 0;
for (const pkg of pkgs) if (stagePackage(pkg, outModules)) carried++;
removeEmptyDirs(outModules);
writePackageJson();
checkImports(outModules);
auditBinaries(resolve(app, '..'));

const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
process.stdout.write(
  `bundle-prune: ${carried} of ${pkgs.length} production packages staged (${mb(duBytes(outModules))}); uWS ABI ${abi}\n`,
);
for (const [why, bytes] of [...dropped].sort((a, b) => b[1] - a[1]))
  process.stdout.write(`bundle-prune:   left out ${mb(bytes).padStart(9)}  ${why}\n`);
