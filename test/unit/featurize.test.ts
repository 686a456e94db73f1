import { describe, expect, it } from 'vitest';
import { Featurizer } from '../../src/classifier/featurize';
import { HASH_ALGORITHM, fmix32, hashString } from '../../src/classifier/hash';
import { stem, tokenize } from '../../src/classifier/tokenize';

describe('tokenize', () => {
  it('drops URLs, keeps cashtags, and normalises numbers by sign and kind', () => {
    expect(tokenize('$AAPL up +5.2% to $190.5, EPS -3%; 1,200 jobs cut https://t.co/xyz www.x.com')).toEqual([
      '$aapl',
      'up',
      '<pct+>',
      'to',
      '<money>',
      'eps',
      '<pct->',
      '<num>',
      'jobs',
      'cut',
    ]);
  });

  it('absorbs magnitude suffixes but not following words', () => {
    expect(tokenize('raises $2.5bn in 300m deal, 3 banks')).toEqual([
      'raises',
      '<money>',
      'in',
      '<num>',
      'deal',
      '<num>',
      'banks',
    ]);
  });

  it('keeps inner apostrophes and drops quoting ones', () => {
    expect(tokenize("Musk's 'overreaction'")).toEqual(["musk's", 'overreaction']);
  });

  it('stems common suffixes lightly and leaves class tokens alone', () => {
    expect(stem('upgraded')).toBe('upgrad');
    expect(stem('losses')).toBe('loss');
    expect(stem('rallies')).toBe('rally');
    expect(stem('business')).toBe('business');
    expect(stem('<pct+>')).toBe('<pct+>');
  });
});

describe('hash', () => {
  // Pinned values: a change here silently invalidates every trained model.
  it(`${HASH_ALGORITHM} is stable`, () => {
    expect(hashString('', 0)).toBe(fmix32(0x811c9dc5));
    expect(hashString('bullish', 0)).toBe(hashString('xbullishx', 0, 1, 8));
    expect(hashString('bullish', 0)).not.toBe(hashString('bullish', 1));
  });
});

describe('Featurizer', () => {
  const f = new Featurizer({ dim: 1 << 12 });

  it('returns sorted unique indices with an L2 norm of 1', () => {
    const x = f.featurize('Tesla shares jump 8% after deliveries beat estimates');
    expect(x.indices.length).toBeGreaterThan(10);
    for (let i = 1; i < x.indices.length; i++) expect(x.indices[i]!).toBeGreaterThan(x.indices[i - 1]!);
    for (const i of x.indices) expect(i).toBeLessThan(1 << 12);
    const norm = x.values.reduce((s, v) => s + v * v, 0);
    expect(norm).toBeCloseTo(1, 5);
  });

  it('is deterministic and case-insensitive', () => {
    const a = f.featurize('Fed CUTS rates');
    const b = f.featurize('fed cuts rates');
    expect(Array.from(a.indices)).toEqual(Array.from(b.indices));
    expect(Array.from(a.values)).toEqual(Array.from(b.values));
  });

  it('gives word order weight through bigrams', () => {
    const a = f.featurize('beats estimates');
    const b = f.featurize('estimates beats');
    expect(Array.from(a.indices)).not.toEqual(Array.from(b.indices));
    const uni = new Featurizer({ dim: 1 << 12, bigrams: false, charNgrams: [] });
    expect(Array.from(uni.featurize('beats estimates').indices)).toEqual(
      Array.from(uni.featurize('estimates beats').indices),
    );
  });

  it('gives an empty vector for text with no tokens', () => {
    const x = f.featurize('https://t.co/abc');
    expect(x.indices.length).toBe(0);
  });

  it('rejects a dim that is not a power of two', () => {
    expect(() => new Featurizer({ dim: 1000 })).toThrow(/power of two/);
  });
});
