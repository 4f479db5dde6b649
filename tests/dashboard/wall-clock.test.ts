import { describe, expect, it } from 'vitest';
import {
  coveredRanges,
  datedFragments,
  mediaTimeToWallClock,
  wallClockToMediaTime,
  type FragmentTiming,
} from '../../dashboard/src/playback/wall-clock.ts';

const T0 = Date.parse('2026-11-25T09:00:00.000Z');
const s = (secs: number) => T0 + secs * 1000;

/**
 * A session playlist as the centre builds it: 2 s segments from 09:00:00 to 09:00:06, then the
 * camera was offline for 54 s (a discontinuity), then segments from 09:01:00 to 09:01:04.
 * Media time runs on without the hole: the second run starts at media 6 s.
 */
const withGap: FragmentTiming[] = [
  { start: 0, duration: 2, programDateTime: s(0), cc: 0 },
  { start: 2, duration: 2, programDateTime: s(2), cc: 0 },
  { start: 4, duration: 2, programDateTime: s(4), cc: 0 },
  { start: 6, duration: 2, programDateTime: s(60), cc: 1 },
  { start: 8, duration: 2, programDateTime: s(62), cc: 1 },
];

describe('wallClockToMediaTime', () => {
  it('maps an instant inside a fragment linearly', () => {
    expect(wallClockToMediaTime(withGap, s(3.5))).toEqual({ mediaTime: 3.5, position: 'inside', shownWallClock: s(3.5) });
    expect(wallClockToMediaTime(withGap, s(0))).toMatchObject({ mediaTime: 0, position: 'inside' });
  });

  it('maps an instant after a discontinuity onto the media time of the later run', () => {
    expect(wallClockToMediaTime(withGap, s(61))).toMatchObject({ mediaTime: 7, position: 'inside' });
    expect(wallClockToMediaTime(withGap, s(63.25))).toMatchObject({ mediaTime: 9.25, position: 'inside' });
  });

  it('sends an instant inside a recording gap to the start of the next footage', () => {
    expect(wallClockToMediaTime(withGap, s(30))).toEqual({ mediaTime: 6, position: 'gap', shownWallClock: s(60) });
    // The exact end of the first run is already in the hole.
    expect(wallClockToMediaTime(withGap, s(6))).toMatchObject({ mediaTime: 6, position: 'gap' });
  });

  it('clamps instants before the first and after the last fragment', () => {
    expect(wallClockToMediaTime(withGap, s(-120))).toEqual({ mediaTime: 0, position: 'before', shownWallClock: s(0) });
    const after = wallClockToMediaTime(withGap, s(3600));
    expect(after?.position).toBe('after');
    expect(after!.mediaTime).toBeGreaterThan(9.9);
    expect(after!.mediaTime).toBeLessThan(10);
  });

  it('returns null when no fragment carries a date', () => {
    expect(wallClockToMediaTime([], s(0))).toBeNull();
    expect(wallClockToMediaTime([{ start: 0, duration: 2, programDateTime: null }], s(0))).toBeNull();
  });

  it('does not depend on the order hls.js lists fragments in', () => {
    const shuffled = [withGap[3]!, withGap[0]!, withGap[4]!, withGap[2]!, withGap[1]!];
    expect(wallClockToMediaTime(shuffled, s(61))).toMatchObject({ mediaTime: 7, position: 'inside' });
  });
});

describe('mediaTimeToWallClock', () => {
  it('is the inverse of wallClockToMediaTime inside footage', () => {
    for (const wall of [s(0), s(1.5), s(5.9), s(60), s(61.75), s(63.9)]) {
      const seek = wallClockToMediaTime(withGap, wall)!;
      expect(mediaTimeToWallClock(withGap, seek.mediaTime)).toBeCloseTo(wall, 3);
    }
  });

  it('jumps across the discontinuity at the media boundary', () => {
    expect(mediaTimeToWallClock(withGap, 5.999)).toBeCloseTo(s(5.999), 3);
    expect(mediaTimeToWallClock(withGap, 6)).toBe(s(60));
  });

  it('clamps media times outside the playlist', () => {
    expect(mediaTimeToWallClock(withGap, -3)).toBe(s(0));
    expect(mediaTimeToWallClock(withGap, 500)).toBe(s(64));
    expect(mediaTimeToWallClock([], 1)).toBeNull();
  });
});

describe('datedFragments', () => {
  it('dates a fragment without its own PROGRAM-DATE-TIME from its predecessor in the same run', () => {
    const frags: FragmentTiming[] = [
      { start: 0, duration: 2, programDateTime: s(0), cc: 0 },
      { start: 2, duration: 2, programDateTime: null, cc: 0 },
      { start: 4, duration: 2, programDateTime: null, cc: 1 }, // after a discontinuity: unknown, dropped
      { start: 6, duration: 2, programDateTime: s(100), cc: 1 },
    ];
    expect(datedFragments(frags)).toEqual([
      { start: 0, duration: 2, wallStart: s(0) },
      { start: 2, duration: 2, wallStart: s(2) },
      { start: 6, duration: 2, wallStart: s(100) },
    ]);
    expect(wallClockToMediaTime(frags, s(3))).toMatchObject({ mediaTime: 3, position: 'inside' });
    // Media time inside the undated fragment shows as the next instant we know.
    expect(mediaTimeToWallClock(frags, 5)).toBe(s(100));
  });

  it('merges touching fragments into covered ranges and keeps the hole', () => {
    expect(coveredRanges(withGap)).toEqual([
      { from: s(0), to: s(6) },
      { from: s(60), to: s(64) },
    ]);
  });
});
