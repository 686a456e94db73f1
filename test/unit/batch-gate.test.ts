/**
 * BatchGate's rules (src/engine/batching.ts) on a stand-in for the two node-llama-cpp
 * internals it reads: the set of sequences with queued decodes, and `_decodeTokens`,
 * which queues one and asks the dispatch schedule. The real model's batches are counted
 * in test/model/batching.test.ts; here each rule is checked alone, deterministically.
 */
import type { LlamaContext } from 'node-llama-cpp';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BatchGate, GUARD_MS } from '../../src/engine/batching';

/** node-llama-cpp's queue as far as the gate sees it; `drain` plays a batch taking every queued decode. */
function fakeContext(gate: BatchGate, opts: { dispatchesWhenAllQueued?: number } = {}) {
  const ids = new Set<number>();
  let scheduled = false;
  const ctx = {
    dispatched: 0,
    /** node-llama-cpp's running batch loop taking what is queued, without a new dispatch. */
    takeQueue: () => ids.clear(),
    _queuedDecodeSequenceIds: ids,
    _decodeTokens(seq: number) {
      ids.add(seq);
      if (scheduled) return Promise.resolve();
      scheduled = true;
      const dispatch = () => {
        if (!scheduled) return;
        scheduled = false;
        ctx.dispatched++;
        ids.clear();
      };
      // node-llama-cpp's own shortcut: every sequence queued → dispatch at once (and the
      // batch takes the queue before the schedule is asked).
      if (ids.size === opts.dispatchesWhenAllQueued) dispatch();
      gate.schedule(dispatch);
      return Promise.resolve();
    },
  };
  expect(gate.attach(ctx as unknown as LlamaContext)).toBe(true);
  return ctx as typeof ctx & { _decodeTokens(seq: number): Promise<void> };
}

describe('BatchGate', () => {
  // The guard is a timer: the clock is the test's, so a busy machine cannot move it.
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
  afterEach(() => vi.useRealTimers());
  /** Past the guard's deadline. */
  const pastGuard = () => vi.advanceTimersByTime(GUARD_MS * 4);

  it('a lone stream dispatches at once and never waits', () => {
    const gate = new BatchGate();
    const ctx = fakeContext(gate);
    gate.enter();
    gate.sent();
    void ctx._decodeTokens(0);
    expect(ctx.dispatched).toBe(1);
    gate.received();
    expect(gate.ready()).toBeUndefined();
    expect(gate.batches).toBe(1);
  });

  it('holds the batch until every running generation has queued', () => {
    const gate = new BatchGate();
    const ctx = fakeContext(gate);
    gate.enter(2);
    gate.sent();
    void ctx._decodeTokens(0);
    expect(ctx.dispatched).toBe(0);
    gate.sent();
    void ctx._decodeTokens(1);
    expect(ctx.dispatched).toBe(1);
  });

  it('a generation leaving lets the others go', () => {
    const gate = new BatchGate();
    const ctx = fakeContext(gate);
    gate.enter(2);
    gate.sent();
    void ctx._decodeTokens(0);
    expect(ctx.dispatched).toBe(0);
    gate.leave();
    expect(ctx.dispatched).toBe(1);
  });

  it('a stream with its token waits while a peer is still being sampled', async () => {
    const gate = new BatchGate();
    fakeContext(gate);
    gate.enter(2);
    gate.sent();
    gate.sent(); // both in the same batch
    gate.received(); // A has its token; B is being sampled
    let released = false;
    const ready = gate.ready();
    expect(ready).toBeInstanceOf(Promise);
    void ready!.then(() => (released = true));
    await Promise.resolve();
    expect(released).toBe(false);
    gate.received(); // B's token
    await ready;
    expect(released).toBe(true);
    expect(gate.stalls).toBe(0);
  });

  it('does not wait for a peer whose decode is already queued', () => {
    const gate = new BatchGate();
    const ctx = fakeContext(gate);
    gate.enter(2);
    gate.sent();
    gate.sent();
    void ctx._decodeTokens(1); // B queued (a long prompt still being evaluated, say)
    gate.received(); // A's token
    expect(gate.ready()).toBeUndefined();
  });

  it('a stream parked for a KV edit does not hold the batch, nor a decode the edit queues', async () => {
    const gate = new BatchGate();
    const ctx = fakeContext(gate);
    gate.enter(3);
    gate.sent();
    void ctx._decodeTokens(0); // A queued; B and C not yet
    expect(ctx.dispatched).toBe(0);
    let parked: Promise<void> | undefined;
    await gate.edit(async () => {
      parked = gate.pass(); // B parks for the edit (C is the one editing)
      expect(parked).toBeInstanceOf(Promise);
      expect(ctx.dispatched).toBe(0); // C has not queued: still held
      // The edit re-evaluates the kept tokens (erasing failed, as on sliding-window
      // models): its decode goes, since B cannot queue before the edit ends.
      void ctx._decodeTokens(2);
      expect(ctx.dispatched).toBe(1);
    });
    await parked;
    expect(gate.pass()).toBeUndefined();
    expect(gate.stalls).toBe(0);
  });

  it('new generations editing their sequences hold the first prompt for the others', async () => {
    const gate = new BatchGate();
    const ctx = fakeContext(gate);
    gate.enter(2); // two new requests: A has edited and queued its prompt, B is editing
    gate.sent();
    void ctx._decodeTokens(0);
    await gate.edit(async () => {
      expect(ctx.dispatched).toBe(0); // one batch for both prompts, not two
      gate.sent();
      void ctx._decodeTokens(1); // B's edit done (in effect), its prompt queued
      expect(ctx.dispatched).toBe(1);
    });
  });

  it('holds nothing when node-llama-cpp already dispatched the whole queue itself', async () => {
    const gate = new BatchGate();
    const ctx = fakeContext(gate, { dispatchesWhenAllQueued: 1 });
    gate.enter();
    gate.sent();
    void ctx._decodeTokens(0);
    expect(ctx.dispatched).toBe(1);
    pastGuard();
    expect(gate.stalls).toBe(0);
  });

  it('lets a held dispatch run even when the batch loop took its decodes: node-llama-cpp waits for it', async () => {
    const gate = new BatchGate();
    const ctx = fakeContext(gate);
    gate.enter(2);
    gate.sent();
    void ctx._decodeTokens(0); // held: 1 of 2 queued
    ctx.takeQueue(); // the batch loop already running took it
    pastGuard();
    expect(ctx.dispatched).toBe(1); // the dispatch ran (a no-op for the batch, not for the flag)
    expect(gate.stalls).toBe(0); // and nothing was waiting on it
    gate.leave();
    void ctx._decodeTokens(1); // the next decode is scheduled again and goes
    expect(ctx.dispatched).toBe(2);
  });

  it('the guard ends a wait a peer never ends, and counts it', async () => {
    const gate = new BatchGate();
    const ctx = fakeContext(gate);
    gate.enter(2);
    gate.sent();
    void ctx._decodeTokens(0); // B never queues (busy elsewhere)
    expect(ctx.dispatched).toBe(0);
    pastGuard();
    expect(ctx.dispatched).toBe(1);
    expect(gate.stalls).toBe(1);
  });

  it('without the internals it reads, dispatches at once and never holds a stream', () => {
    const gate = new BatchGate();
    expect(gate.attach({} as LlamaContext)).toBe(false);
    let dispatched = 0;
    gate.enter(2);
    gate.sent();
    gate.schedule(() => dispatched++);
    expect(dispatched).toBe(1);
    gate.sent();
    gate.received();
    expect(gate.ready()).toBeUndefined();
  });
});
