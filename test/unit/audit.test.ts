import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  auditConfigSchema,
  AuditLog,
  auditCommit,
  type AuditCommitEvent,
  buildAuditRecord,
  decodeSegment,
  encodeRecord,
  queryAudit,
  SecretScrubber,
  type AuditRecord,
} from '../../src/audit';
import { ColoError } from '../../src/core/errors';
import { redactConfigSchema, Redactor } from '../../src/redact';
import type { CompletionResult, InferenceRequest } from '../../src/core/types';

const req: InferenceRequest = {
  id: 'req-1',
  model: 'fast',
  prompt: 'Is ACME a buy? my key is sk-live0123456789abcdefXYZ',
  sampling: { maxTokens: 8, temperature: 0, topP: 1, stop: [] },
  deadlineMs: 0,
  priority: 0,
  stream: false,
  tenant: 'acme',
  keyId: 'colo_ab12cd34',
};
const result: CompletionResult = {
  id: 'req-1',
  text: 'bullish',
  finishReason: 'stop',
  usage: { promptTokens: 12, completionTokens: 1 },
  route: { kind: 'remote', provider: 'openai', model: 'gpt-4o-mini', cached: false },
  timings: { queueUs: 5, ttftUs: 900, totalUs: 1000 },
};

describe('framing', () => {
  it('round-trips records and detects a torn tail and corrupt lines', () => {
    const a = encodeRecord({ n: 1, s: 'line\nbreak' });
    const b = encodeRecord({ n: 2 });
    const c = encodeRecord({ n: 3 });
    const flipped = Buffer.from(b);
    flipped[flipped.length - 3]! ^= 1; // one bit inside the JSON
    const data = Buffer.concat([a, flipped, c, c.subarray(0, 7)]);
    const dec = decodeSegment<{ n: number }>(data);
    expect(dec.records.map((r) => r.n)).toEqual([1, 3]);
    expect(dec.corrupt).toBe(1);
    expect(dec.tornTail).toBe(true);
    expect(decodeSegment(Buffer.concat([a, c])).tornTail).toBe(false);
  });
});

describe('buildAuditRecord', () => {
  const scrub = new SecretScrubber(['prov-secret-key-123']);

  it('hashes content by default and never holds the text', () => {
    const r = buildAuditRecord({ req, result, cost: 0.002 }, auditConfigSchema.parse({}), scrub);
    expect(r).toMatchObject({
      requestId: 'req-1',
      tenant: 'acme',
      keyId: 'colo_ab12cd34',
      route: { kind: 'remote', provider: 'openai', model: 'gpt-4o-mini', cached: false },
      tokens: { prompt: 12, completion: 1 },
      cost: 0.002,
      latencyUs: { queue: 5, ttft: 900, total: 1000 },
      status: 'ok',
    });
    expect(r.promptSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.prompt).toBeUndefined();
    expect(JSON.stringify(r)).not.toContain('ACME a buy');
  });

  const masker = new Redactor(redactConfigSchema.parse({}));

  it("content 'full' keeps the text as redaction masks it (PII and credentials), one placeholder per value", () => {
    const full = buildAuditRecord(
      {
        req: { ...req, prompt: req.prompt + ' and prov-secret-key-123; mail jane@fund.example' },
        result: { ...result, text: 'bullish, wrote to jane@fund.example' },
      },
      auditConfigSchema.parse({ content: 'full' }),
      scrub,
      masker,
    );
    expect(full.prompt).toBe('Is ACME a buy? my key is <SECRET_1> and [REDACTED]; mail <EMAIL_1>');
    expect(full.response).toBe('bullish, wrote to <EMAIL_1>');
    // Without a masker, 'full' refuses instead of writing unmasked text.
    expect(() =>
      buildAuditRecord({ req, result }, auditConfigSchema.parse({ content: 'full' }), scrub),
    ).toThrow(/masker/);
  });

  it("content 'raw' (asked for by name) keeps PII as sent, still scrubbing credentials; 'omit' keeps nothing", () => {
    const raw = buildAuditRecord(
      { req: { ...req, prompt: req.prompt + ' and prov-secret-key-123; mail jane@fund.example' }, result },
      auditConfigSchema.parse({ content: 'raw' }),
      scrub,
      masker,
    );
    expect(raw.prompt).toBe('Is ACME a buy? my key is [REDACTED] and [REDACTED]; mail jane@fund.example');
    expect(raw.response).toBe('bullish');
    const omit = buildAuditRecord({ req, result }, auditConfigSchema.parse({ content: 'omit' }), scrub);
    expect(omit.prompt ?? omit.promptSha256 ?? omit.response ?? omit.responseSha256).toBeUndefined();
  });

  it('records the error code only (never error text) and raw output on SCHEMA_VIOLATION', () => {
    const err = new ColoError('UPSTREAM_ERROR', 'upstream said: invalid key prov-secret-key-123', {
      cause: { headers: { authorization: 'Bearer prov-secret-key-123' } },
    });
    const r = buildAuditRecord({ req, error: err }, auditConfigSchema.parse({ content: 'hash' }), scrub);
    expect(r).toMatchObject({ status: 'error', errorCode: 'UPSTREAM_ERROR' });
    expect(JSON.stringify(r)).not.toContain('prov-secret-key-123');
    const sv = buildAuditRecord(
      { req, error: new ColoError('SCHEMA_VIOLATION', 'bad'), rawOutput: '{"dir": "up" prov-secret-key-123' },
      auditConfigSchema.parse({ content: 'omit' }),
      scrub,
    );
    expect(sv.rawOutput).toBe('{"dir": "up" [REDACTED]');
    const other = buildAuditRecord(
      { req, error: new ColoError('DEADLINE', 'late'), rawOutput: 'x' },
      auditConfigSchema.parse({}),
      scrub,
    );
    expect(other.rawOutput).toBeUndefined();
  });
});

