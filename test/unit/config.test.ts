import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config';

function errorOf(fn: () => unknown): { message: string; field?: string; code?: string } {
  try {
    fn();
  } catch (e) {
    return e as { message: string; field?: string; code?: string };
  }
  throw new Error('expected an error');
}

describe('config', () => {
  it('defaults to loopback:8080 serving stories260K', () => {
    const c = parseConfig({});
    expect(c.server.host).toBe('127.0.0.1');
    expect(c.server.port).toBe(8080);
    expect(c.engine.models.map((m) => m.name)).toEqual(['stories260K']);
    expect(c.engine.models[0]!.threads).toBe(1);
  });

  it('is frozen after loading', () => {
    const c = parseConfig({});
    expect(Object.isFrozen(c.server)).toBe(true);
    expect(() => ((c.server as { port: number }).port = 1)).toThrow();
  });

  it('rejects an unknown key, naming it and the closest valid key', () => {
    const e = errorOf(() => parseConfig({ server: { prot: 9000 } }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain('"server.prot"');
    expect(e.message).toContain('did you mean "port"');
  });

  it('rejects a bad value, naming the key and the value', () => {
    const e = errorOf(() => parseConfig({ server: { port: 70000 } }));
    expect(e.field).toBe('server.port');
    expect(e.message).toContain('70000');
  });

  it('rejects duplicate model names and aliases', () => {
    const e = errorOf(() =>
      parseConfig({ engine: { models: [{ name: 'a' }, { name: 'b', aliases: ['a'] }] } }),
    );
    expect(e.message).toContain('"a" is used twice');
  });

  it('layers file < env < flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'colo-cfg-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ server: { port: 1000, maxFrameBytes: 4096 } }));
    const c = loadConfig({
      file,
      env: { COLO_PORT: '2000', COLO_GPU: 'cpu' },
      overrides: { 'server.port': '3000' },
    });
    expect(c.server.port).toBe(3000);
    expect(c.server.maxFrameBytes).toBe(4096);
    expect(c.engine.gpu).toBe('cpu');
  });

  it('busy polling: on at 50 ms by default, set or turned off from the environment', () => {
    expect(loadConfig({ env: {} }).server.busyPollMs).toBe(50);
    expect(loadConfig({ env: { COLO_BUSY_POLL_MS: '0' } }).server.busyPollMs).toBe(0);
    expect(loadConfig({ env: { COLO_BUSY_POLL_MS: '5' } }).server.busyPollMs).toBe(5);
    expect(() => loadConfig({ env: { COLO_BUSY_POLL_MS: '-1' } })).toThrow(/busyPollMs/);
  });

  it('warming the request path: off by default, on from the environment', () => {
    expect(loadConfig({ env: {} }).server.warmPath).toBe(false);
    expect(loadConfig({ env: { COLO_WARM_PATH: 'true' } }).server.warmPath).toBe(true);
  });

  it("flash attention: 'auto' by default, true or false, nothing else", () => {
    expect(parseConfig({}).engine.models[0]!.flashAttention).toBe('auto');
    const m = (flashAttention: unknown) =>
      parseConfig({ engine: { models: [{ name: 'a', flashAttention }] } });
    expect(m(false).engine.models[0]!.flashAttention).toBe(false);
    expect(m(true).engine.models[0]!.flashAttention).toBe(true);
    expect(errorOf(() => m('off')).field).toMatch(/flashAttention/);
  });

  it("KV cache type: 'auto' by default, f16 or f32, nothing else", () => {
    expect(parseConfig({}).engine.models[0]!.kvCacheType).toBe('auto');
    const m = (kvCacheType: unknown) => parseConfig({ engine: { models: [{ name: 'a', kvCacheType }] } });
    expect(m('f32').engine.models[0]!.kvCacheType).toBe('f32');
    expect(m('f16').engine.models[0]!.kvCacheType).toBe('f16');
    expect(errorOf(() => m('q4_0')).field).toMatch(/kvCacheType/);
  });

  it('names an unreadable config file', () => {
    const e = errorOf(() => loadConfig({ file: '/nonexistent/colo.json' }));
    expect(e.message).toContain('/nonexistent/colo.json');
  });
});
