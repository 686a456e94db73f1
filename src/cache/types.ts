/** Where cached values live: the embedded LRU or Redis, behind one interface. */
export interface CacheBackend<V> {
  get(key: string): Promise<V | undefined>;
  /** Stores a copy; `ttlMs` overrides the backend default. */
  set(key: string, value: V, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  clear(): Promise<void>;
  close(): Promise<void>;
}

export interface CacheStats {
  hits: number;
  misses: number;
  sets: number;
  evictions: number;
  entries: number;
  bytes: number;
}
