/**
 * Response-cache key and lookup: canonical JSON of a headline-sized request (positional
 * as shipped, against generic sorted-key JSON), the hash
 * over it (SHA-256 as shipped, against SHA-1 / MD5 / a 32-bit FNV-1a as the faster
 * alternatives not taken), and an LRU hit in a 10,000-entry cache.
 *
 *   node bench/lib/run.mjs bench/micro/cache-key.bench.ts
 */
import { hash } from 'node:crypto';
import { cacheKey, canonicalJson, canonicalRequest, LruCache } from '../../src/cache';
import type { CompletionResult, InferenceRequest } from '../../src/core/types';
import { runMicro } from '../lib';

const req: InferenceRequest = {
  id: 'r1',
  model: 'fast',
  messages: [
    {
      role: 'system',
      content: 'Classify the headline as bullish, bearish or neutral. Answer with one word.',
    },
    {
      role: 'user',
      content: '$DELL $HPE - Dell, HPE targets trimmed on compute headwinds https://t.co/YRUHZw7cYl',
    },
  ],
  sampling: { maxTokens: 4, temperature: 0, topP: 1, seed: undefined, stop: ['\n'] },
  deadlineMs: 50,
  priority: 0,
  stream: false,
  tenant: 'acme',
};
const result: CompletionResult = {
  id: 'r1',
  text: 'bearish',
  finishReason: 'stop',
  usage: { promptTokens: 40, completionTokens: 1 },
  route: { kind: 'local', provider: 'local', model: 'fast', cached: false },
  timings: { queueUs: 10, ttftUs: 800, totalUs: 900 },
};

const fnv1a = (s: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
};

const lru = new LruCache<CompletionResult>({ maxEntries: 10_000, maxBytes: 64 << 20, ttlMs: 3_600_000 });
for (let i = 0; i < 9_999; i++)
  lru.setSync(cacheKey({ ...req, id: `x${i}`, prompt: `filler ${i}`, messages: undefined }, 'acme'), result);
const key = cacheKey(req, 'acme');
lru.setSync(key, result);
const canon = canonicalRequest(req, 'acme');

await runMicro(
  'cache-key',
  [
    { name: 'canonicalRequest positional (shipped)', fn: () => canonicalRequest(req, 'acme') },
    {
      name: 'canonicalJson sorted keys (alternative)',
      fn: () =>
        canonicalJson({
          v: 1,
          tenant: 'acme',
          model: req.model,
          messages: req.messages,
          sampling: req.sampling,
          skill: req.skill,
        }),
    },
    { name: 'hash sha256 base64url (shipped)', fn: () => hash('sha256', canon, 'base64url') },
    { name: 'hash sha1 base64url (alternative)', fn: () => hash('sha1', canon, 'base64url') },
    { name: 'hash md5 base64url (alternative)', fn: () => hash('md5', canon, 'base64url') },
    { name: 'fnv1a-32 in JS (alternative, collides)', fn: () => fnv1a(canon) },
    { name: 'cacheKey (canonical + sha256)', fn: () => cacheKey(req, 'acme') },
    { name: 'LRU get hit (10k entries)', fn: () => lru.getSync(key) },
    { name: 'cacheKey + LRU get hit', fn: () => lru.getSync(cacheKey(req, 'acme')) },
  ],
  {
    check: () => {
      if (cacheKey({ ...req, id: 'other', deadlineMs: 1 }, 'acme') !== key)
        throw new Error('key depends on transport fields');
      if (cacheKey(req, 'globex') === key) throw new Error('key ignores the tenant');
      if (lru.getSync(cacheKey(req, 'acme'))?.text !== 'bearish') throw new Error('LRU lost the entry');
      if (lru.size !== 10_000) throw new Error(`LRU holds ${lru.size}`);
    },
    meta: { canonicalBytes: Buffer.byteLength(canon), entries: lru.size },
  },
);
