import { afterEach, describe, expect, it, vi } from 'vitest';
import { everyTick } from '../../edge-agent/schedule/shared-tick.ts';

/** The box's one timer: whole-second periods share one wake-up a second, each at its own period. */
describe('shared tick', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs whole-second periods on one timer, each at its own period, and stops each alone', () => {
    vi.useFakeTimers();
    const before = vi.getTimerCount();
    const runs = { one: 0, three: 0, five: 0 };
    const stopOne = everyTick(1000, () => runs.one++);
    const stopThree = everyTick(3000, () => runs.three++);
    const stopFive = everyTick(5000, () => runs.five++);
    expect(vi.getTimerCount() - before).toBe(1);
    vi.advanceTimersByTime(15_000);
    expect(runs).toEqual({ one: 15, three: 5, five: 3 });
    stopThree();
    vi.advanceTimersByTime(5000);
    expect(runs).toEqual({ one: 20, three: 5, five: 4 });
    stopOne();
    stopFive();
    expect(vi.getTimerCount()).toBe(before);
  });

  it('gives other periods a timer of their own, and one throwing callback does not stop the rest', () => {
    vi.useFakeTimers();
    const before = vi.getTimerCount();
    let fast = 0;
    let steady = 0;
    const stopFast = everyTick(250, () => fast++);
    const stopThrowing = everyTick(1000, () => {
      throw new Error('one broken camera');
    });
    const stopSteady = everyTick(2000, () => steady++);
    expect(vi.getTimerCount() - before).toBe(2);
    vi.advanceTimersByTime(4000);
    expect([fast, steady]).toEqual([16, 2]);
    for (const stop of [stopFast, stopThrowing, stopSteady]) stop();
    expect(vi.getTimerCount()).toBe(before);
  });
});
