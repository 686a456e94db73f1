/**
 * Issue 10 item 4 end to end: a priced gateway target gives every request a cost in
 * micro-dollars (result, audit record) and the tenant's `costBudget` refuses requests
 * with QUOTA_EXCEEDED once spent. A real Colo on port 0 with the dummy provider.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startColo, type Colo } from '../../src/app/colo';
import { queryAudit } from '../../src/audit';
import { parseConfig } from '../../src/config';
import { quietLog } from '../helpers/engine';

let colo: Colo;
let base: string;
let auditDir: string;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'colo-cost-'));
  auditDir = join(dir, 'audit');
  colo = await startColo(
    parseConfig({
      server: { port: 0, shutdownGraceMs: 500 },
      audit: { dir: auditDir },
      auth: { storePath: join(dir, 'auth.json') },
      cache: { enabled: false },
      engine: { models: [] },
      gateway: { targets: [{ name: 'echo', provider: 'dummy', model: 'echo' }] },
      // $0.10 per output token, $0.01 per input token: a few tokens spend a $1 budget.
      pricing: { targets: { echo: { inputPerMTok: 10_000, outputPerMTok: 100_000 } } },
      limits: { tenant: { costBudget: 1 } },
    }),
    quietLog,
  );
  base = `http://127.0.0.1:${colo.port}`;
});
afterAll(async () => colo?.shutdown('test end'));

const post = async (prompt: string) => {
  const r = await fetch(`${base}/v1/completions`, {
    method: 'POST',
    body: JSON.stringify({ model: 'echo', prompt, max_tokens: 8 }),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: r.status, body: (await r.json()) as any };
};

describe('cost budget through the pipeline', () => {
  it('prices each request, records its cost, and refuses with QUOTA_EXCEEDED once the budget is spent', async () => {
    const served: string[] = [];
    let refused: { status: number; body: { error: { code: string } } } | undefined;
    for (let i = 0; i < 20 && !refused; i++) {
      const r = await post('buy the dip');
      if (r.status === 200) served.push(r.body.id as string);
      else refused = r;
    }
    expect(refused?.body.error.code).toBe('QUOTA_EXCEEDED');
    const { records } = await queryAudit(auditDir, { limit: 0, order: 'asc' });
    const ok = records.filter((x) => served.includes(x.requestId));
    expect(ok).toHaveLength(served.length);
    let spent = 0;
    for (const rec of ok) {
      // µ$ = prompt · 10,000 + completion · 100,000 (USD per million tokens = µ$ per token).
      expect(rec.cost).toBe(rec.tokens.prompt * 10_000 + rec.tokens.completion * 100_000);
      expect(rec.cost).toBeGreaterThan(0);
      spent += rec.cost;
    }
    // Admitted while spend was under $1; the last one took it to or past $1.
    expect(spent - ok.at(-1)!.cost).toBeLessThan(1_000_000);
    expect(spent).toBeGreaterThanOrEqual(1_000_000);
  });
});
