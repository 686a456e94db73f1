import { describe, expect, it } from 'vitest';
import { StopDetector } from '../../src/engine/stop';

function run(stops: string[], chunks: string[]): { out: string; stopped: boolean; pieces: string[] } {
  const d = new StopDetector(stops);
  const pieces: string[] = [];
  for (const c of chunks) {
    const t = d.push(c);
    if (t) pieces.push(t);
    if (d.stopped) break;
  }
  const rest = d.flush();
  if (rest) pieces.push(rest);
  return { out: pieces.join(''), stopped: d.stopped, pieces };
}

describe('StopDetector', () => {
  it('passes text through untouched without stop strings', () => {
    expect(run([], ['a', 'b'])).toEqual({ out: 'ab', stopped: false, pieces: ['a', 'b'] });
  });
  it('cuts before a stop string split across chunks, never streaming part of it', () => {
    const r = run([' park'], ['in the', ' pa', 'rk. One']);
    expect(r.out).toBe('in the');
    expect(r.stopped).toBe(true);
    expect(r.pieces.join('')).not.toContain(' pa');
  });
  it('releases held text when the would-be stop string diverges', () => {
    const r = run(['s a '], ['wa', 's', ' b', 'ig']);
    expect(r.out).toBe('was big');
    expect(r.stopped).toBe(false);
  });
  it('stops at the earliest of several stop strings', () => {
    expect(run(['Lily', 'girl'], ['a little girl named Lily']).out).toBe('a little ');
  });
  it('flushes a held partial match at the end of generation', () => {
    expect(run(['\n\n'], ['end\n'])).toMatchObject({ out: 'end\n', stopped: false });
  });
});
