/**
 * The downloader and the resolver's download step against a real HTTP server on port 0
 * serving the real stories260K bytes (and a corrupted copy).
 */
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  downloadModel,
  modelSourcesConfigSchema,
  pullModel,
  resolveModel,
  sourceOptions,
  type DownloadProgress,
} from '../../src/models';
import { TINY_MODEL_SHA256, tempDir, tinyModelPath } from '../helpers/models';

let good: Buffer;
let corrupt: Buffer;
let server: Server;
let base: string;
const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
/** Paths whose response is cut off halfway (the connection is destroyed). */
let cutOff = new Set<string>();
/** Paths whose next response only is cut off halfway. */
let cutOnce = new Set<string>();

beforeAll(async () => {
  good = await readFile(tinyModelPath());
  corrupt = Buffer.from(good);
  corrupt[corrupt.length - 100] = corrupt[corrupt.length - 100]! ^ 0xff;
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    const body = req.url?.endsWith('/stories260K.gguf')
      ? good
      : req.url === '/corrupt.gguf'
        ? corrupt
        : undefined;
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const slice = body.subarray(start);
    res.writeHead(m ? 206 : 200, {
      'content-length': slice.length,
      ...(m ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    if (cutOff.has(req.url ?? '') || cutOnce.delete(req.url ?? '')) {
      res.write(slice.subarray(0, slice.length >> 1), () => res.destroy());
      return;
    }
    res.end(slice);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

let dir: string;
let remove: () => Promise<void>;
beforeEach(async () => {
  ({ dir, remove } = await tempDir());
  seen.length = 0;
  cutOff = new Set();
  cutOnce = new Set();
});
afterEach(() => remove());

describe('downloadModel', () => {
  it('downloads, verifies the sha256 and reports progress up to the full size', async () => {
    const dest = join(dir, 'm', 'stories260K.gguf');
    const events: DownloadProgress[] = [];
    const r = await downloadModel(`${base}/x/stories260K.gguf`, dest, {
      sha256: TINY_MODEL_SHA256,
      onProgress: (p) => events.push(p),
    });
    expect(r).toMatchObject({ path: dest, sha256: TINY_MODEL_SHA256, bytes: good.length, resumedFrom: 0 });
    expect((await readFile(dest)).equals(good)).toBe(true);
    expect(events.at(-1)).toMatchObject({ received: good.length, total: good.length });
    expect(await readdir(join(dir, 'm'))).toEqual(['stories260K.gguf']);
  });

  it('regression: a corrupt body is deleted and raises CHECKSUM_MISMATCH, never renamed into place', async () => {
    const dest = join(dir, 'corrupt.gguf');
    await expect(
      downloadModel(`${base}/corrupt.gguf`, dest, { sha256: TINY_MODEL_SHA256 }),
    ).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it('resumes from an existing .part with a Range request', async () => {
    const dest = join(dir, 'stories260K.gguf');
    const half = 500_000;
    await writeFile(`${dest}.part`, good.subarray(0, half));
    const r = await downloadModel(`${base}/stories260K.gguf`, dest, { sha256: TINY_MODEL_SHA256 });
    expect(r.resumedFrom).toBe(half);
    expect(seen.at(-1)?.headers.range).toBe(`bytes=${half}-`);
    expect((await readFile(dest)).equals(good)).toBe(true);
  });

  it('keeps the .part of an interrupted transfer so the next attempt resumes it', async () => {
    const dest = join(dir, 'stories260K.gguf');
    cutOff.add('/stories260K.gguf');
    const err = await downloadModel(`${base}/stories260K.gguf`, dest, {
      sha256: TINY_MODEL_SHA256,
      retries: 0,
    }).catch((e: unknown) => e);
    expect(['UPSTREAM_UNAVAILABLE', 'STREAM_TRUNCATED']).toContain((err as { code: string }).code);
    const partSize = (await stat(`${dest}.part`)).size;
    expect(partSize).toBeGreaterThan(0);
    expect(partSize).toBeLessThan(good.length);
    cutOff.clear();
    const r = await downloadModel(`${base}/stories260K.gguf`, dest, { sha256: TINY_MODEL_SHA256 });
    expect(r.resumedFrom).toBe(partSize);
    expect((await readFile(dest)).equals(good)).toBe(true);
  });

  it('regression: the server closing the connection mid-download is resumed with a Range request in the same pull', async () => {
    const dest = join(dir, 'stories260K.gguf');
    cutOnce.add('/stories260K.gguf');
    const r = await downloadModel(`${base}/stories260K.gguf`, dest, {
      sha256: TINY_MODEL_SHA256,
      retryDelayMs: 1,
    });
    expect(seen).toHaveLength(2);
    expect(seen[0]!.headers.range).toBeUndefined();
    expect(seen[1]!.headers.range).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(seen[1]!.headers.range!)![0])).toBeGreaterThan(0);
    expect(r.sha256).toBe(TINY_MODEL_SHA256);
    expect((await readFile(dest)).equals(good)).toBe(true);
  });

  it('gives up with a clear error after its resumes, keeping the .part for the next run', async () => {
    const dest = join(dir, 'stories260K.gguf');
    cutOff.add('/stories260K.gguf');
    const err = (await downloadModel(`${base}/stories260K.gguf`, dest, {
      sha256: TINY_MODEL_SHA256,
      retries: 2,
      retryDelayMs: 1,
    }).catch((e: unknown) => e)) as { code: string; message: string };
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(err.message).toMatch(/interrupted after \d+ of \d+ bytes/);
    expect(err.message).toMatch(
      /gave up after 3 attempt\(s\), \d+ bytes kept in .*stories260K\.gguf\.part: run the pull again to resume/,
    );
    expect(seen).toHaveLength(3);
    expect(seen.slice(1).every((s) => /^bytes=\d+-$/.test(s.headers.range ?? ''))).toBe(true);
  });

  it('maps 404 to MODEL_NOT_FOUND and an unreachable host to UPSTREAM_UNAVAILABLE', async () => {
    await expect(downloadModel(`${base}/missing.gguf`, join(dir, 'x.gguf'))).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
    });
    await expect(downloadModel('http://127.0.0.1:1/x.gguf', join(dir, 'y.gguf'))).rejects.toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
    });
  });

  it('stops with CANCELLED when aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(
      downloadModel(`${base}/stories260K.gguf`, join(dir, 'z.gguf'), { signal: ac.signal }),
    ).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});

describe('resolveModel / pullModel downloads', () => {
  it('downloads a named hf: model into the cache once, then serves it from the cache', async () => {
    const cacheDir = join(dir, 'cache');
    const out: string[] = [];
    const sink = { write: (s: string) => out.push(s), isTTY: false };
    const first = await pullModel('stories260K', { cacheDir, hfBaseUrl: base, progressOut: sink });
    expect(first).toMatchObject({
      origin: 'download',
      sha256: TINY_MODEL_SHA256,
      path: join(cacheDir, 'stories260K.gguf'),
    });
    expect(seen.map((s) => s.url)).toEqual(['/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf']);
    expect(out.at(-1)).toMatch(/100% \[#+\]/);
    const again = await resolveModel('stories260K', { cacheDir, hfBaseUrl: base });
    expect(again.origin).toBe('cache');
    expect(seen).toHaveLength(1);
  });

  it('takes offline, the hf: base URL and sha256 pins from the models config section', async () => {
    const cacheDir = join(dir, 'cache');
    const cfg = (over: object) => sourceOptions(modelSourcesConfigSchema.parse({ hfBaseUrl: base, ...over }));
    await expect(
      resolveModel('stories260K', { cacheDir, ...(await cfg({ offline: true })) }),
    ).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
    });
    expect(seen).toHaveLength(0);
    const wrong = 'f'.repeat(64);
    await expect(
      resolveModel('stories260K', { cacheDir, ...(await cfg({ sha256Pins: { stories260K: wrong } })) }),
    ).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    const ok = await resolveModel('stories260K', {
      cacheDir,
      ...(await cfg({ sha256Pins: { stories260K: TINY_MODEL_SHA256 } })),
    });
    expect(ok).toMatchObject({ origin: 'download', sha256: TINY_MODEL_SHA256 });
    expect(seen.at(-1)!.url).toBe('/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf');
    expect(() => modelSourcesConfigSchema.parse({ sha256Pins: { x: 'nothex' } })).toThrow(
      /64 lower-case hex/,
    );
  });

  it('falls back to the synthetic model when the hub is unreachable', async () => {
    const r = await resolveModel('stories260K', {
      cacheDir: join(dir, 'cache'),
      hfBaseUrl: 'http://127.0.0.1:1',
      fallbackToSynthetic: true,
    });
    expect(r.synthetic).toBe(true);
    expect(r.warning).toMatch(/UPSTREAM_UNAVAILABLE/);
  });
});
