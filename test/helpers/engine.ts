/**
 * Starts a real local engine or a whole Colo on the tiny real model, for model tests;
 * `startAuthColo` starts one with auth on and talks to its admin API.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queryAudit, type AuditRecord } from '../../src/audit';
import { hashApiKey } from '../../src/auth';
import { parseConfig, type ColoConfig } from '../../src/config';
import { createLogger } from '../../src/core/log';
import { DEFAULT_SAMPLING, type InferenceRequest } from '../../src/core/types';
import { startColo, type Colo } from '../../src/app/colo';
import { SHARED_MODELS_DIR, tinyModelPath } from './models';

/** The folder beside the repo that holds stories260K.gguf (see ./models.ts). */
export const SHARED_MODELS = SHARED_MODELS_DIR;

export const quietLog = createLogger('error');

export function testConfig(
  over: {
    sequences?: number;
    maxQueue?: number;
    server?: Record<string, unknown>;
    extra?: Record<string, unknown>;
  } = {},
): ColoConfig {
  const dir = mkdtempSync(join(tmpdir(), 'colo-test-'));
  return parseConfig({
    server: { port: 0, shutdownGraceMs: 2000, ...over.server },
    audit: { dir: join(dir, 'audit') },
    auth: { storePath: join(dir, 'auth.json') },
    engine: {
      modelDirs: [SHARED_MODELS],
      models: [
        {
          name: 'stories260K',
          aliases: ['tiny'],
          sequences: over.sequences ?? 4,
          maxQueue: over.maxQueue ?? 16,
          contextSize: 512,
        },
      ],
    },
    ...over.extra,
  });
}

export async function startTestColo(
  over: Parameters<typeof testConfig>[0] = {},
  opts: { faultInjection?: boolean } = {},
): Promise<Colo> {
  tinyModelPath();
  return startColo(testConfig(over), quietLog, opts);
}

export function request(id: string, over: Partial<InferenceRequest> = {}): InferenceRequest {
  return {
    id,
    model: 'stories260K',
    prompt: 'Once upon a time',
    sampling: { ...DEFAULT_SAMPLING, maxTokens: 32, temperature: 0 },
    deadlineMs: 10_000,
    priority: 0,
    stream: true,
    ...over,
  };
}

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The pepper and the admin key of the Colo `startAuthColo` starts. */
export const TEST_PEPPER = 'test-pepper-0123456789';
export const TEST_ADMIN_KEY = 'colo_admin_test_key_0123456789abcdef';

export interface AuthColo {
  colo: Colo;
  /** `http://127.0.0.1:PORT` */
  base: string;
  /** The Colo's folder: `audit/`, `auth.json`, and what the caller put there before. */
  dir: string;
  /** POSTs `body` to the admin API with the admin key; the parsed answer. */
  admin(path: string, body: unknown): Promise<Json>;
  /** A new API key of `tenant`. */
  newKey(tenant: string): Promise<{ key: string; keyId: string }>;
  /** Creates a tenant and returns a new key of it. */
  tenantKey(tenant: { id: string; models: string[]; skills?: string[] }): Promise<string>;
  /** POSTs `body` with `key` as the bearer credential: the status and the parsed answer. */
  post(path: string, body: unknown, key: string): Promise<{ status: number; body: Json }>;
  /** Every record in the audit log so far. */
  audit(): Promise<AuditRecord[]>;
}

/**
 * A whole Colo with auth on (admin key `TEST_ADMIN_KEY`, keys stored in `dir`/auth.json)
 * and the audit log in `dir`/audit, on stories260K with 2 sequences and a 1024-token
 * context. `config` adds or replaces top-level sections (limits, pricing, gateway,
 * classifiers, engine); `requireSubscription` unset keeps the product default.
 */
export async function startAuthColo(
  opts: { dir?: string; requireSubscription?: boolean; config?: Record<string, unknown> } = {},
): Promise<AuthColo> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'colo-auth-'));
  const colo = await startColo(
    parseConfig({
      server: { port: 0 },
      audit: { dir: join(dir, 'audit') },
      auth: {
        enabled: true,
        pepper: TEST_PEPPER,
        adminKeyHashes: [hashApiKey(TEST_ADMIN_KEY, TEST_PEPPER)],
        storePath: join(dir, 'auth.json'),
        requireSubscription: opts.requireSubscription,
      },
      engine: {
        modelDirs: [SHARED_MODELS],
        models: [{ name: 'stories260K', sequences: 2, contextSize: 1024 }],
      },
      ...opts.config,
    }),
    quietLog,
  );
  const base = `http://127.0.0.1:${colo.port}`;
  const post = async (path: string, body: unknown, key: string) => {
    const r = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as Json };
  };
  const admin = async (path: string, body: unknown) => (await post(path, body, TEST_ADMIN_KEY)).body;
  const newKey = async (tenant: string) =>
    (await admin('/admin/keys', { tenant })) as { key: string; keyId: string };
  return {
    colo,
    base,
    dir,
    admin,
    newKey,
    post,
    async tenantKey(tenant) {
      await admin('/admin/tenants', tenant);
      return (await newKey(tenant.id)).key;
    },
    audit: async () => (await queryAudit(join(dir, 'audit'), { limit: 0 })).records,
  };
}
