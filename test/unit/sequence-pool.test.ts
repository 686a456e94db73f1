/**
 * Which free sequence a request gets (src/engine/sequences.ts): the longest useful
 * cached prefix, then one whose cache is cheap to lose, then the lowest id, so the ids
 * of concurrent streams stay adjacent.
 * Stand-in sequences: the pool reads only `_sequenceId` (node-llama-cpp's internal id)
 * and `contextTokens` to choose.
 */
import { describe, expect, it } from 'vitest';
import type { LlamaContext, Token } from 'node-llama-cpp';
import { KEEP_MIN, MIN_REUSE, SequencePool } from '../../src/engine/sequences';
import { BatchGate } from '../../src/engine/batching';

interface FakeSeq {
  _sequenceId: number;
  contextTokens: Token[];
  nextTokenIndex: number;
}

function pool(cached: number[][], ids?: number[]): { pool: SequencePool; seqs: FakeSeq[] } {
  const seqs: FakeSeq[] = cached.map((c, i) => ({
    _sequenceId: ids?.[i] ?? i,
    contextTokens: c as Token[],
    nextTokenIndex: c.length,
  }));
  let next = 0;
  const context = {
    get sequencesLeft() {
      return seqs.length - next;
    },
    getSequence: () => seqs[next++],
  } as unknown as LlamaContext;
  return { pool: new SequencePool(context, new BatchGate()), seqs };
}

const tokens = (n: number, from = 1) => Array.from({ length: n }, (_, i) => (from + i) as Token);
const idOf = (s: unknown) => (s as FakeSeq)._sequenceId;

describe('SequencePool.acquire', () => {
  it('takes the lowest free id among empty sequences, whatever order they came back in', async () => {
    const { pool: p, seqs } = pool([[], [], [], []]);
    const a = p.acquire(tokens(4))!;
    const b = p.acquire(tokens(4))!;
    const c = p.acquire(tokens(4))!;
    expect([a, b, c].map(idOf)).toEqual([0, 1, 2]);
    // 0 and 2 end, 1 runs on: a new stream takes 0 (beside 1), not 2 (released last).
    await p.release(c, 0);
    await p.release(a, 0);
    expect(idOf(p.acquire(tokens(4)))).toBe(0);
    expect(seqs).toHaveLength(4);
  });

  it('prefers a sequence holding a long enough prefix of the prompt, out of id order', () => {
    const prompt = tokens(40);
    const { pool: p } = pool([[], [], tokens(MIN_REUSE + 2), tokens(30)]);
    expect(idOf(p.acquire(prompt))).toBe(3);
    expect(idOf(p.acquire(prompt))).toBe(2);
  });

  it('does not count a short shared prefix (a BOS) that would need a KV edit', () => {
    // Sequence 2 shares the first token only and holds more: taking it saves one token
    // and costs an edit; the empty sequence 0 is taken instead.
    const { pool: p } = pool([[], [], [1, 99, 98]]);
    expect(idOf(p.acquire(tokens(10)))).toBe(0);
  });

  it('counts a short prefix when the sequence holds nothing else (the same short prompt again)', () => {
    const prompt = tokens(5);
    const { pool: p } = pool([[], prompt.slice(0, 4)]);
    expect(idOf(p.acquire(prompt))).toBe(1);
  });

  it('keeps a long cache from requests that reuse none of it while another sequence is free', async () => {
    const template = tokens(KEEP_MIN + 100, 500);
    const { pool: p } = pool([template, [], tokens(5, 900)]);
    // Unrelated prompts take 1 (empty) and 2 (a short prompt, cheap to redo), not 0.
    const a = p.acquire(tokens(10))!;
    const b = p.acquire(tokens(10))!;
    expect([a, b].map(idOf)).toEqual([1, 2]);
    // The template's request, coming back, still finds it.
    await p.release(a, 0);
    expect(idOf(p.acquire([...template, 7 as Token]))).toBe(0);
    // With only long caches free, an unrelated request takes the lowest id.
    const { pool: q } = pool([tokens(KEEP_MIN, 500), tokens(KEEP_MIN, 900)]);
    expect(idOf(q.acquire(tokens(10)))).toBe(0);
  });

  it('with only long caches free, evicts the least recently used, not the lowest id', async () => {
    const template = tokens(KEEP_MIN + 100, 500);
    const { pool: p, seqs } = pool([[], [], []]);
    // The template on 0, two one-off documents on 1 and 2, then the template again.
    const [a, b, c] = [p.acquire(template)!, p.acquire(tokens(10))!, p.acquire(tokens(10))!];
    seqs[0]!.contextTokens = template;
    seqs[1]!.contextTokens = tokens(KEEP_MIN + 50, 2000);
    seqs[2]!.contextTokens = tokens(KEEP_MIN + 50, 3000);
    await p.release(b, KEEP_MIN + 50);
    await p.release(c, KEEP_MIN + 50);
    await p.release(a, KEEP_MIN + 100);
    expect(idOf(p.acquire([...template, 7 as Token]))).toBe(0);
    await p.release(seqs[0] as never, KEEP_MIN + 100);
    // A new document: the oldest document's sequence (1) goes, the template (0) stays.
    expect(idOf(p.acquire(tokens(KEEP_MIN + 50, 9000)))).toBe(1);
  });

  it('lets short caches go by id: a lone stream of varied short prompts keeps one sequence', () => {
    const { pool: p } = pool([tokens(KEEP_MIN - 1, 500), [], []]);
    expect(idOf(p.acquire(tokens(10)))).toBe(0);
  });

  it('goes by the ids llama.cpp knows, not the order the context handed the sequences out', () => {
    const { pool: p } = pool([[], [], []], [5, 3, 1]);
    expect(idOf(p.acquire([]))).toBe(1);
    expect(idOf(p.acquire([]))).toBe(3);
  });

  it('returns undefined when every sequence is taken', () => {
    const { pool: p } = pool([[]]);
    expect(p.acquire([])).toBeDefined();
    expect(p.acquire([])).toBeUndefined();
  });
});
