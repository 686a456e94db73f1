/** The main thread's lineup of streamed logprob entries with the text they belong to. */
import { describe, expect, it } from 'vitest';
import { LogprobLineup, trimLogprobs } from '../../src/engine/logprobs';

const e = (token: string) => ({ token, logprob: -1, top: [] });

describe('LogprobLineup', () => {
  it('gives each chunk the entries of the tokens it completes; entries may arrive ahead of the text', () => {
    const l = new LogprobLineup();
    l.add([e('Once'), e(' up')]);
    expect(l.take('Once').map((x) => x.token)).toEqual(['Once']);
    // " up" is held back (say, a possible stop string): no chunk, no entry yet.
    l.add([e('on')]);
    expect(l.take('')).toEqual([]);
    expect(l.take(' upon').map((x) => x.token)).toEqual([' up', 'on']);
    // Several tokens' text in one chunk.
    l.add([e(' a'), e(' time')]);
    expect(l.take(' a time').map((x) => x.token)).toEqual([' a', ' time']);
    expect(l.all).toHaveLength(5);
  });

  it('a stop string: its tokens never reach a chunk or the final list', () => {
    const l = new LogprobLineup();
    l.add([e('The'), e(' end'), e('.')]);
    expect(l.take('The').map((x) => x.token)).toEqual(['The']);
    // The stream stopped before " end." (the stop string): the text is "The".
    expect(trimLogprobs(l.all, 'The'.length).map((x) => x.token)).toEqual(['The']);
  });
});
