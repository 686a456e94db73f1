import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { BusyPoll, busyPollWindow } from '../../src/core/busy-poll';

describe('BusyPoll', () => {
  it('with a window of 0 never keeps the loop turning', async () => {
    const p = new BusyPoll();
    p.touch();
    await sleep(20);
    expect(p.active).toBe(false);
    expect(p.turns).toBe(0);
  });

  it('keeps the loop turning while touched, and stops once the window passes with no touch', async () => {
    const p = new BusyPoll();
    p.configure(30);
    p.touch();
    expect(p.active).toBe(true);
    // Touched again and again: it keeps polling (many turns, one chain).
    for (let i = 0; i < 5; i++) {
      await sleep(10);
      p.touch();
      expect(p.active).toBe(true);
    }
    const during = p.turns;
    expect(during).toBeGreaterThan(5);
    await sleep(150);
    expect(p.active).toBe(false);
    const after = p.turns;
    await sleep(50);
    expect(p.turns).toBe(after); // asleep: no more turns
    // A new touch starts it again.
    p.touch();
    expect(p.active).toBe(true);
    p.configure(0);
    await sleep(20);
    expect(p.active).toBe(false);
  });

  it('one chain, however often touched', async () => {
    const p = new BusyPoll();
    p.configure(1000);
    for (let i = 0; i < 100; i++) p.touch();
    // Each turn runs one callback: 100 touches in one tick add no extra turns.
    await new Promise((r) => setImmediate(r));
    expect(p.turns).toBeLessThanOrEqual(2);
    p.configure(0);
    await sleep(10);
    expect(p.active).toBe(false);
  });
});

describe('busyPollWindow', () => {
  it('keeps the configured window when the llama.cpp threads leave a core for the network thread', () => {
    expect(busyPollWindow(50, 1, 2)).toEqual({ windowMs: 50 });
    expect(busyPollWindow(50, 7, 8)).toEqual({ windowMs: 50 });
  });

  it('turns polling off, saying why, when it would oversubscribe the cores', () => {
    const r = busyPollWindow(50, 2, 2);
    expect(r.windowMs).toBe(0);
    expect(r.reason).toMatch(/3 cores; this machine has 2/);
  });

  it('0 stays off', () => {
    expect(busyPollWindow(0, 1, 64)).toEqual({ windowMs: 0 });
  });
});
