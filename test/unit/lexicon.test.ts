import { describe, expect, it } from 'vitest';
import { applyTemperature, expectedCalibrationError, fitTemperature } from '../../src/classifier/calibrate';
import type { Classification } from '../../src/classifier/classifier';
import { Featurizer, featurizerSpecSchema } from '../../src/classifier/featurize';
import { Lexicon } from '../../src/classifier/lexicon';
import { applyLexiconPrior } from '../../src/classifier/lexiconPrior';
import { parseFigure } from '../../src/classifier/lexiconScan';
import { type LinearModel, predictProbs } from '../../src/classifier/linear';
import { classificationToSignal } from '../../src/classifier/signal';

const lex = new Lexicon();
const read = (t: string): string => lex.read(t).tokens.join(' ');
const net = (t: string): number => {
  const r = lex.read(t);
  return Math.sign(r.positive - r.negative);
};

describe('lexicon: movement x metric polarity', () => {
  it('reads a movement of a good metric by its direction', () => {
    expect(net('Quarterly revenue rose 7 % to EUR 310 million.')).toBe(1);
    expect(net('Net sales decreased by 12 % as volumes declined.')).toBe(-1);
  });

  it('flips a movement of a bad metric (loss, costs, debt)', () => {
    expect(read('The operating loss widened.')).toBe('<lex-> <lexnet->');
    expect(read('The operating loss narrowed.')).toBe('<lex+> <lexnet+>');
    expect(net('Costs decreased by 8 % thanks to the efficiency programme.')).toBe(1);
    expect(net('Net debt increased to EUR 1.9 billion.')).toBe(-1);
  });

  it('finds the metric after a transitive verb', () => {
    expect(net('The company cut its dividend by half.')).toBe(-1);
    expect(net('The company reduced its net loss by more than half.')).toBe(1);
  });

  it('carries the metric into "up from" / "down from" clauses', () => {
    expect(net('Net debt fell to USD 420 million, down from USD 615 million.')).toBe(1);
    expect(net('Operating profit improved to GBP 22 million, up from GBP 17.5 million.')).toBe(1);
  });

  it('does not read "up to" as a movement', () => {
    expect(read('The company will buy back up to 5 % of its own shares.')).toBe('<lex0>');
  });
});

describe('lexicon: negation', () => {
  it("flips a polar word after not / no / never / n't", () => {
    expect(net('The company did not meet its financial targets.')).toBe(-1);
    expect(net('The company met its financial targets.')).toBe(1);
    expect(net('The company no longer expects a loss for the full year.')).toBe(1);
    expect(net('The company said it sees no signs of weakening demand.')).toBe(1);
    expect(net("The company didn't raise its guidance.")).toBe(-1);
  });

  it('does not reach across a clause break', () => {
    expect(net('Not surprisingly, revenue rose.')).toBe(1);
  });
});

describe('lexicon: comparisons of figures', () => {
  it('compares "A, compared to B" with no movement word', () => {
    expect(net('Operating profit was EUR 5.3 mn, compared to EUR 7.1 mn in 2023.')).toBe(-1);
    expect(net('Operating profit was EUR 7.1 mn, compared to EUR 5.3 mn in 2023.')).toBe(1);
  });

  it('compares "A (B)" and applies magnitudes', () => {
    expect(net('Profit for the period totalled EUR 27.5 million (EUR 19.2 million).')).toBe(1);
    expect(net('The order backlog was EUR 780 million (EUR 1.05 billion).')).toBe(-1);
  });

  it('compares "from B to A" and inverts for a bad metric', () => {
    expect(net('The loss per share went from EUR 0.19 to EUR 0.04.')).toBe(1);
  });

  it('ignores dates and years', () => {
    expect(read('The report covers the period from 1 January to 31 March 2025.')).toBe('<lex0>');
    expect(read('The loan runs from 2024 to 2029.')).toBe('<lex0>');
  });

  it('parses thousands separators and decimal commas', () => {
    expect(parseFigure('1,840')).toBe(1840);
    expect(parseFigure('9,8')).toBe(9.8);
    expect(parseFigure('1,234.5')).toBe(1234.5);
  });
});

