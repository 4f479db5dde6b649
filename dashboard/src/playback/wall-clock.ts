/**
 * Mapping between wall-clock instants (what the cameras' NTP clocks stamped into the playlist as
 * EXT-X-PROGRAM-DATE-TIME) and media time (the <video> element's currentTime).
 *
 * A session's VOD playlist glues segments end to end in media time, but in wall-clock time there
 * can be holes (camera offline, box rebooted) marked by discontinuities. So the mapping is
 * piecewise: inside a fragment it is linear; between fragments the wall clock jumps while media
 * time does not. Pure functions, no hls.js import, so it can be unit-tested without a browser.
 */

/** What we need of an hls.js Fragment: `start`/`duration` in media seconds, `programDateTime` in ms. */
export interface FragmentTiming {
  start: number;
  duration: number;
  programDateTime: number | null;
  /** Discontinuity counter; a fragment without a date only inherits one within the same cc. */
  cc?: number;
}

/** A fragment with a known wall-clock start, in ms since the epoch. */
export interface DatedFragment {
  start: number;
  duration: number;
  wallStart: number;
}

/** Where the requested instant fell relative to the footage. */
export type SeekPosition = 'inside' | 'gap' | 'before' | 'after';

export interface MediaSeek {
  /** Media time (seconds) to give to video.currentTime. */
  mediaTime: number;
  position: SeekPosition;
  /** Wall-clock instant (ms) that mediaTime actually shows; differs from the request outside footage. */
  shownWallClock: number;
}

/**
 * Keeps the fragments whose wall clock is known, sorted by media start. A fragment without its own
 * date gets one from its predecessor when both are in the same discontinuity sequence (the
 * playlist only needs one PROGRAM-DATE-TIME per run); across a discontinuity it cannot be dated
 * and is dropped rather than guessed.
 */
export function datedFragments(fragments: readonly FragmentTiming[]): DatedFragment[] {
  const sorted = [...fragments].filter((f) => Number.isFinite(f.start) && f.duration > 0).sort((a, b) => a.start - b.start);
  const out: DatedFragment[] = [];
  let prev: (FragmentTiming & { wallStart: number }) | null = null;
  for (const f of sorted) {
    let wallStart: number | null = f.programDateTime;
    if (wallStart === null && prev && (prev.cc ?? 0) === (f.cc ?? 0)) {
      wallStart = prev.wallStart + (f.start - prev.start) * 1000;
    }
    if (wallStart === null || !Number.isFinite(wallStart)) {
      prev = null;
      continue;
    }
    prev = { ...f, wallStart };
    out.push({ start: f.start, duration: f.duration, wallStart });
  }
  return out;
}

/**
 * Media time that shows the wall-clock instant `wallMs`.
 * - inside a fragment: linear within it;
 * - in a hole between fragments: the start of the next footage (nothing exists at that instant);
 * - before the first / after the last fragment: clamped to the first / last frame.
 * Returns null when no fragment has a known wall clock.
 */
export function wallClockToMediaTime(fragments: readonly FragmentTiming[], wallMs: number): MediaSeek | null {
  const frags = datedFragments(fragments);
  const first = frags[0];
  const last = frags[frags.length - 1];
  if (!first || !last) return null;

  if (wallMs < first.wallStart) return { mediaTime: first.start, position: 'before', shownWallClock: first.wallStart };
  const lastEndWall = last.wallStart + last.duration * 1000;
  if (wallMs >= lastEndWall) {
    // Just short of the end so the player still shows the last frame instead of ending.
    const back = Math.min(0.05, last.duration / 2);
    return { mediaTime: last.start + last.duration - back, position: 'after', shownWallClock: lastEndWall - back * 1000 };
  }
  for (const f of frags) {
    const endWall = f.wallStart + f.duration * 1000;
    if (wallMs < f.wallStart) {
      // Fell between the previous fragment's end and this one's start: a hole in the recording.
      return { mediaTime: f.start, position: 'gap', shownWallClock: f.wallStart };
    }
    if (wallMs < endWall) {
      return { mediaTime: f.start + (wallMs - f.wallStart) / 1000, position: 'inside', shownWallClock: wallMs };
    }
  }
  // Unreachable: wallMs < lastEndWall means some fragment above matched.
  return { mediaTime: last.start, position: 'after', shownWallClock: last.wallStart };
}

/**
 * Wall-clock instant (ms) shown at media time `mediaTime`, clamped to the dated fragments' range.
 * Null when no fragment has a known wall clock.
 */
export function mediaTimeToWallClock(fragments: readonly FragmentTiming[], mediaTime: number): number | null {
  const frags = datedFragments(fragments);
  const first = frags[0];
  const last = frags[frags.length - 1];
  if (!first || !last) return null;
  if (mediaTime <= first.start) return first.wallStart;
  for (const f of frags) {
    if (mediaTime < f.start) return f.wallStart; // media time in an undated fragment: next known instant
    if (mediaTime < f.start + f.duration) return f.wallStart + (mediaTime - f.start) * 1000;
  }
  return last.wallStart + last.duration * 1000;
}

/** Wall-clock stretches actually covered by footage, merged where fragments touch (±tolerance). */
export function coveredRanges(fragments: readonly FragmentTiming[], toleranceMs = 500): Array<{ from: number; to: number }> {
  const ranges: Array<{ from: number; to: number }> = [];
  const frags = datedFragments(fragments).sort((a, b) => a.wallStart - b.wallStart);
  for (const f of frags) {
    const from = f.wallStart;
    const to = f.wallStart + f.duration * 1000;
    const tail = ranges[ranges.length - 1];
    if (tail && from <= tail.to + toleranceMs) tail.to = Math.max(tail.to, to);
    else ranges.push({ from, to });
  }
  return ranges;
}
