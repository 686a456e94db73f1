/** Security by default: loopback unless auth is configured; secrets never reach the log. */
import { describe, expect, it } from 'vitest';
import { startColo } from '../../src/app/colo';
import { parseConfig } from '../../src/config';
import { createLogger } from '../../src/core/log';

describe('security defaults', () => {
  it('refuses to listen beyond loopback without auth, naming server.host', async () => {
    const err = await startColo(
      parseConfig({ server: { host: '0.0.0.0', port: 0 } }),
      createLogger('error'),
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PERMISSION_DENIED', field: 'server.host' });
  });

  it('masks API keys and provider keys in log lines and fields', () => {
    const lines: string[] = [];
    const log = createLogger('info', (l) => lines.push(l));
    log.info('upstream said: invalid key sk-live-abcdefgh12345678', {
      authorization: 'Bearer colo_abcdefghijklmnop',
      apiKey: 'sk-ant-secret-000000000',
      note: 'client used colo_zzzzzzzzzzzzzzzz',
      keyId: 'colo_abc',
    });
    const out = lines.join('\n');
    expect(out).not.toContain('sk-live-abcdefgh12345678');
    expect(out).not.toContain('colo_abcdefghijklmnop');
    expect(out).not.toContain('sk-ant-secret');
    expect(out).not.toContain('colo_zzzzzzzzzzzzzzzz');
    expect(out).toContain('"keyId":"colo_abc"');
  });
});
