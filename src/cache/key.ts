/**
 * The cache key: a stable canonical JSON of everything that determines the answer
 * (tenant, model, prompt or messages, sampling incl. seed, skill), hashed with SHA-256.
 *
 * Why SHA-256 and not a faster non-cryptographic hash: the key separates tenants, so a
 * collision would hand one tenant another's answer; SHA-256 makes that practically
 * impossible, and on requests of headline size its cost is dominated by building the
 * string anyway (figures in README.md, from bench/micro/cache-key.bench.ts).
 */
import { hash } from 'node:crypto';
import type { InferenceRequest } from '../core/types';

/**
 * Canonical JSON: object keys sorted, undefined members dropped, arrays in order.
 * Two values that are equal as data always give the same string.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const s = JSON.stringify(value);
    // undefined, functions and symbols have no JSON form; in arrays JSON uses null.
    return s === undefined ? 'null' : s;
  }
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']';
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJson(obj[k])).join(',') + '}';
}

/**
 * The part of a request that decides its answer, as a positional JSON array: canonical
 * by construction (fixed order, every absent field null), and ~5x cheaper than sorting
 * keys generically. Bump the leading version when the meaning of a position changes.
 */
export function canonicalRequest(req: InferenceRequest, tenant: string): string {
  const s = req.sampling;
  let msgs: (string | null)[] | null = null;
  if (req.messages) {
    msgs = [];
    for (const m of req.messages) msgs.push(m.role, m.content);
  }
  return JSON.stringify([
    1,
    tenant,
    req.model,
    req.prompt ?? null,
    msgs,
    s.maxTokens,
    s.temperature,
    s.topP,
    s.seed ?? null,
    s.stop,
    req.skill ?? null,
  ]);
}

/** base64url SHA-256 of the canonical request: 43 characters. */
export function cacheKey(req: InferenceRequest, tenant: string): string {
  return hash('sha256', canonicalRequest(req, tenant), 'base64url');
}
