/**
 * The offline bundle (scripts/bundle.sh): staged without compression (xz takes ~90 s on
 * 2 cores; `npm run bundle` + `npm run bundle:check` cover the archive), then run the way
 * an operator would, with no node on PATH, by scripts/bundle-check.sh --dir.
 * Needs dist/ built (`npm run build`) and the tiny model.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, tempDir, tinyModelPath } from '../helpers/models';

let out: { dir: string; remove: () => Promise<void> };
let stage: string;
let staging: ReturnType<typeof spawnSync>;

beforeAll(async () => {
  out = await tempDir('colo-bundle-test-');
  staging = spawnSync('bash', ['scripts/bundle.sh', '--stage-only', '--no-build', '--out', out.dir], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 50_000,
  });
  stage = join(out.dir, readdirSync(out.dir).find((n) => n.startsWith('colo-')) ?? 'missing');
});

afterAll(async () => {
  await out?.remove();
});

describe('bundle.sh --stage-only', () => {
  it('stages a bundle', () => {
    expect(staging.status, `${staging.stdout}\n${staging.stderr}`).toBe(0);
    expect(staging.stdout).toMatch(/bundle-prune: \d+ of \d+ production packages staged/);
    expect(statSync(join(stage, 'bin/node')).mode & 0o111).not.toBe(0);
    expect(statSync(join(stage, 'colo')).mode & 0o111).not.toBe(0);
    expect(existsSync(join(stage, 'app/dist/cli.js'))).toBe(true);
    expect(existsSync(join(stage, 'app/dist/engine-worker.js'))).toBe(true);
  });

  it('writes a package.json with runtime dependencies only, as ESM', () => {
    const pkg = JSON.parse(readFileSync(join(stage, 'app/package.json'), 'utf8')) as Record<string, unknown>;
    const root = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg.type).toBe('module');
    expect(pkg.dependencies).toEqual(root.dependencies);
    expect(pkg).not.toHaveProperty('devDependencies');
    expect(pkg).not.toHaveProperty('scripts');
  });

  it('carries Linux x64 binaries only: no CUDA, no other platforms, one uWS ABI', () => {
    const modules = join(stage, 'app/node_modules');
    expect(readdirSync(join(modules, '@node-llama-cpp'))).toEqual(['linux-x64']);
    expect(readdirSync(join(modules, 'uWebSockets.js/binaries'))).toEqual([
      `uws_linux_x64_${process.versions.modules}.node`,
    ]);
    expect(readdirSync(join(modules, 'onnxruntime-node/bin/napi-v6'))).toEqual(['linux']);
    expect(readdirSync(join(modules, 'onnxruntime-node/bin/napi-v6/linux'))).toEqual(['x64']);
    expect(existsSync(join(modules, 'typescript'))).toBe(false);
    expect(existsSync(join(modules, 'node-llama-cpp/llama/gitRelease.bundle'))).toBe(false);
  });
});

describe('the staged bundle, run with no node on PATH', () => {
  it('serves /healthz, /v1/models and completions, and exits 0 on SIGTERM', () => {
    const r = spawnSync('bash', ['scripts/bundle-check.sh', '--dir', stage, '--model', tinyModelPath()], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 55_000,
    });
    const output = `${r.stdout}\n${r.stderr}`;
    expect(r.status, output).toBe(0);
    expect(output).toContain("ok: no node on the server's PATH");
    expect(output).toContain('ok: the server process is the bundled bin/node');
    expect(output).toMatch(/ok: POST \/v1\/completions: [1-9]\d* tokens/);
    expect(output).toContain('ok: SIGTERM -> exit 0');
    expect(output).toContain('bundle-check: PASS');
  });
});
