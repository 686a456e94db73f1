import { describe, expect, it } from 'vitest';
import {
  argmax,
  commonPrefix,
  continuationText,
  continuationTokens,
  nextTokensByPrefix,
  softmax,
  trieOrder,
} from '../../src/engine/choices';

describe('choice scoring helpers', () => {
  it('joins with one space only when neither side has whitespace at the join', () => {
    expect(continuationText('Direction:', 'up')).toBe(' up');
    expect(continuationText('Direction: ', 'up')).toBe('up');
    expect(continuationText('Direction:', ' up')).toBe(' up');
    expect(continuationText('Direction:\n', 'up')).toBe('up');
  });

  it('takes the whole text tokens past the prompt, else the continuation alone', () => {
    expect(continuationTokens([1, 5, 6], [1, 5, 6, 9, 10], () => [99])).toEqual([9, 10]);
    // The tokenizer merged across the join: the prompt's tokens are not a prefix.
    expect(continuationTokens([1, 5, 6], [1, 5, 7, 10], () => [99])).toEqual([99]);
    expect(continuationTokens([1, 5, 6], [1, 5, 6], () => [99])).toEqual([99]);
  });

  it('orders choices so shared prefixes are adjacent, and lists next tokens per prefix', () => {
    const conts = [[3, 1], [2], [3, 0, 4], [3, 0]];
    expect(trieOrder(conts)).toEqual([1, 3, 2, 0]);
    const next = nextTokensByPrefix(conts);
    expect(next.get('')).toEqual([3, 2]);
    expect(next.get('3')!.sort()).toEqual([0, 1]);
    expect(next.get('3,0')).toEqual([4]);
    // Root plus the two evaluated nodes ("3" and "3,0").
    expect(next.size).toBe(3);
    expect(commonPrefix([3, 0, 4], [3, 0])).toBe(2);
  });

  it('softmax sums to 1, is stable for large magnitudes, and argmax picks the first maximum', () => {
    const p = softmax([-1000, -1001, -1002]);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(p[0]! / p[1]!).toBeCloseTo(Math.E, 9);
    expect(argmax([0.2, 0.5, 0.5])).toBe(1);
  });
});
