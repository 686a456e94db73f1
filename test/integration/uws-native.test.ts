/** Regression: the uWebSockets.js package silently falls back to a JS implementation that mangles POST bodies. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

describe('uWebSockets.js native binary', () => {
  it('Colo refuses to start on the JS fallback, with a message naming the cause', () => {
    expect(existsSync(CLI), 'run npm run build first').toBe(true);
    const r = spawnSync(process.execPath, [CLI, 'serve', '--port', '0'], {
      env: {
        ...process.env,
        UWS_USE_FALLBACK: '1',
        COLO_MODEL_DIRS: resolve(import.meta.dirname, '../../../shared/models'),
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('uWebSockets.js native binary did not load');
  });
});
