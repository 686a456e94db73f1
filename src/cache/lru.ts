/**
 * The embedded cache: an LRU bounded by entry count and by bytes, with a TTL checked
 * lazily on read. A Map finds entries; a doubly linked list keeps recency, so a hit
 * only relinks two nodes. (Re-inserting into the Map to use its insertion order looks
 * simpler, but V8's Map made delete+set of one key cost ~28 µs at 10,000 entries in
 * bench/micro/cache-key.bench.ts, against well under a microsecond for the list.)
 */
import type { CacheBackend, CacheStats } from './types';

interface Entry<V> {
  key: string;
  value: V;
  bytes: number;
  expiresAt: number;
  /** Towards the most recently used end. */
  newer: Entry<V> | undefined;
  /** Towards the least recently used end. */
  older: Entry<V> | undefined;
}

export interface LruOptions<V> {
  maxEntries: number;
  maxBytes: number;
  /** Default TTL, ms. */
  ttlMs: number;
  /** Size of a value in bytes. Default: UTF-8 length of its JSON. */
  sizeOf?: (value: V) => number;
  /** Copies a value on the way in so callers cannot mutate what is cached. Default structuredClone. */
  copy?: (value: V) => V;
  /** Milliseconds clock; tests move it. Default Date.now. */
  clock?: () => number;
}

export class LruCache<V> implements CacheBackend<V> {
  private readonly map = new Map<string, Entry<V>>();
  /** Least recently used. */
  private oldest: Entry<V> | undefined;
  /** Most recently used. */
  private newest: Entry<V> | undefined;
  private bytes = 0;
  private readonly clock: () => number;
  private readonly sizeOf: (v: V) => number;
  private readonly copy: (v: V) => V;
  readonly stats: Omit<CacheStats, 'entries' | 'bytes'> = { hits: 0, misses: 0, sets: 0, evictions: 0 };

  constructor(private readonly opts: LruOptions<V>) {
    this.clock = opts.clock ?? Date.now;
    this.sizeOf = opts.sizeOf ?? ((v) => Buffer.byteLength(JSON.stringify(v)));
    this.copy = opts.copy ?? structuredClone;
  }

  getSync(key: string): V | undefined {
    const e = this.map.get(key);
    if (!e) {
      this.stats.misses++;
      return undefined;
    }
    if (e.expiresAt <= this.clock()) {
      this.remove(e);
      this.stats.misses++;
      return undefined;
    }
    if (e !== this.newest) {
      this.unlink(e);
      this.pushNewest(e);
    }
    this.stats.hits++;
    return e.value;
  }

  setSync(key: string, value: V, ttlMs = this.opts.ttlMs): void {
    const bytes = this.sizeOf(value) + key.length;
    this.deleteSync(key);
    // A value larger than the whole cache would evict everything and still not fit.
    if (bytes > this.opts.maxBytes) return;
    const e: Entry<V> = {
      key,
      value: this.copy(value),
      bytes,
      expiresAt: this.clock() + ttlMs,
      newer: undefined,
      older: undefined,
    };
    this.map.set(key, e);
    this.pushNewest(e);
    this.bytes += bytes;
    this.stats.sets++;
    while (this.oldest && (this.map.size > this.opts.maxEntries || this.bytes > this.opts.maxBytes)) {
      this.remove(this.oldest);
      this.stats.evictions++;
    }
  }

  deleteSync(key: string): void {
    const e = this.map.get(key);
    if (e) this.remove(e);
  }

  private remove(e: Entry<V>): void {
    this.map.delete(e.key);
    this.unlink(e);
    this.bytes -= e.bytes;
  }

  private unlink(e: Entry<V>): void {
    if (e.newer) e.newer.older = e.older;
    else this.newest = e.older;
    if (e.older) e.older.newer = e.newer;
    else this.oldest = e.newer;
    e.newer = e.older = undefined;
  }

  private pushNewest(e: Entry<V>): void {
    e.older = this.newest;
    e.newer = undefined;
    if (this.newest) this.newest.newer = e;
    else this.oldest = e;
    this.newest = e;
  }

  async get(key: string): Promise<V | undefined> {
    return this.getSync(key);
  }
  async set(key: string, value: V, ttlMs?: number): Promise<void> {
    this.setSync(key, value, ttlMs);
  }
  async delete(key: string): Promise<void> {
    this.deleteSync(key);
  }
  async clear(): Promise<void> {
    this.map.clear();
    this.oldest = this.newest = undefined;
    this.bytes = 0;
  }
  async close(): Promise<void> {
    await this.clear();
  }

  get size(): number {
    return this.map.size;
  }
  get byteSize(): number {
    return this.bytes;
  }
}
