/**
 * One interval timer per period for every recorder of the box, instead of one per camera and
 * purpose. Each camera polled its playlist and checked its watchdog on timers of its own: 2 × N
 * wake-ups of the process a second, each started at a different moment. Sharing the timer makes
 * that one wake-up a second whatever N is (docs/benchmarks.md). A callback that throws does not
 * stop the others.
 */
const ticks = new Map<number, { timer: NodeJS.Timeout; callbacks: Set<() => void> }>();

/** Calls `fn` every `periodMs` until the returned function is called. */
export function everyTick(periodMs: number, fn: () => void): () => void {
  let tick = ticks.get(periodMs);
  if (!tick) {
    const callbacks = new Set<() => void>();
    const timer = setInterval(() => {
      for (const cb of callbacks) {
        try {
          cb();
        } catch {
          // The callback's owner reports its own failures; the rest still run.
        }
      }
    }, periodMs);
    tick = { timer, callbacks };
    ticks.set(periodMs, tick);
  }
  // A wrapper per registration: the same function registered twice runs twice, as two timers did.
  const entry = (): void => fn();
  tick.callbacks.add(entry);
  const t = tick;
  return () => {
    if (!t.callbacks.delete(entry) || t.callbacks.size > 0) return;
    clearInterval(t.timer);
    if (ticks.get(periodMs) === t) ticks.delete(periodMs);
  };
}
