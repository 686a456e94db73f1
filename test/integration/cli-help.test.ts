/**
 * Issue 10 item 16: `colo --help` and each sub-command's `--help` print usage and exit
 * 0 (they crashed: `--help` fell through to `serve`'s strict flag parser). Runs the
 * built CLI (dist/cli.js, `npm run build`), as an operator would.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');
const colo = (...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env } });

describe('colo --help', () => {
  it('prints the command list for --help, -h and help', () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = colo(...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^colo — /);
      expect(r.stdout).toMatch(/commands:[\s\S]*serve[\s\S]*pull SPEC[\s\S]*train-classifier/);
      expect(r.stderr).toBe('');
    }
  });

  it("prints each sub-command's usage for `colo CMD --help` and `colo help CMD`, doing nothing else", () => {
    const cases: [string, RegExp][] = [
      ['serve', /^usage: colo serve [\s\S]*--port PORT/],
      ['models', /^usage: colo models [\s\S]*--config FILE/],
      ['pull', /^usage: colo pull SPEC[\s\S]*--offline[\s\S]*--base-url URL[\s\S]*--sha256 HEX/],
      ['audit', /^usage: colo audit [\s\S]*--status ok\|error/],
      ['train-classifier', /^usage: colo train-classifier --train CSV/],
      ['replay', /^usage: colo replay --news tape\.jsonl/],
    ];
    for (const [cmd, re] of cases) {
      for (const args of [
        [cmd, '--help'],
        [cmd, '-h'],
        ['help', cmd],
      ]) {
        const r = colo(...args);
        expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
        expect(r.stdout).toMatch(re);
      }
    }
    // `--help` wins wherever it is, and `pull --help` never tries to pull "--help".
    const r = colo('pull', 'stories260K', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: colo pull/);
  });

  it('answers an unknown command with the list and exit code 2', () => {
    const r = colo('help', 'nope');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command "nope"/);
  });
});
