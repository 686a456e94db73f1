/**
 * sha256 of model files, remembered by (size, mtime) so start-up does not re-hash
 * gigabytes each time. The memo lives in memory and in `<cacheDir>/.sha256-cache.json`;
 * a file that changes size or mtime is hashed again.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

interface Memo {
  size: number;
  mtimeMs: number;
  sha256: string;
}

const MEMO_FILE = '.sha256-cache.json';
const memory = new Map<string, Memo>();
const loadedDirs = new Set<string>();

export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The file's sha256, from the memo when size and mtime are unchanged. `cacheDir` holds the
 * on-disk memo; pass undefined to keep it in memory only.
 */
export async function cachedSha256(
  path: string,
  cacheDir: string | undefined,
  signal?: AbortSignal,
): Promise<string> {
  const abs = resolve(path);
  const st = await stat(abs);
  if (cacheDir) await loadMemo(cacheDir);
  const hit = memory.get(abs);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.sha256;
  const sha256 = await sha256File(abs, signal);
  remember(abs, { size: st.size, mtimeMs: st.mtimeMs, sha256 });
  if (cacheDir) await saveMemo(cacheDir);
  return sha256;
}

/** Records a hash computed elsewhere (the downloader hashes while streaming). */
export async function rememberSha256(
  path: string,
  sha256: string,
  cacheDir: string | undefined,
): Promise<void> {
  const abs = resolve(path);
  const st = await stat(abs);
  if (cacheDir) await loadMemo(cacheDir);
  remember(abs, { size: st.size, mtimeMs: st.mtimeMs, sha256 });
  if (cacheDir) await saveMemo(cacheDir);
}

function remember(abs: string, memo: Memo): void {
  memory.set(abs, memo);
}

async function loadMemo(cacheDir: string): Promise<void> {
  const dir = resolve(cacheDir);
  if (loadedDirs.has(dir)) return;
  loadedDirs.add(dir);
  try {
    const data = JSON.parse(await readFile(join(dir, MEMO_FILE), 'utf8')) as Record<string, Memo>;
    for (const [path, m] of Object.entries(data)) {
      if (
        typeof m?.sha256 === 'string' &&
        typeof m.size === 'number' &&
        typeof m.mtimeMs === 'number' &&
        !memory.has(path)
      ) {
        memory.set(path, { size: m.size, mtimeMs: m.mtimeMs, sha256: m.sha256 });
      }
    }
  } catch {
    // No memo yet, or an unreadable one: hashing again is always correct.
  }
}

async function saveMemo(cacheDir: string): Promise<void> {
  const dir = resolve(cacheDir);
  try {
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `${MEMO_FILE}.${process.pid}.tmp`);
    await writeFile(tmp, JSON.stringify(Object.fromEntries(memory), null, 1));
    await rename(tmp, join(dir, MEMO_FILE));
  } catch {
    // A read-only cache dir only costs a re-hash next start.
  }
}
