/**
 * What an idle sequence keeps (src/engine/sequences.ts), on the real model in this
 * thread: after a generation its sequence holds the prompt only (all but its last token),
 * also when it ends while others decode; the warm-up leaves every sequence empty; and a
 * request that finds every sequence busy or being trimmed waits for the next one back.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LlamaContextSequence } from 'node-llama-cpp';
import { loadLocalModel, type LoadedModel } from '../../src/engine/load';
import { generate } from '../../src/engine/generate';
import type { GenerateTask, WorkerPortMessage } from '../../src/engine/messages';
import type { RequestPort } from '../../src/engine/lane';
import { tinyWorkerInit } from '../helpers/models';

let m: LoadedModel;
const PROMPT = 'Once upon a time';

beforeAll(async () => {
  m = await loadLocalModel(tinyWorkerInit({ warmupPrompt: PROMPT, warmupTokens: 8 }));
});

afterAll(async () => {
  await m?.context.dispose();
  await m?.model.dispose();
});

let id = 0;
/** Runs one generation to its final message; resolves with the messages. */
async function run(maxTokens: number, prompt = PROMPT): Promise<WorkerPortMessage[]> {
  const got: WorkerPortMessage[] = [];
  const port: RequestPort = { cancelReason: undefined, post: (msg) => void got.push(msg) };
  const task: GenerateTask = {
    kind: 'generate',
    id: id++,
    prompt,
    sampling: { maxTokens, temperature: 0, topP: 1, stop: [] },
    priority: 128,
  };
  await generate(m, task, port);
  return got;
}

/** Every sequence of the context, free or not (the pool hands them out and back). */
function allSequences(): LlamaContextSequence[] {
  const taken: LlamaContextSequence[] = [];
  for (let s = m.sequences.acquire([]); s; s = m.sequences.acquire([])) taken.push(s);
  for (const s of taken) void m.sequences.release(s, Number.POSITIVE_INFINITY);
  return taken;
}

/** Every sequence given back: trims run after the final message, so wait for them, not for a time. */
const allReturned = () => vi.waitFor(() => expect(m.sequences.available).toBe(4), { timeout: 10_000 });
/** A pause in which a request that could run would have started (only to check one that cannot). */
const pause = () => new Promise((r) => setTimeout(r, 20));

describe('sequence pool (idle KV cache)', () => {
  it('the KV cache holds contextSize cells per sequence, not contextSize × sequences per sequence', () => {
    // node-llama-cpp multiplies its contextSize by the sequences itself; passing
    // contextSize × sequences allocated 4 × 4 × 256 cells here (8× the memory at 8 sequences).
    expect(m.context.contextSize).toBe(256);
    expect(m.context.getAllocatedContextSize()).toBeLessThanOrEqual(2 * 4 * 256);
    expect(m.info.contextSize).toBe(256);
  });

  it('the warm-up leaves every sequence empty', () => {
    const seqs = allSequences();
    expect(seqs).toHaveLength(4);
    for (const s of seqs) expect(s.nextTokenIndex).toBe(0);
  });

  it("after a generation, its sequence holds the prompt's tokens only (all but the last)", async () => {
    const msgs = await run(24);
    const done = msgs.at(-1) as Extract<WorkerPortMessage, { type: 'done' }>;
    expect(done.type).toBe('done');
    expect(done.completionTokens).toBe(24);
    await allReturned();
    const held = allSequences()
      .map((s) => s.nextTokenIndex)
      .filter((n) => n > 0);
    expect(held).toEqual([done.promptTokens - 1]);
  });

  it('after concurrent generations (trimmed while others still decode), each sequence used holds its prompt only', async () => {
    const prompts = [PROMPT, 'The little dog', 'One day, Lily'];
    const runs = await Promise.all(prompts.map((p, i) => run(8 + 6 * i, p)));
    await allReturned();
    const want = runs.map((msgs) => (msgs.at(-1) as { promptTokens: number }).promptTokens - 1).sort();
    const held = allSequences()
      .map((s) => s.nextTokenIndex)
      .filter((n) => n > 0)
      .sort();
    expect(held).toEqual(want);
  });

  it('a request that finds no free sequence waits for the next one given back, then runs', async () => {
    const taken: LlamaContextSequence[] = [];
    for (let s = m.sequences.acquire([]); s; s = m.sequences.acquire([])) taken.push(s);
    expect(m.sequences.available).toBe(0);
    let finished = false;
    const pending = run(4).then((msgs) => {
      finished = true;
      return msgs;
    });
    await pause();
    expect(finished).toBe(false);
    await m.sequences.release(taken.pop()!, 0);
    const msgs = await pending;
    expect(msgs.at(-1)).toMatchObject({ type: 'done', completionTokens: 4 });
    for (const s of taken) await m.sequences.release(s, 0);
  });
});
