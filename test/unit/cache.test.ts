import diagnostics from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import {
  CACHE_ERROR_CHANNEL,
  cacheConfigSchema,
  cacheKey,
  canonicalJson,
  CompletionCache,
  LruCache,
  type CacheErrorEvent,
} from '../../src/cache';
import { ColoError } from '../../src/core/errors';
import type { CompletionResult, InferenceRequest } from '../../src/core/types';

const req = (over: Partial<InferenceRequest> = {}): InferenceRequest => ({
  id: 'r1',
  model: 'fast',
  prompt: 'AAPL beats estimates',
  sampling: { maxTokens: 16, temperature: 0, topP: 1, seed: undefined, stop: [] },
  deadlineMs: 100,
  priority: 0,
  stream: false,
  tenant: 'acme',
  ...over,
});

const result = (over: Partial<CompletionResult> = {}): CompletionResult => ({
  id: 'r1',
  text: 'bullish',
  finishReason: 'stop',
  usage: { promptTokens: 5, completionTokens: 1 },
  route: { kind: 'remote', provider: 'openai', model: 'gpt-4o-mini', cached: false },
  timings: { queueUs: 10, ttftUs: 100, totalUs: 200 },
  ...over,
});

describe('canonical key', () => {
  it('canonical JSON ignores key order and undefined members', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: undefined, c: 'x' }] })).toBe(
      canonicalJson({ a: [1, { c: 'x' }], b: 1 }),
    );
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: '1' }));
    expect(canonicalJson([undefined])).toBe('[null]');
  });

  it('depends on what decides the answer and nothing else', () => {
    const base = cacheKey(req(), 'acme');
    expect(base).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Transport details do not change the answer.
    expect(
      cacheKey(req({ id: 'other', deadlineMs: 5, priority: 9, stream: true, keyId: 'colo_x' }), 'acme'),
    ).toBe(base);
    // Everything else does.
    const variants = [
      cacheKey(req(), 'globex'),
      cacheKey(req({ model: 'slow' }), 'acme'),
      cacheKey(req({ prompt: 'AAPL beats estimates!' }), 'acme'),
      cacheKey(req({ sampling: { maxTokens: 16, temperature: 0, topP: 1, seed: 7, stop: [] } }), 'acme'),
      cacheKey(
        req({ sampling: { maxTokens: 17, temperature: 0, topP: 1, seed: undefined, stop: [] } }),
        'acme',
      ),
      cacheKey(
        req({ sampling: { maxTokens: 16, temperature: 0, topP: 1, seed: undefined, stop: ['\n'] } }),
        'acme',
      ),
      cacheKey(req({ skill: 'sentiment' }), 'acme'),
      cacheKey(
        req({ prompt: undefined, messages: [{ role: 'user', content: 'AAPL beats estimates' }] }),
        'acme',
      ),
      cacheKey(
        req({ prompt: undefined, messages: [{ role: 'system', content: 'AAPL beats estimates' }] }),
        'acme',
      ),
    ];
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
  });
});

describe('LruCache', () => {
  it('evicts the least recently used entry when over the entry bound', () => {
    const c = new LruCache<string>({ maxEntries: 2, maxBytes: 1 << 20, ttlMs: 1000 });
    c.setSync('a', 'A');
    c.setSync('b', 'B');
    expect(c.getSync('a')).toBe('A'); // a is now most recent
    c.setSync('c', 'C');
    expect(c.getSync('b')).toBeUndefined();
    expect(c.getSync('a')).toBe('A');
    expect(c.getSync('c')).toBe('C');
    expect(c.stats.evictions).toBe(1);
  });

  it('stays within the byte bound and refuses values larger than it', () => {
    const c = new LruCache<string>({ maxEntries: 100, maxBytes: 100, ttlMs: 1000 });
    for (let i = 0; i < 10; i++) c.setSync(`k${i}`, 'x'.repeat(20)); // 22 + 2 bytes each
    expect(c.byteSize).toBeLessThanOrEqual(100);
    expect(c.size).toBe(4);
    expect(c.getSync('k9')).toBeDefined();
    c.setSync('huge', 'y'.repeat(200));
    expect(c.getSync('huge')).toBeUndefined();
    expect(c.size).toBe(4);
  });

  it('expires entries after their TTL', () => {
    let now = 0;
    const c = new LruCache<string>({ maxEntries: 10, maxBytes: 1000, ttlMs: 100, clock: () => now });
    c.setSync('a', 'A');
    c.setSync('b', 'B', 500);
    now = 99;
    expect(c.getSync('a')).toBe('A');
    now = 100;
    expect(c.getSync('a')).toBeUndefined();
    expect(c.getSync('b')).toBe('B');
    expect(c.size).toBe(1);
    expect(c.byteSize).toBe(Buffer.byteLength('"B"') + 1);
  });

  it('matches a reference LRU over a long random mix of gets, sets and deletes', () => {
    const c = new LruCache<number>({ maxEntries: 8, maxBytes: 1 << 20, ttlMs: 1e9, copy: (v) => v });
    const ref: [string, number][] = []; // oldest first
    let seed = 7;
    const rnd = (n: number): number => (seed = (seed * 48271) % 2147483647) % n;
    for (let i = 0; i < 5000; i++) {
      const k = `k${rnd(12)}`;
      const op = rnd(3);
      const at = ref.findIndex(([rk]) => rk === k);
      if (op === 0) {
        const want = at >= 0 ? ref.splice(at, 1)[0]! : undefined;
        if (want) ref.push(want);
        expect(c.getSync(k)).toBe(want?.[1]);
      } else if (op === 1) {
        if (at >= 0) ref.splice(at, 1);
        ref.push([k, i]);
        if (ref.length > 8) ref.shift();
        c.setSync(k, i);
      } else {
        if (at >= 0) ref.splice(at, 1);
        c.deleteSync(k);
      }
      expect(c.size).toBe(ref.length);
    }
  });

  it('keeps its own copy: mutating what was stored does not change the cache', () => {
    const c = new LruCache<{ n: number }>({ maxEntries: 10, maxBytes: 1000, ttlMs: 100 });
    const v = { n: 1 };
    c.setSync('a', v);
    v.n = 2;
    expect(c.getSync('a')).toEqual({ n: 1 });
  });
});

