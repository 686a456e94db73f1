import { describe, expect, it } from 'vitest';
import { ColoError } from '../../src/core/errors';
import { MicroBatcher } from '../../src/classifier/batcher';
import { classifierConfigSchema } from '../../src/classifier/config';
import { parseCsv, parseLabelledCsv } from '../../src/classifier/csv';
import { evaluate, formatConfusion } from '../../src/classifier/metrics';
import { validateText } from '../../src/classifier/text';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as ColoError).code;
  }
  return 'no error';
};

describe('csv', () => {
  it('parses quoted fields with commas, doubled quotes and newlines', () => {
    const rows = parseCsv('text,label\n"a, b ""c""",1\r\n"multi\nline",2\nplain,0\n');
    expect(rows.map((r) => r.fields)).toEqual([
      ['text', 'label'],
      ['a, b "c"', '1'],
      ['multi\nline', '2'],
      ['plain', '0'],
    ]);
    expect(rows[3]!.line).toBe(5);
  });

  it('rejects labels out of range, naming the line', () => {
    expect(() => parseLabelledCsv('text,label\nok,1\nbad,3\n', 3, 'x.csv')).toThrow(/x\.csv:3/);
  });
});

describe('validateText', () => {
  it('accepts text and UTF-8 bytes', () => {
    expect(validateText('hello', 10)).toBe('hello');
    expect(validateText(Buffer.from('héllo'), 10)).toBe('héllo');
  });

  it('rejects empty, oversize and non-UTF-8 input with INVALID_ARGUMENT', () => {
    expect(codeOf(() => validateText('  ', 10))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => validateText('é'.repeat(6), 10))).toBe('INVALID_ARGUMENT'); // 12 bytes
    expect(codeOf(() => validateText(Buffer.from([0x61, 0xff, 0x62]), 10))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => validateText(42 as unknown as string, 10))).toBe('INVALID_ARGUMENT');
  });
});

describe('metrics', () => {
  it('computes accuracy, macro-F1 and the confusion matrix', () => {
    const m = evaluate([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0], 3);
    expect(m.accuracy).toBeCloseTo(4 / 6);
    expect(m.confusion).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 1],
    ]);
    // class 0: p=1/2 r=1/2 f=1/2; class 1: p=2/3 r=1 f=0.8; class 2: p=1 r=1/2 f=2/3
    expect(m.macroF1).toBeCloseTo((0.5 + 0.8 + 2 / 3) / 3);
    expect(formatConfusion(m, ['a', 'b', 'c'])).toContain('true\\pred');
  });
});

describe('MicroBatcher', () => {
  it('coalesces requests made in one tick into one run and splits rows back', async () => {
    const batches: string[][] = [];
    const b = new MicroBatcher(
      async (texts) => {
        batches.push(texts);
        return Float32Array.from(texts.flatMap((t) => [t.length, 0]));
      },
      2,
      { maxBatch: 8, maxQueue: 100, windowUs: 0, concurrency: 1 },
    );
    const out = await Promise.all(['a', 'bb', 'ccc'].map((t) => b.submit(t)));
    expect(batches).toEqual([['a', 'bb', 'ccc']]);
    expect(out.map((r) => r[0])).toEqual([1, 2, 3]);
  });

  it('queues while a run is in flight, then runs the queue as one batch', async () => {
    const batches: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = new MicroBatcher(
      async (texts) => {
        batches.push(texts);
        if (batches.length === 1) await gate;
        return new Float32Array(texts.length);
      },
      1,
      { maxBatch: 8, maxQueue: 100, windowUs: 0, concurrency: 1 },
    );
    const first = b.submit('first');
    await new Promise((r) => setImmediate(r));
    const rest = ['x', 'y'].map((t) => b.submit(t));
    expect(b.queued).toBe(2);
    release();
    await Promise.all([first, ...rest]);
    expect(batches).toEqual([['first'], ['x', 'y']]);
  });

  it('fails fast with OVERLOADED when the queue is full', async () => {
    const b = new MicroBatcher(() => new Promise<Float32Array>(() => {}), 1, {
      maxBatch: 1,
      maxQueue: 1,
      windowUs: 0,
      concurrency: 1,
    });
    void b.submit('a'); // goes in flight on the next microtask
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    void b.submit('b').catch(() => {}); // waits
    await expect(b.submit('c')).rejects.toMatchObject({ code: 'OVERLOADED' });
    b.close();
  });

  it('passes a run failure to every request of the batch', async () => {
    const b = new MicroBatcher(
      async () => {
        throw new ColoError('INTERNAL', 'boom');
      },
      1,
      { maxBatch: 8, maxQueue: 10, windowUs: 50, concurrency: 1 },
    );
    const rs = await Promise.allSettled([b.submit('a'), b.submit('b')]);
    expect(rs.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});

describe('classifierConfigSchema', () => {
  it('fills defaults and rejects unknown keys', () => {
    const c = classifierConfigSchema.parse({});
    expect(c).toMatchObject({
      mode: 'inline',
      maxBatch: 32,
      maxQueue: 1024,
      maxTextBytes: 4096,
      batchWindowUs: 0,
      models: [],
    });
    expect(() => classifierConfigSchema.parse({ mdoe: 'pool' })).toThrow();
  });
});
