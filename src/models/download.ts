/**
 * Downloads a model file with integrity checking:
 *   1. stream the body to `<dest>.part`, hashing as bytes arrive;
 *   2. if a `.part` is already there, hash it and ask for the rest (HTTP Range);
 *   3. when the connection drops or the body ends short, wait a little and go back to
 *      2 — a Range request for the rest — up to `retries` times; then fail with a
 *      clear error naming the bytes received and keep the `.part` for the next run;
 *   4. on completion compare the sha256; rename onto `dest` only if it matches,
 *      otherwise delete the part and throw CHECKSUM_MISMATCH.
 * `dest` therefore never holds a partial or unverified file. Every failure is a
 * ColoError; whatever the HTTP client throws mid-body becomes UPSTREAM_UNAVAILABLE.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fetch } from 'undici';
import { ColoError, toColoError } from '../core/errors';

export interface DownloadProgress {
  /** Bytes of the file on disk so far, resumed bytes included. */
  received: number;
  /** Full size when the server says, else undefined. */
  total: number | undefined;
  /** Bytes that were already in the `.part` file when this download started. */
  resumedFrom: number;
  /** performance.now() when the request went out. */
  startedAt: number;
}

export interface DownloadOptions {
  /** Expected lower-case hex sha256. Default: none (the file is accepted unchecked). */
  sha256?: string | undefined;
  /** Called for every chunk; keep it cheap (renderProgress throttles itself). */
  onProgress?: ((p: DownloadProgress) => void) | undefined;
  signal?: AbortSignal | undefined;
  /** Continue from an existing `.part` file with a Range request. Default true. */
  resume?: boolean | undefined;
  /** Extra request headers (e.g. an Authorization token). Never logged. Default {}. */
  headers?: Record<string, string> | undefined;
  /** Resumes (Range requests) after a dropped connection or a short body. Default 3. */
  retries?: number | undefined;
  /** Wait before the first resume; doubles each time. Default 250 ms. */
  retryDelayMs?: number | undefined;
}

/** Failures after which asking again for the rest can succeed. */
const RESUMABLE = new Set(['UPSTREAM_UNAVAILABLE', 'STREAM_TRUNCATED']);

export interface DownloadResult {
  path: string;
  sha256: string;
  bytes: number;
  /** Bytes reused from an earlier interrupted download. */
  resumedFrom: number;
}

export async function downloadModel(
  url: string,
  dest: string,
  opts: DownloadOptions = {},
): Promise<DownloadResult> {
  const retries = opts.retries ?? 3;
  const firstOffset = opts.resume === false ? 0 : await partSize(`${dest}.part`);
  let had = firstOffset;
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await downloadOnce(url, dest, attempt === 0 ? opts : { ...opts, resume: true });
      return { ...r, resumedFrom: attempt === 0 ? r.resumedFrom : firstOffset };
    } catch (err) {
      const e = err instanceof ColoError ? err : toColoError(err);
      if (!RESUMABLE.has(e.code) || opts.signal?.aborted) throw e;
      // Resume only while attempts make progress: an unreachable host, or a server that
      // drops every connection before a byte, fails at once instead of being retried.
      const kept = await partSize(`${dest}.part`);
      const progressed = kept > had;
      had = kept;
      if (attempt >= retries || !progressed) {
        if (attempt === 0 && kept === 0) throw e;
        throw new ColoError(
          e.code,
          `${e.message}; gave up after ${attempt + 1} attempt(s)` +
            (kept > 0 ? `, ${kept} bytes kept in ${dest}.part: run the pull again to resume` : ''),
          { cause: e },
        );
      }
      await delay((opts.retryDelayMs ?? 250) * 2 ** attempt, opts.signal).catch((abortErr: unknown) => {
        throw new ColoError('CANCELLED', `download of ${url} cancelled`, { cause: abortErr });
      });
    }
  }
}

async function partSize(part: string): Promise<number> {
  try {
    return (await stat(part)).size;
  } catch {
    return 0;
  }
}

