import { copyFile, mkdir, readdir, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listModels, parseManifest, resolveModel, type Manifest } from '../../src/models';
import { cachedSha256 } from '../../src/models/verify';
import { TINY_MODEL_SHA256, tempDir, tinyModelPath } from '../helpers/models';

let dir: string;
let remove: () => Promise<void>;
let cacheDir: string;
let dirA: string;
let dirB: string;

beforeEach(async () => {
  ({ dir, remove } = await tempDir());
  cacheDir = join(dir, 'cache');
  dirA = join(dir, 'a');
  dirB = join(dir, 'b');
  await mkdir(dirA);
  await mkdir(dirB);
});
afterEach(() => remove());

// Downloads are turned off in these tests (offline: true); the downloader has its own
// integration test against a local server.
const offline = () => ({ cacheDir, offline: true as const });

describe('resolveModel', () => {
  it('finds a named model in the first model directory that holds a verified copy', async () => {
    await symlink(tinyModelPath(), join(dirB, 'stories260K.gguf'));
    const r = await resolveModel('stories260K', { ...offline(), modelDirs: [dirA, dirB] });
    expect(r).toMatchObject({
      name: 'stories260K',
      path: join(dirB, 'stories260K.gguf'),
      sha256: TINY_MODEL_SHA256,
      synthetic: false,
      origin: 'model-dir',
    });
  });

  it('skips a copy whose sha256 does not match the pin and uses the next one', async () => {
    await writeFile(join(dirA, 'stories260K.gguf'), 'corrupt');
    await symlink(tinyModelPath(), join(dirB, 'stories260K.gguf'));
    const r = await resolveModel('stories260K', { ...offline(), modelDirs: [dirA, dirB] });
    expect(r.path).toBe(join(dirB, 'stories260K.gguf'));
  });

  it('reports CHECKSUM_MISMATCH when the only copy is corrupt and it cannot be downloaded', async () => {
    await writeFile(join(dirA, 'stories260K.gguf'), 'corrupt');
    await expect(resolveModel('stories260K', { ...offline(), modelDirs: [dirA] })).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
    });
  });

  it('falls back to the cache directory after the model directories', async () => {
    await mkdir(cacheDir);
    await symlink(tinyModelPath(), join(cacheDir, 'stories260K.gguf'));
    const r = await resolveModel('stories260K', { ...offline(), modelDirs: [dirA] });
    expect(r.origin).toBe('cache');
  });

  it('is MODEL_NOT_FOUND offline when no copy exists', async () => {
    await expect(resolveModel('stories260K', { ...offline(), modelDirs: [dirA] })).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
    });
  });

  it('with fallbackToSynthetic returns the tiny synthetic model and a plain warning', async () => {
    const r = await resolveModel('stories260K', {
      ...offline(),
      modelDirs: [dirA],
      fallbackToSynthetic: true,
    });
    expect(r.synthetic).toBe(true);
    expect(r.origin).toBe('fallback');
    expect(r.warning).toMatch(/stories260K.*not available.*synthetic/);
    expect((await stat(r.path)).size).toBeGreaterThan(0);
  });

  it('does not hide configuration errors behind the fallback', async () => {
    await expect(
      resolveModel('synthetic:9b-q4_0', { ...offline(), fallbackToSynthetic: true }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('uses an explicit path and verifies it against a manifest pin', async () => {
    const manifest: Manifest = parseManifest({
      version: 1,
      default: 'good',
      models: {
        good: { source: tinyModelPath(), sha256: TINY_MODEL_SHA256, quantization: 'F32', licence: 'MIT' },
        bad: { source: tinyModelPath(), sha256: '0'.repeat(64), quantization: 'F32', licence: 'MIT' },
      },
    });
    expect((await resolveModel('good', { ...offline(), manifest })).origin).toBe('path');
    await expect(resolveModel('bad', { ...offline(), manifest })).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
    });
    expect((await resolveModel(tinyModelPath(), offline())).path).toBe(tinyModelPath());
    await expect(resolveModel(join(dir, 'nope.gguf'), offline())).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
    });
  });

  it('finds an unknown bare name as <name>.gguf in the model directories', async () => {
    await symlink(tinyModelPath(), join(dirA, 'my-model.gguf'));
    expect((await resolveModel('my-model', { ...offline(), modelDirs: [dirA] })).path).toBe(
      join(dirA, 'my-model.gguf'),
    );
    await expect(resolveModel('other-model', { ...offline(), modelDirs: [dirA] })).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
    });
  });

  it('generates a synthetic model into the cache once, then reuses it, and checks its pin', async () => {
    const first = await resolveModel('synthetic-tiny', offline());
    expect(first).toMatchObject({ synthetic: true, origin: 'generated', source: 'synthetic:tiny-q8_0' });
    const { mtimeMs } = await stat(first.path);
    const again = await resolveModel('synthetic-tiny', offline());
    expect(again).toMatchObject({ path: first.path, origin: 'cache' });
    expect((await stat(again.path)).mtimeMs).toBe(mtimeMs);
    // The manifest pins this file's sha256: the generator must still produce the same bytes.
    expect(first.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await readdir(cacheDir)).filter((n) => n.endsWith('.part'))).toEqual([]);
  });

  it('concurrent resolutions of one synthetic model share one generation', async () => {
    const rs = await Promise.all([1, 2, 3].map(() => resolveModel('synthetic:tiny-q4_0?seed=9', offline())));
    expect(new Set(rs.map((r) => r.path)).size).toBe(1);
    expect(rs.every((r) => r.origin === 'generated')).toBe(true);
  });
});

describe('sha256 memo', () => {
  it('re-hashes a file whose size or mtime changed', async () => {
    const f = join(dirA, 'x.gguf');
    await copyFile(tinyModelPath(), f);
    expect(await cachedSha256(f, cacheDir)).toBe(TINY_MODEL_SHA256);
    await writeFile(f, 'changed');
    await utimes(f, new Date(), new Date(Date.now() + 5000));
    expect(await cachedSha256(f, cacheDir)).not.toBe(TINY_MODEL_SHA256);
    // The memo is persisted in the cache directory for the next start.
    expect(await readdir(cacheDir)).toContain('.sha256-cache.json');
  });
});

describe('listModels', () => {
  it('lists manifest models with their local copies and other .gguf files found', async () => {
    await symlink(tinyModelPath(), join(dirA, 'stories260K.gguf'));
    await symlink(tinyModelPath(), join(dirB, 'extra.gguf'));
    const list = await listModels({ modelDirs: [dirA, dirB], cacheDir });
    const stories = list.find((m) => m.name === 'stories260K')!;
    expect(stories.local).toMatchObject({
      path: join(dirA, 'stories260K.gguf'),
      sizeBytes: 1185376,
      where: 'model-dir',
    });
    expect(list.find((m) => m.name === 'llama-1b-q4_0')).toMatchObject({
      inManifest: true,
      synthetic: true,
      local: undefined,
    });
    expect(list.find((m) => m.name === 'extra')).toMatchObject({
      inManifest: false,
      local: { path: join(dirB, 'extra.gguf') },
    });
  });
});