describe('lexicon: summary tokens', () => {
  it('marks flat statements, mixed sentences and sentences with nothing polar', () => {
    expect(read('Revenue was flat at USD 1.12 billion.')).toBe('<lexflat> <lex0>');
    expect(read('Revenue rose 3 %, but operating profit fell 17 %.')).toBe('<lex+> <lex-> <lexmix>');
    expect(read('The annual general meeting will be held on 12 May.')).toBe('<lex0>');
  });
});

describe('Featurizer with the lexicon', () => {
  it('leaves a featurizer.json written before the lexicon unchanged (lexicon off by default)', () => {
    const v1 = featurizerSpecSchema.parse(JSON.parse('{"version":1,"dim":4096}'));
    expect(v1.lexicon).toBe(false);
    const off = new Featurizer({ dim: 4096 }).featurize('Revenue rose 7 %');
    const on = new Featurizer({ dim: 4096, lexicon: true }).featurize('Revenue rose 7 %');
    expect(on.indices.length).toBeGreaterThan(off.indices.length);
  });

  it('places the lexicon prior on the polarity tokens only, signed by label direction', () => {
    const f = new Featurizer({ dim: 1 << 12, lexicon: true });
    const model: LinearModel = {
      dim: 1 << 12,
      classes: 3,
      weights: new Float32Array(3 << 12),
      bias: new Float32Array(3),
    };
    applyLexiconPrior(model, f, ['bearish', 'bullish', 'neutral'], 4);
    const pos = predictProbs(model, f.featurize('Sales increased.'));
    const neg = predictProbs(model, f.featurize('Sales decreased.'));
    const none = predictProbs(model, f.featurize('The meeting is on Tuesday.'));
    expect(pos[1]).toBeGreaterThan(pos[0]!);
    expect(neg[0]).toBeGreaterThan(neg[1]!);
    expect(none[0]).toBeCloseTo(none[1]!, 6);
    let nonzero = 0;
    for (const w of model.weights) if (w !== 0) nonzero++;
    expect(nonzero).toBe(4); // two tokens x (bearish, bullish); neutral untouched
  });
});

describe('temperature scaling', () => {
  it('cools an over-confident model (T > 1) and lowers its calibration error', () => {
    // One feature whose weight says 99.9 % bullish, but the label is bullish only 70 % of the time.
    const model: LinearModel = {
      dim: 2,
      classes: 3,
      weights: new Float32Array(6),
      bias: new Float32Array(3),
    };
    model.weights[1] = 7;
    const x = { indices: Int32Array.of(0), values: Float32Array.of(1) };
    const xs = Array.from({ length: 100 }, () => x);
    const ys = Array.from({ length: 100 }, (_, i) => (i < 70 ? 1 : i < 85 ? 0 : 2));
    const before = expectedCalibrationError(
      xs.map((v) => predictProbs(model, v)),
      ys,
    );
    const t = fitTemperature(model, xs, ys);
    expect(t).toBeGreaterThan(1);
    applyTemperature(model, t);
    const p = predictProbs(model, x);
    expect(p[1]).toBeCloseTo(0.7, 2);
    expect(
      expectedCalibrationError(
        xs.map((v) => predictProbs(model, v)),
        ys,
      ),
    ).toBeLessThan(before);
  });
});

describe('cascade marker', () => {
  const c = (confidence: number, escalate: boolean): Classification => ({
    label: 'bullish',
    labelIndex: 1,
    probs: [(1 - confidence) / 2, confidence, (1 - confidence) / 2],
    confidence,
    escalate,
  });

  it('an escalated classification gives an abstaining signal; a confident one does not', () => {
    const labels = ['bearish', 'bullish', 'neutral'];
    expect(classificationToSignal(c(0.5, true), labels, 'x').abstain).toBe(true);
    expect(classificationToSignal(c(0.9, false), labels, 'x').abstain).toBe(false);
    expect(classificationToSignal(c(0.9, false), labels, 'x').direction).toBe(1);
  });
});
