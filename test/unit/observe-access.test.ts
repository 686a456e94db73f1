/** Who may read /metrics and the dashboard: the config's choice, safe by default when auth is on. */
import { describe, expect, it } from 'vitest';
import { metricsAccess } from '../../src/app/observability';
import { parseConfig } from '../../src/config';
import { adminKeyOf } from '../../src/server/observe';

const auth = { enabled: true, pepper: 'p'.repeat(16) };

describe('/metrics access', () => {
  it('is open with auth off and needs the admin key with auth on, by default', () => {
    expect(metricsAccess(parseConfig({}))).toBe('open');
    expect(metricsAccess(parseConfig({ auth }))).toBe('admin');
  });

  it('honours an explicit choice; "listener" takes it off the API port', () => {
    expect(metricsAccess(parseConfig({ auth, metrics: { access: 'open' } }))).toBe('open');
    expect(metricsAccess(parseConfig({ metrics: { access: 'admin' } }))).toBe('admin');
    expect(metricsAccess(parseConfig({ auth, metrics: { access: 'listener' } }))).toBe('off');
  });

  it('rejects unknown access modes and over 100 tenant labels, naming the key', () => {
    expect(() => parseConfig({ metrics: { access: 'public' } })).toThrow(/metrics\.access/);
    const tenants = Array.from({ length: 101 }, (_, i) => `t${i}`);
    expect(() => parseConfig({ metrics: { tenants } })).toThrow(/metrics\.tenants/);
  });
});

describe('adminKeyOf', () => {
  it('reads Bearer, x-admin-key, x-api-key and the password of HTTP Basic', () => {
    expect(adminKeyOf({ authorization: 'Bearer k1' })).toBe('k1');
    expect(adminKeyOf({ 'x-admin-key': 'k2' })).toBe('k2');
    expect(adminKeyOf({ 'x-api-key': 'k3' })).toBe('k3');
    const basic = (s: string) => ({ authorization: `Basic ${Buffer.from(s).toString('base64')}` });
    expect(adminKeyOf(basic('admin:k4'))).toBe('k4');
    expect(adminKeyOf(basic('k5:'))).toBe('k5');
    expect(adminKeyOf({})).toBeUndefined();
  });
});
