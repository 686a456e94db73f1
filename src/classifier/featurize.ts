/**
 * Colo's hashed text features: tokens → unigrams + bigrams (+ optional char n-grams),
 * hashed into `dim` buckets with signed hashing, sublinear tf (1 + ln tf), L2-normalised.
 * Output is sparse: sorted unique bucket indices and their values.
 *
 * The parameters travel with a model as featurizer.json; a model is only valid with the
 * exact featurizer it was trained with, so `FeaturizerSpec` is versioned.
 */
import { z } from 'zod';
import { HASH_ALGORITHM, combine, hashString } from './hash';
import { Lexicon } from './lexicon';
import { stem, tokenize } from './tokenize';

export const featurizerSpecSchema = z.strictObject({
  /** Format version of this file. Always 1. */
  version: z.literal(1).default(1),
  /** Hash algorithm; see hash.ts. */
  hash: z.literal(HASH_ALGORITHM).default(HASH_ALGORITHM),
  /** Buckets; a power of two. Default 2^18. */
  dim: z
    .number()
    .int()
    .min(2)
    .max(1 << 24)
    .refine((d) => (d & (d - 1)) === 0, 'dim must be a power of two')
    .default(1 << 18),
  /** Hash seed. Default 0. */
  seed: z.number().int().min(0).max(0xffffffff).default(0),
  /** Emit word bigrams (with sentence-boundary markers). Default true. */
  bigrams: z.boolean().default(true),
  /**
   * Add a unigram for each word's light stem (suffixes s/es/ed/ing/ly stripped) and build
   * bigrams from stems, so "upgraded"/"upgrades" share evidence. Default true.
   */
  stem: z.boolean().default(true),
  /** Character n-gram sizes taken inside each word (padded with < >); empty disables. Default [4]: +0.6 pt accuracy, +0.8 pt macro-F1 on the valid split. */
  charNgrams: z.array(z.number().int().min(2).max(8)).default([4]),
  /** Weight of a char n-gram relative to a word feature. Default 0.3. */
  charWeight: z.number().positive().default(0.3),
  /**
   * Add the directional financial lexicon's polarity tokens (lexicon.ts: `<lex+>`,
   * `<lex->`, ...), hashed like words. Default false, so featurizer.json files written
   * before the lexicon existed keep their exact features; `colo train-classifier` turns it on.
   */
  lexicon: z.boolean().default(false),
  /** Weight of a lexicon token relative to a word feature. Default 1. */
  lexiconWeight: z.number().positive().default(1),
  /** Use 1 + ln(tf) instead of tf. Default true. */
  sublinearTf: z.boolean().default(true),
});
export type FeaturizerSpec = z.infer<typeof featurizerSpecSchema>;

export interface SparseVector {
  /** Sorted, unique bucket indices. */
  indices: Int32Array;
  values: Float32Array;
}

// Namespace seeds keep unigrams, bigrams and char n-grams from colliding on purpose.
const NS_UNI = 0x1;
const NS_BI = 0x2;
const NS_CHAR = 0x3;
const NS_STEM = 0x4;
const NS_LEX = 0x5;
const BOS = '<s>';
/** Slots per sort key; a headline with more features than this is cut (see grow()). */
const SLOT_RANGE = 1 << 20;
const EOS = '</s>';

export class Featurizer {
  readonly spec: Readonly<FeaturizerSpec>;
  private readonly mask: number;
  private readonly seedUni: number;
  private readonly seedBi: number;
  private readonly seedChar: number;
  private readonly seedStem: number;
  private readonly seedLex: number;
  private readonly lexicon: Lexicon | null;
  private readonly lexTokens: string[] = [];
  private readonly bos: number;
  private readonly eos: number;
  // Scratch reused across calls: one headline never needs more than a few hundred slots.
  private keys = new Int32Array(1024);
  private weights = new Float32Array(1024);
  private order = new Float64Array(1024);
  private readonly tokens: string[] = [];

  constructor(spec: Partial<FeaturizerSpec> = {}) {
    this.spec = Object.freeze(featurizerSpecSchema.parse(spec));
    this.mask = this.spec.dim - 1;
    this.seedUni = (this.spec.seed ^ Math.imul(NS_UNI, 0x9e3779b1)) >>> 0;
    this.seedBi = (this.spec.seed ^ Math.imul(NS_BI, 0x9e3779b1)) >>> 0;
    this.seedChar = (this.spec.seed ^ Math.imul(NS_CHAR, 0x9e3779b1)) >>> 0;
    this.seedStem = (this.spec.seed ^ Math.imul(NS_STEM, 0x9e3779b1)) >>> 0;
    this.seedLex = (this.spec.seed ^ Math.imul(NS_LEX, 0x9e3779b1)) >>> 0;
    this.lexicon = this.spec.lexicon ? new Lexicon() : null;
    this.bos = hashString(BOS, this.seedBi);
    this.eos = hashString(EOS, this.seedBi);
  }

