/**
 * The embedded cache: an LRU bounded by entry count and by bytes, with a TTL checked
 * lazily on read. A Map keeps insertion order, so re-inserting on a hit makes the
 * first key the least recently used one: O(1) get, set and evict.
 */
import type { CacheBackend, CacheStats } from './types';

interface Entry<V> {
  value: V;
  bytes: number;
  expiresAt: number;
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
    this.map.delete(key);
    if (e.expiresAt <= this.clock()) {
      this.bytes -= e.bytes;
      this.stats.misses++;
      return undefined;
    }
    this.map.set(key, e);
    this.stats.hits++;
    return e.value;
  }

  setSync(key: string, value: V, ttlMs = this.opts.ttlMs): void {
    const bytes = this.sizeOf(value) + key.length;
    this.deleteSync(key);
    // A value larger than the whole cache would evict everything and still not fit.
    if (bytes > this.opts.maxBytes) return;
    this.map.set(key, { value: this.copy(value), bytes, expiresAt: this.clock() + ttlMs });
    this.bytes += bytes;
    this.stats.sets++;
    while (this.map.size > this.opts.maxEntries || this.bytes > this.opts.maxBytes) {
      const oldest = this.map.keys().next().value as string;
      this.deleteSync(oldest);
      this.stats.evictions++;
    }
  }

  deleteSync(key: string): void {
    const e = this.map.get(key);
    if (!e) return;
    this.map.delete(key);
    this.bytes -= e.bytes;
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
