/**
 * Cost of featurizing one headline (tokenize, hash unigrams + bigrams + char 4-grams,
 * sort, sublinear tf, L2): the CPU half of the hashed classifier's signal path.
 *
 *   node bench/lib/run.mjs bench/micro/featurize.bench.ts
 *
 * Needs ../shared/data/twitter-financial-news-sentiment/valid.csv for real headlines.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLabelledCsv } from '../../src/classifier/csv';
import { Featurizer } from '../../src/classifier/featurize';
import { runMicro } from '../lib';

const VALID = join(process.cwd(), '../shared/data/twitter-financial-news-sentiment/valid.csv');
const texts = parseLabelledCsv(readFileSync(VALID, 'utf8'), 3).map((e) => e.text);
const f = new Featurizer();
let i = 0;

await runMicro(
  'featurize',
  [
    {
      name: 'featurize one headline',
      fn: () => f.featurize(texts[i++ % texts.length] as string),
      check: () => {
        const x = f.featurize('Tesla shares jump 8% after deliveries beat estimates');
        const norm = x.values.reduce((s, v) => s + v * v, 0);
        if (Math.abs(norm - 1) > 1e-5) throw new Error(`L2 norm ${norm}`);
        for (let k = 1; k < x.indices.length; k++)
          if (x.indices[k]! <= x.indices[k - 1]!) throw new Error('indices not sorted');
      },
    },
  ],
  {
    meta: {
      headlines: texts.length,
      meanChars: Math.round(texts.reduce((s, t) => s + t.length, 0) / texts.length),
      spec: f.spec,
    },
  },
);
