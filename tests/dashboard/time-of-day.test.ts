import { describe, expect, it } from 'vitest';
import { formatClock, formatDay, formatDuration, parseClock, resolveClockInWindow, timelineTicks } from '../../dashboard/src/playback/time-of-day.ts';

// Local dates built with the Date constructor so the test holds in any time zone.
const local = (y: number, mo: number, d: number, h: number, mi: number, s = 0) => new Date(y, mo - 1, d, h, mi, s).getTime();

describe('time of day', () => {
  it('parses HH:MM and HH:MM:SS and refuses nonsense', () => {
    expect(parseClock('09:30:15')).toBe(9 * 3600 + 30 * 60 + 15);
    expect(parseClock(' 9:05 ')).toBe(9 * 3600 + 5 * 60);
    expect(parseClock('24:00:00')).toBeNull();
    expect(parseClock('09:60')).toBeNull();
    expect(parseClock('0930')).toBeNull();
    expect(parseClock('')).toBeNull();
  });

  it('formats local wall clock and durations', () => {
    expect(formatClock(local(2026, 11, 25, 7, 4, 9))).toBe('07:04:09');
    // The local day, also in the first hours after midnight (UTC's day is still the previous one east of Greenwich).
    expect(formatDay(new Date(local(2026, 3, 2, 0, 30)))).toBe('2026-03-02');
    expect(formatDuration(59)).toBe('0:59');
    expect(formatDuration(3725)).toBe('1:02:05');
  });

  it('resolves a typed time to the day inside the session window', () => {
    const from = local(2026, 11, 25, 9, 0);
    const to = local(2026, 11, 25, 11, 0);
    expect(resolveClockInWindow('10:15:30', from, to)).toBe(local(2026, 11, 25, 10, 15, 30));
  });

  it('handles a window that crosses midnight', () => {
    const from = local(2026, 11, 25, 22, 0);
    const to = local(2026, 11, 26, 2, 0);
    expect(resolveClockInWindow('23:30:00', from, to)).toBe(local(2026, 11, 25, 23, 30));
    expect(resolveClockInWindow('01:00:00', from, to)).toBe(local(2026, 11, 26, 1, 0));
  });

  it('picks the nearest day for a time outside the window', () => {
    const from = local(2026, 11, 25, 9, 0);
    const to = local(2026, 11, 25, 11, 0);
    expect(resolveClockInWindow('08:59:00', from, to)).toBe(local(2026, 11, 25, 8, 59));
    expect(resolveClockInWindow('bad', from, to)).toBeNull();
  });
  it('puts the timeline ticks at round local times, not at sixths of an odd window', () => {
    // A demo session launched at 20:00:43 for two hours.
    const from = local(2026, 12, 6, 20, 0, 43);
    const ticks = timelineTicks(from, from + 2 * 3600_000);
    expect(ticks.map((t) => t.label)).toEqual(['20:20', '20:40', '21:00', '21:20', '21:40', '22:00']);
    expect(ticks[0]!.ms).toBe(local(2026, 12, 6, 20, 20));
    // A short window counts in seconds, labelled with them.
    const short = timelineTicks(local(2026, 12, 6, 9, 0, 7), local(2026, 12, 6, 9, 1, 7));
    expect(short.map((t) => t.label)).toEqual(['09:00:10', '09:00:20', '09:00:30', '09:00:40', '09:00:50', '09:01:00']);
    // An evaluation across midnight keeps round local hours on the next day.
    const night = timelineTicks(local(2026, 12, 6, 22, 10), local(2026, 12, 7, 8, 50));
    expect(night.map((t) => t.label)).toEqual(['00:00', '02:00', '04:00', '06:00', '08:00']);
    expect(night[0]!.ms).toBe(local(2026, 12, 7, 0, 0));
    for (const list of [ticks, short, night]) expect(list.length).toBeLessThanOrEqual(7);
    // An empty window still has its one instant.
    expect(timelineTicks(from, from)).toEqual([{ ms: from, label: formatClock(from) }]);
  });
});
