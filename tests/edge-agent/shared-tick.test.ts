import { afterEach, describe, expect, it, vi } from 'vitest';
import { everyTick, scheduledJobs } from '../../edge-agent/schedule/shared-tick.ts';

/** Wake-ups (timer firings) until `ms` from now, with the fake clock. */
function wakesWithin(ms: number): number {
  const until = performance.now() + ms;
  let wakes = 0;
  while (vi.getTimerCount() > 0) {
    const before = performance.now();
    vi.advanceTimersToNextTimer();
    if (performance.now() > until || performance.now() === before) break;
    wakes++;
  }
  return wakes;
}

/** The box's one timer: armed for the next job due, jobs of every period on one grid. */
describe('shared tick', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs each job at its own period on one timer, and stops each alone', () => {
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
    expect(scheduledJobs()).toBe(0);
  });

  it('sleeps until the next job is due: periods that divide each other share their wake-ups', () => {
    vi.useFakeTimers();
    // An idle box: retention every 10 s, health every 15 s. A tick a second woke it 30 times in
    // 30 s; the grid wakes it at 10, 15, 20 and 30 s.
    const stops = [everyTick(10_000, () => {}), everyTick(15_000, () => {})];
    // Start on a multiple of 30 s, so the window holds whole rounds of both.
    vi.advanceTimersByTime(30_000 - (performance.now() % 30_000));
    expect(wakesWithin(30_000)).toBe(4);
    // Jobs every 2 s and every 6 s: 15 wake-ups in 30 s, not 20.
    stops.push(everyTick(2000, () => {}), everyTick(6000, () => {}));
    vi.advanceTimersByTime(30_000 - (performance.now() % 30_000));
    expect(wakesWithin(30_000)).toBe(15 + 1); // every 2 s, and health at 15 s
    for (const stop of stops) stop();
    expect(scheduledJobs()).toBe(0);
  });

  it('a job with slack runs at the first wake-up at or after its time, as often as its period says', () => {
    vi.useFakeTimers();
    // An agent with one camera: the playlist pass, the commit and the keepalive check every 6 s;
    // retention every 10 s and health every 15 s, each up to half its period late.
    const runs = { pass: 0, retention: 0, health: 0 };
    const at = { retention: [] as number[], health: [] as number[] };
    const stops = [
      everyTick(6000, () => runs.pass++),
      everyTick(6000, () => {}),
      everyTick(10_000, () => (runs.retention++, at.retention.push(performance.now())), { slackMs: 5000 }),
      everyTick(15_000, () => (runs.health++, at.health.push(performance.now())), { slackMs: 7500 }),
    ];
    vi.advanceTimersByTime(60_000 - (performance.now() % 60_000));
    runs.pass = runs.retention = runs.health = 0;
    at.retention.length = at.health.length = 0;
    vi.advanceTimersByTime(60_000);
    expect(runs).toEqual({ pass: 10, retention: 6, health: 4 });
    // Each run on the 6 s grid, within its slack of its own time.
    for (const t of [...at.retention, ...at.health]) expect(t % 6000).toBe(0);
    expect(at.retention.map((t) => t % 60_000)).toEqual([12_000, 24_000, 30_000, 42_000, 54_000, 0]);
    expect(at.health.map((t) => t % 60_000)).toEqual([18_000, 30_000, 48_000, 0]);
    // Without slack the 10 s and 15 s jobs would add 6 wake-ups a minute (10, 15, 20, 40, 45, 50 s).
    expect(wakesWithin(60_000)).toBe(10);
    // Alone, a job with slack still runs: at its time plus the slack.
    for (const stop of stops.splice(0, 2)) stop();
    runs.retention = 0;
    vi.advanceTimersByTime(60_000);
    expect(runs.retention).toBe(6);
    for (const stop of stops) stop();
    expect(scheduledJobs()).toBe(0);
    expect(() => everyTick(1000, () => {}, { slackMs: 1000 })).toThrow(/slack/);
  });

  it('one throwing callback does not stop the rest; a job can stop another in the same wake-up', () => {
    vi.useFakeTimers();
    let fast = 0;
    let steady = 0;
    let victim = 0;
    const stopFast = everyTick(250, () => fast++);
    const stopThrowing = everyTick(1000, () => {
      throw new Error('one broken camera');
    });
    const stopVictim = everyTick(2000, () => victim++);
    const stopSteady = everyTick(2000, () => {
      steady++;
      stopVictim();
    });
    vi.advanceTimersByTime(4000);
    expect(fast).toBe(16);
    expect(steady).toBe(2);
    // Registered first, it ran once before the other stopped it (or never, by the order of the set).
    expect(victim).toBeLessThanOrEqual(1);
    for (const stop of [stopFast, stopThrowing, stopSteady]) stop();
    expect(scheduledJobs()).toBe(0);
  });
});
