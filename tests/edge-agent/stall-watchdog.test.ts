import { afterEach, describe, expect, it, vi } from 'vitest';
import { StallWatchdog } from '../../edge-agent/recorder/stall-watchdog.ts';
import { everyTick } from '../../edge-agent/schedule/shared-tick.ts';

/**
 * A camera writes a segment every 2 s; its playlist is read every 6 s (once a commit). The
 * watchdog's deadline follows the newest segment written, so it neither fires while segments come
 * nor waits for a pass to notice a stall.
 */
function camera(stallMs: number) {
  let written: number[] = [];
  let seen = Date.now();
  let polls = 0;
  const stalls: number[] = [];
  let dog: StallWatchdog;
  const playlist = {
    get lastWrittenAt() {
      return seen;
    },
    async poll() {
      polls++;
      const newest = written.filter((t) => t <= Date.now()).at(-1);
      if (newest !== undefined && newest > seen) {
        seen = newest;
        dog.arm();
      }
    },
  };
  dog = new StallWatchdog(playlist, stallMs, () => stalls.push(Date.now()));
  return {
    dog,
    stalls,
    polls: () => polls,
    /** Segments every 2 s from now until `untilMs` from now. */
    writes(untilMs: number) {
      const t0 = Date.now();
      written = [];
      for (let t = 2000; t <= untilMs; t += 2000) written.push(t0 + t);
    },
    lastWritten: () => written.at(-1)!,
    passEvery: (ms: number) => everyTick(ms, () => void playlist.poll()),
  };
}

describe('the recorder watchdog', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('never fires while segments come, however seldom the playlist is read, and costs no wake-up', async () => {
    vi.useFakeTimers();
    const cam = camera(10_000);
    cam.writes(120_000);
    const stopPasses = cam.passEvery(6000);
    cam.dog.arm();
    const timersBefore = vi.getTimerCount();
    await vi.advanceTimersByTimeAsync(110_000);
    expect(cam.stalls).toEqual([]);
    // Only the passes read the playlist, one every 6 s: the deadline never came.
    expect(cam.polls()).toBeGreaterThanOrEqual(18);
    expect(cam.polls()).toBeLessThanOrEqual(19);
    expect(vi.getTimerCount()).toBe(timersBefore);
    stopPasses();
    cam.dog.stop();
  });

  it('fires the watchdog time after the last segment was written, not a pass later', async () => {
    vi.useFakeTimers();
    const cam = camera(10_000);
    cam.writes(30_000); // then the camera hangs
    const stopPasses = cam.passEvery(6000);
    cam.dog.arm();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(cam.stalls).toHaveLength(1);
    expect(cam.stalls[0]! - cam.lastWritten()).toBe(10_000);
    // Once a run: a stalled run is being restarted.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(cam.stalls).toHaveLength(1);
    expect(cam.dog.fired).toBe(true);
    stopPasses();
    cam.dog.stop();
  });

  it('reads the playlist before it fires: a segment written since the last pass counts', async () => {
    vi.useFakeTimers();
    // Passes only every 10 s here (the longest a pass may be apart) and a 3 s watchdog.
    const cam = camera(3000);
    cam.writes(20_000);
    const stopPasses = cam.passEvery(10_000);
    cam.dog.arm();
    await vi.advanceTimersByTimeAsync(21_000);
    expect(cam.stalls).toEqual([]);
    expect(cam.polls()).toBeGreaterThan(2); // the deadline's own passes
    await vi.advanceTimersByTimeAsync(10_000);
    expect(cam.stalls).toEqual([cam.lastWritten() + 3000]);
    stopPasses();
    cam.dog.stop();
  });

  it('a wall-clock step back does not put it off; a stopped watchdog never fires', async () => {
    vi.useFakeTimers();
    const cam = camera(5000);
    cam.writes(4000);
    const stopPasses = cam.passEvery(6000);
    cam.dog.arm();
    await vi.advanceTimersByTimeAsync(6000);
    // The clock goes back an hour: the last segment now seems written in the future.
    vi.setSystemTime(Date.now() - 3_600_000);
    const steppedAt = Date.now();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(cam.stalls).toHaveLength(1);
    expect(cam.stalls[0]! - steppedAt).toBeLessThanOrEqual(5000 + 6000);

    const quiet = camera(5000);
    quiet.dog.arm();
    quiet.dog.stop();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(quiet.stalls).toEqual([]);
    stopPasses();
  });
});
