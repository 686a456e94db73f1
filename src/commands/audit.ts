/**
 * `colo audit [--dir data/audit] [--since ISO|ms] [--until ...] [--tenant T] [--key-id K]
 *   [--status ok|error] [--model M] [--limit 100] [--order desc|asc] [--json]`
 * Prints matching audit records, newest first: one JSON line each with --json, else a table.
 */
import { parseArgs } from 'node:util';
import type { ColoConfig } from '../config';
import { queryAudit, type AuditRecord } from '../audit';

export async function auditCommand(config: Readonly<ColoConfig>, argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: 'string', default: config.audit.dir },
      since: { type: 'string' },
      until: { type: 'string' },
      tenant: { type: 'string' },
      'key-id': { type: 'string' },
      status: { type: 'string' },
      model: { type: 'string' },
      limit: { type: 'string', default: '100' },
      order: { type: 'string', default: 'desc' },
      json: { type: 'boolean', default: false },
    },
  });
  const r = await queryAudit(values.dir!, {
    since: values.since,
    until: values.until,
    tenant: values.tenant,
    keyId: values['key-id'],
    status: values.status as AuditRecord['status'] | undefined,
    model: values.model,
    limit: Number(values.limit),
    order: values.order === 'asc' ? 'asc' : 'desc',
  });
  for (const rec of r.records) {
    if (values.json) process.stdout.write(JSON.stringify(rec) + '\n');
    else process.stdout.write(formatRow(rec) + '\n');
  }
  process.stderr.write(
    `${r.records.length} records from ${r.segments} segments${r.corrupt ? `, ${r.corrupt} corrupt lines skipped` : ''}\n`,
  );
  return 0;
}

function formatRow(rec: AuditRecord): string {
  const r = rec as unknown as Record<string, unknown>;
  const pick = (k: string) =>
    r[k] === undefined ? '-' : typeof r[k] === 'object' ? JSON.stringify(r[k]) : String(r[k]);
  return [
    'ts',
    'tenant',
    'keyId',
    'requestId',
    'status',
    'errorCode',
    'model',
    'route',
    'latencyUs',
    'tokens',
  ]
    .map(pick)
    .join('  ');
}