async function downloadOnce(url: string, dest: string, opts: DownloadOptions): Promise<DownloadResult> {
  const part = `${dest}.part`;
  await mkdir(dirname(dest), { recursive: true });
  let h = createHash('sha256');
  let offset = opts.resume === false ? 0 : await hashExisting(part, h, opts.signal);

  const startedAt = performance.now();
  let res = await request(url, offset, opts);
  if (offset > 0 && !isResumeOf(res, offset)) {
    // The server ignored the range (200: this is the whole file) or refused it: start over.
    h = createHash('sha256');
    offset = 0;
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      res = await request(url, 0, opts);
    }
  }
  if (!res.ok) throw statusError(res.status, url);

  const length = Number(res.headers.get('content-length') ?? NaN);
  const total = Number.isFinite(length) ? offset + length : undefined;
  const fh = await open(part, offset > 0 ? 'a' : 'w');
  let received = offset;
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        await writeAll(fh, chunk);
        h.update(chunk);
        received += chunk.byteLength;
        opts.onProgress?.({ received, total, resumedFrom: offset, startedAt });
      }
    }
    await fh.sync();
  } catch (err) {
    // The .part stays for the next attempt to resume.
    if (opts.signal?.aborted)
      throw new ColoError('CANCELLED', `download of ${url} cancelled`, { cause: err });
    // undici reports a dropped socket as TypeError('terminated') caused by the socket error.
    const inner = ((err as { cause?: unknown } | null)?.cause ?? err) as {
      code?: unknown;
      message?: unknown;
    } | null;
    const why = inner?.code ?? inner?.message;
    throw new ColoError(
      'UPSTREAM_UNAVAILABLE',
      `download of ${url} interrupted after ${received}${total !== undefined ? ` of ${total}` : ''} bytes (${String(why ?? 'connection closed')})`,
      { cause: err },
    );
  } finally {
    await fh.close();
  }
  if (total !== undefined && received !== total) {
    throw new ColoError('STREAM_TRUNCATED', `download of ${url} ended at ${received} of ${total} bytes`);
  }
  const sha256 = h.digest('hex');
  if (opts.sha256 !== undefined && sha256 !== opts.sha256.toLowerCase()) {
    await rm(part, { force: true });
    throw new ColoError(
      'CHECKSUM_MISMATCH',
      `${url}: sha256 ${sha256} does not match the pinned ${opts.sha256}; file discarded`,
    );
  }
  await rename(part, dest);
  return { path: dest, sha256, bytes: received, resumedFrom: offset };
}

async function request(url: string, offset: number, opts: DownloadOptions) {
  const headers: Record<string, string> = { ...opts.headers };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  try {
    return await fetch(url, { headers, signal: opts.signal, redirect: 'follow' });
  } catch (err) {
    if (opts.signal?.aborted)
      throw new ColoError('CANCELLED', `download of ${url} cancelled`, { cause: err });
    throw new ColoError('UPSTREAM_UNAVAILABLE', `cannot reach ${new URL(url).host} for ${url}`, {
      cause: err,
    });
  }
}

function isResumeOf(
  res: { status: number; headers: { get(name: string): string | null } },
  offset: number,
): boolean {
  if (res.status !== 206) return false;
  const m = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
  return m !== null && Number(m[1]) === offset;
}

function statusError(status: number, url: string): ColoError {
  if (status === 404) return new ColoError('MODEL_NOT_FOUND', `${url}: not found (HTTP 404)`);
  if (status >= 500) return new ColoError('UPSTREAM_UNAVAILABLE', `${url}: HTTP ${status}`);
  return new ColoError('UPSTREAM_ERROR', `${url}: HTTP ${status}`);
}

/** Feeds an existing partial file into the hash; returns its size (0 if none). */
async function hashExisting(part: string, hash: Hash, signal: AbortSignal | undefined): Promise<number> {
  let size: number;
  try {
    size = (await stat(part)).size;
  } catch {
    return 0;
  }
  if (size === 0) return 0;
  for await (const chunk of createReadStream(part, { highWaterMark: 1 << 20, signal }))
    hash.update(chunk as Buffer);
  return size;
}

async function writeAll(fh: FileHandle, buf: Uint8Array): Promise<void> {
  let done = 0;
  while (done < buf.byteLength) done += (await fh.write(buf, done, buf.byteLength - done)).bytesWritten;
}