  /** Features of one text. Allocates only the two result arrays. */
  featurize(text: string): SparseVector {
    const toks = tokenize(text, this.tokens);
    let n = 0;
    const push = (h: number, w: number): void => {
      if (n === this.keys.length) this.grow();
      // Key = bucket * 2 + signbit, so one typed-array sort groups a bucket's hits.
      this.keys[n] = ((h & this.mask) << 1) | (h >>> 31);
      this.weights[n] = w;
      n++;
    };
    let prev = this.bos;
    for (let t = 0; t < toks.length; t++) {
      const tok = toks[t] as string;
      push(hashString(tok, this.seedUni), 1);
      const st = this.spec.stem ? stem(tok) : tok;
      if (st !== tok) push(hashString(st, this.seedStem), 1);
      if (this.spec.bigrams) {
        const hb = hashString(st, this.seedBi);
        push(combine(prev, hb), 1);
        prev = hb;
      }
      for (const size of this.spec.charNgrams) this.charGrams(tok, size, push);
    }
    if (this.spec.bigrams && toks.length > 0) push(combine(prev, this.eos), 1);
    if (this.lexicon) {
      const w = this.spec.lexiconWeight;
      for (const lt of this.lexicon.read(text, this.lexTokens).tokens) push(hashString(lt, this.seedLex), w);
    }
    return this.reduce(n);
  }

  /** The bucket and sign a lexicon token is hashed to (for the lexicon prior, train.ts). */
  lexiconSlot(token: string): { index: number; sign: 1 | -1 } {
    const h = hashString(token, this.seedLex);
    return { index: h & this.mask, sign: h >>> 31 ? -1 : 1 };
  }

  private charGrams(tok: string, size: number, push: (h: number, w: number) => void): void {
    if (tok.charCodeAt(0) === 60 /* '<' class token */) return;
    const padded = `<${tok}>`;
    const w = this.spec.charWeight;
    const seed = (this.seedChar + size) >>> 0;
    for (let i = 0; i + size <= padded.length; i++) push(hashString(padded, seed, i, i + size), w);
  }

  /** Sorts keys, sums signed weights per bucket, applies tf transform and L2 norm. */
  private reduce(n: number): SparseVector {
    if (this.order.length < n) this.order = new Float64Array(this.keys.length);
    // Pack (key, slot) into one double so a native numeric sort (no comparator) groups buckets.
    const order = this.order;
    const keys = this.keys;
    for (let i = 0; i < n; i++) order[i] = (keys[i] as number) * SLOT_RANGE + i;
    const sorted = order.subarray(0, n).sort();
    const idx = new Int32Array(n);
    const val = new Float32Array(n);
    let m = 0;
    let i = 0;
    while (i < n) {
      const bucket = Math.floor((sorted[i] as number) / SLOT_RANGE) >>> 1;
      let acc = 0;
      for (; i < n; i++) {
        const packed = sorted[i] as number;
        const key = Math.floor(packed / SLOT_RANGE);
        if (key >>> 1 !== bucket) break;
        const w = this.weights[packed - key * SLOT_RANGE] as number;
        acc += key & 1 ? -w : w;
      }
      if (acc === 0) continue;
      const mag = Math.abs(acc);
      const v = this.spec.sublinearTf && mag > 1 ? 1 + Math.log(mag) : mag;
      idx[m] = bucket;
      val[m] = acc < 0 ? -v : v;
      m++;
    }
    let norm = 0;
    for (let j = 0; j < m; j++) norm += (val[j] as number) * (val[j] as number);
    if (norm > 0) {
      const inv = 1 / Math.sqrt(norm);
      for (let j = 0; j < m; j++) val[j] = (val[j] as number) * inv;
    }
    return { indices: idx.slice(0, m), values: val.slice(0, m) };
  }

  private grow(): void {
    if (this.keys.length >= SLOT_RANGE) throw new RangeError('text has too many features');
    const k = new Int32Array(this.keys.length * 2);
    k.set(this.keys);
    this.keys = k;
    const w = new Float32Array(this.weights.length * 2);
    w.set(this.weights);
    this.weights = w;
  }
}