describe('AuditLog', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'colo-audit-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const rec = (i: number, over: Partial<AuditRecord> = {}): AuditRecord => ({
    v: 1,
    ts: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
    requestId: `r${i}`,
    tenant: i % 2 ? 'odd' : 'even',
    keyId: 'k',
    model: i % 3 === 0 ? 'fast' : 'slow',
    tokens: { prompt: 1, completion: 1 },
    cost: 0,
    latencyUs: { queue: 0, ttft: 0, total: 0 },
    status: i % 5 === 0 ? 'error' : 'ok',
    ...over,
  });

  it('background (default): each write is on the page cache when it returns; one fdatasync covers a group', async () => {
    const log = await AuditLog.open(auditConfigSchema.parse({ dir }));
    const commits: AuditCommitEvent[] = [];
    const onCommit = (e: unknown) => commits.push(e as AuditCommitEvent);
    auditCommit.subscribe(onCommit);
    try {
      for (let i = 0; i < 300; i++) expect(log.write(rec(i))).toBeUndefined();
      // Readable at once, from another reader, before any fsync: write(2) has returned.
      const before = await queryAudit(dir, { limit: 0, order: 'asc' });
      expect(before.records).toHaveLength(300);
      await log.flush();
      expect(log.fsyncs).toBeGreaterThanOrEqual(1);
      expect(log.fsyncs).toBeLessThan(300);
      expect(commits.reduce((n, c) => n + c.records, 0)).toBe(300);
      expect(commits.every((c) => c.lagMs >= 0)).toBe(true);
    } finally {
      auditCommit.unsubscribe(onCommit);
    }
    await log.close();
    expect(() => log.write(rec(1))).toThrow(expect.objectContaining({ code: 'SHUTTING_DOWN' }));
  });

  it('fsync always: group-commits concurrent writes: every one resolves, in few batches, all readable', async () => {
    const log = await AuditLog.open(auditConfigSchema.parse({ dir, fsync: 'always' }));
    await Promise.all(Array.from({ length: 1000 }, (_, i) => log.write(rec(i))));
    expect(log.written).toBe(1000);
    expect(log.batches).toBeLessThan(20);
    await log.close();
    const q = await queryAudit(dir, { limit: 0, order: 'asc' });
    expect(q.records.map((r) => r.requestId)).toEqual(Array.from({ length: 1000 }, (_, i) => `r${i}`));
    expect(q.corrupt + q.tornTails).toBe(0);
    await expect(log.write(rec(1))).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
  });

  // Regression: a write issued from the continuation of an acknowledged write (a
  // sequential writer) was parked behind a flush that had already ended, and hung.
  it('does not strand a write made right after the previous one was acknowledged', async () => {
    const log = await AuditLog.open(auditConfigSchema.parse({ dir, fsync: 'always' }));
    for (let i = 0; i < 20; i++) await log.write(rec(i));
    expect(log.written).toBe(20);
    await log.close();
  });

  it('rotates segments by size and prunes beyond maxSegments', async () => {
    const log = await AuditLog.open(auditConfigSchema.parse({ dir, maxSegmentBytes: 4096 }));
    for (let i = 0; i < 200; i++) await log.write(rec(i));
    await log.close();
    const segs = readdirSync(dir).filter((n) => n.endsWith('.log'));
    expect(segs.length).toBeGreaterThan(3);
    for (const s of segs) expect(readFileSync(join(dir, s)).length).toBeLessThan(4096 + 400);
    const all = await queryAudit(dir, { limit: 0, order: 'asc' });
    expect(all.records).toHaveLength(200);

    const pruned = await AuditLog.open(
      auditConfigSchema.parse({ dir, maxSegmentBytes: 4096, maxSegments: 2 }),
    );
    await pruned.write(rec(999));
    await pruned.close();
    expect(readdirSync(dir).filter((n) => n.endsWith('.log')).length).toBe(2);
  });

  it('filters queries by time, tenant, status, model, limit and order', async () => {
    const log = await AuditLog.open(auditConfigSchema.parse({ dir }));
    await Promise.all(Array.from({ length: 30 }, (_, i) => log.write(rec(i))));
    await log.close();
    const ids = async (q: Parameters<typeof queryAudit>[1]) =>
      (await queryAudit(dir, q)).records.map((r) => r.requestId);
    expect(await ids({ limit: 3 })).toEqual(['r29', 'r28', 'r27']);
    expect(await ids({ limit: 3, order: 'asc' })).toEqual(['r0', 'r1', 'r2']);
    expect(
      await ids({ since: '2025-01-01T00:00:10Z', until: new Date('2025-01-01T00:00:13Z'), order: 'asc' }),
    ).toEqual(['r10', 'r11', 'r12']);
    expect(await ids({ tenant: 'odd', status: 'error', order: 'asc' })).toEqual(['r5', 'r15', 'r25']);
    expect(await ids({ model: 'fast', tenant: 'even', order: 'asc' })).toEqual([
      'r0',
      'r6',
      'r12',
      'r18',
      'r24',
    ]);
    expect(await queryAudit(join(dir, 'missing'))).toMatchObject({ records: [], segments: 0 });
  });

  it('reopening after a torn tail starts a new segment; old and new records stay readable', async () => {
    const log = await AuditLog.open(auditConfigSchema.parse({ dir }));
    await log.write(rec(1));
    const seg = log.currentSegment;
    await log.close();
    appendFileSync(seg, encodeRecord(rec(2)).subarray(0, 20)); // a crash mid-write
    const again = await AuditLog.open(auditConfigSchema.parse({ dir }));
    expect(again.currentSegment).not.toBe(seg);
    await again.record({ req, result });
    await again.close();
    const q = await queryAudit(dir, { order: 'asc' });
    expect(q.records.map((r) => r.requestId)).toEqual(['r1', 'req-1']);
    expect(q.tornTails).toBe(1);
    // Corruption in the middle of a segment loses only that line.
    const data = readFileSync(seg);
    writeFileSync(seg, Buffer.concat([Buffer.from('garbage line\n'), data]));
    expect((await queryAudit(dir, { order: 'asc' })).records).toHaveLength(2);
  });

  it('never writes a configured provider key', async () => {
    const log = await AuditLog.open(auditConfigSchema.parse({ dir, content: 'full' }), {
      secrets: ['prov-secret-key-123'],
      masker: new Redactor(redactConfigSchema.parse({})),
    });
    await log.record({
      req: { ...req, prompt: 'echo prov-secret-key-123 to ops@fund.example' },
      result: { ...result, text: 'prov-secret-key-123' },
    });
    await log.close();
    const raw = readdirSync(dir)
      .map((n) => readFileSync(join(dir, n), 'utf8'))
      .join('');
    expect(raw).toContain('echo [REDACTED] to <EMAIL_1>');
    expect(raw).not.toContain('prov-secret-key-123');
    expect(raw).not.toContain('ops@fund.example');
  });

  it("refuses to open with content 'full' and no masker (it would write unmasked text)", async () => {
    await expect(AuditLog.open(auditConfigSchema.parse({ dir, content: 'full' }))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'audit.content',
    });
  });
});