describe('CompletionCache', () => {
  const mk = (over: object = {}) =>
    new CompletionCache(
      new LruCache<CompletionResult>({ maxEntries: 100, maxBytes: 1 << 20, ttlMs: 60_000 }),
      cacheConfigSchema.parse(over),
    );

  it('caches deterministic requests and answers hits as route kind cache', async () => {
    const c = mk();
    expect(await c.lookup(req())).toBeUndefined();
    await c.store(req(), result());
    const hit = await c.lookup(req({ id: 'r2' }));
    expect(hit).toMatchObject({
      id: 'r2',
      text: 'bullish',
      route: { kind: 'cache', cached: true, provider: 'openai', model: 'gpt-4o-mini' },
    });
    // Another tenant never sees it.
    expect(await c.lookup(req({ tenant: 'globex' }))).toBeUndefined();
  });

  it('only caches temperature 0 or a fixed seed unless cacheNonDeterministic', async () => {
    const hot = req({ sampling: { maxTokens: 16, temperature: 0.8, topP: 1, seed: undefined, stop: [] } });
    const seeded = req({ sampling: { maxTokens: 16, temperature: 0.8, topP: 1, seed: 1, stop: [] } });
    const c = mk();
    expect(c.isCacheable(hot)).toBe(false);
    expect(c.isCacheable(seeded)).toBe(true);
    await c.store(hot, result());
    expect(await c.lookup(hot)).toBeUndefined();
    const any = mk({ cacheNonDeterministic: true });
    await any.store(hot, result());
    expect(await any.lookup(hot)).toBeDefined();
    expect(mk({ enabled: false }).isCacheable(req())).toBe(false);
  });

  it('does not store cancelled, failed or already-cached results', async () => {
    const c = mk();
    await c.store(req(), result({ finishReason: 'cancelled' }));
    await c.store(req({ model: 'm2' }), result({ finishReason: 'deadline' }));
    await c.store(
      req({ model: 'm3' }),
      result({ route: { kind: 'cache', provider: 'x', model: 'y', cached: true } }),
    );
    expect(await c.lookup(req())).toBeUndefined();
    expect(await c.lookup(req({ model: 'm2' }))).toBeUndefined();
    expect(await c.lookup(req({ model: 'm3' }))).toBeUndefined();
  });

  it('treats a failing backend as a miss', async () => {
    const broken = {
      get: () => Promise.reject(new Error('down')),
      set: () => Promise.reject(new Error('down')),
      delete: async () => {},
      clear: async () => {},
      close: async () => {},
    };
    const c = new CompletionCache(broken, cacheConfigSchema.parse({}));
    await expect(c.store(req(), result())).resolves.toBeUndefined();
    await expect(c.lookup(req())).resolves.toBeUndefined();
  });
});

describe('cache backend errors (issue 10 item 17)', () => {
  class DeadBackend {
    get(): Promise<undefined> {
      return Promise.reject(new ColoError('UNAVAILABLE', 'redis (cache) is unavailable; retry later'));
    }
    set(): Promise<void> {
      return Promise.reject(new Error('ECONNRESET'));
    }
    delete = (): Promise<void> => Promise.resolve();
    clear = (): Promise<void> => Promise.resolve();
    close = (): Promise<void> => Promise.resolve();
  }

  it('are a miss for the request, published on colo:cache:error, and logged once per window', async () => {
    const lines: { msg: string; fields?: Record<string, unknown> }[] = [];
    const log = {
      debug: () => undefined,
      info: () => undefined,
      warn: (msg: string, fields?: Record<string, unknown>) => void lines.push({ msg, fields }),
      error: () => undefined,
    };
    let now = 0;
    const cache = new CompletionCache(new DeadBackend(), cacheConfigSchema.parse({}), {
      log,
      logEveryMs: 10_000,
      clock: () => now,
    });
    const events: CacheErrorEvent[] = [];
    const onEvent = (m: unknown) => void events.push(m as CacheErrorEvent);
    diagnostics.subscribe(CACHE_ERROR_CHANNEL, onEvent);
    try {
      const r = req();
      for (let i = 0; i < 5; i++) expect(await cache.lookup(r)).toBeUndefined();
      await cache.store(r, result());
      expect(events).toEqual([
        ...Array.from({ length: 5 }, () => ({ op: 'get', code: 'UNAVAILABLE', backend: 'DeadBackend' })),
        { op: 'set', code: 'INTERNAL', backend: 'DeadBackend' },
      ]);
      expect(lines).toHaveLength(1);
      expect(lines[0]!.fields).toMatchObject({ op: 'get', code: 'UNAVAILABLE', suppressedSinceLast: 0 });
      now += 10_000;
      await cache.store(r, result());
      expect(lines).toHaveLength(2);
      expect(lines[1]!.fields).toMatchObject({
        op: 'set',
        code: 'INTERNAL',
        cause: 'ECONNRESET',
        suppressedSinceLast: 5,
      });
    } finally {
      diagnostics.unsubscribe(CACHE_ERROR_CHANNEL, onEvent);
    }
  });
});
