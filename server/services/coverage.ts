import type { TimeSpan } from '../db/schema.ts';

/**
 * How much of a time window a set of segment spans covers. Pure functions over milliseconds so the
 * session page and the tests agree on one definition of "recorded", "stored" and "gap".
 */

/** Merges spans clipped to the window into sorted, non-overlapping intervals. */
export function mergeWithin(spans: TimeSpan[], window: TimeSpan): Array<[number, number]> {
  const lo = window.from.getTime();
  const hi = window.to.getTime();
  const clipped = spans
    .map((s) => [Math.max(lo, s.from.getTime()), Math.min(hi, s.to.getTime())] as [number, number])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const [a, b] of clipped) {
    const last = merged.at(-1);
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged;
}

export function coveredSeconds(spans: TimeSpan[], window: TimeSpan): number {
  return mergeWithin(spans, window).reduce((sum, [a, b]) => sum + (b - a), 0) / 1000;
}

/** Uncovered stretches of the window strictly longer than `thresholdSeconds`. */
export function findGaps(spans: TimeSpan[], window: TimeSpan, thresholdSeconds: number): TimeSpan[] {
  const lo = window.from.getTime();
  const hi = window.to.getTime();
  if (hi <= lo) return [];
  const gaps: TimeSpan[] = [];
  let cursor = lo;
  const consider = (a: number, b: number) => {
    if (b - a > thresholdSeconds * 1000) gaps.push({ from: new Date(a), to: new Date(b) });
  };
  for (const [a, b] of mergeWithin(spans, window)) {
    consider(cursor, a);
    cursor = b;
  }
  consider(cursor, hi);
  return gaps;
}
