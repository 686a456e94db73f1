import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { queryAudit } from '../../src/audit';

const ROOT = resolve(__dirname, '../..');

describe('audit log durability', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'colo-audit-crash-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  // 'background' is the default (ack after write(2), fsync later); 'always' acks after fsync.
  it.each(['background', 'always'] as const)(
    'fsync %s: keeps every acknowledged record when the writer is SIGKILLed mid-stream',
    async (fsync) => {
      const child = join(dir, 'writer.mts');
      const store = join(dir, 'store');
      // The writer keeps 64 writes in flight (like a busy server) and prints each id
      // only after its write() returned (background) or resolved after the fsync (always).
      writeFileSync(
        child,
        `import { AuditLog, auditConfigSchema } from ${JSON.stringify(join(ROOT, 'src/audit/index.ts'))};
const log = await AuditLog.open(auditConfigSchema.parse({ dir: ${JSON.stringify(store)}, maxSegmentBytes: 64 * 1024, fsync: '${fsync}' }));
let next = 0;
const pad = 'x'.repeat(300);
function one() {
  const id = 'id-' + next++;
  Promise.resolve(log.write({ v: 1, ts: new Date().toISOString(), requestId: id, tenant: 't', keyId: 'k', model: 'm', tokens: { prompt: 1, completion: 1 }, cost: 0, latencyUs: { queue: 0, ttft: 0, total: 0 }, status: 'ok', pad }))
    .then(() => { process.stdout.write(id + '\\n'); setImmediate(one); });
}
for (let i = 0; i < 64; i++) one();
`,
      );
      const proc = spawn(process.execPath, ['--import', 'tsx', child], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const acked: string[] = [];
      let buf = '';
      await new Promise<void>((done, fail) => {
        proc.once('exit', (code, sig) =>
          sig === 'SIGKILL' ? done() : fail(new Error(`writer exited early: ${code} ${sig}`)),
        );
        proc.stdout!.on('data', (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split('\n');
          buf = lines.pop()!;
          acked.push(...lines);
          // Kill it mid-stream, with writes in flight and segments rotating.
          if (acked.length >= 3000 && proc.exitCode === null && !proc.killed) proc.kill('SIGKILL');
        });
      });
      expect(acked.length).toBeGreaterThanOrEqual(3000);
      const q = await queryAudit(store, { limit: 0, order: 'asc' });
      const present = new Set(q.records.map((r) => r.requestId));
      const missing = acked.filter((id) => !present.has(id));
      expect(missing).toEqual([]);
      // The store is readable and rotated; at most the last segment ends torn.
      expect(readdirSync(store).length).toBeGreaterThan(1);
      expect(q.tornTails).toBeLessThanOrEqual(1);
      expect(q.corrupt).toBe(0);
      // Records may be on disk that were never acknowledged (killed before the ack), not the reverse.
      expect(q.records.length).toBeGreaterThanOrEqual(acked.length);
    },
  );
});
