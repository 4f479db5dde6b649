/**
 * One interval timer for all the box's periodic work instead of one per camera and purpose. Every
 * timer is a wake-up of the process, and on a venue box (a small VM or ARM board) waking is what
 * periodic work mostly costs: each camera polled its playlist and checked its watchdog on timers
 * of its own, and the heartbeat, outbox batcher, uploader, health and signer each had one more,
 * all started at different moments. Periods that are whole seconds now share one wake-up a second
 * (a 5 s period runs on every fifth), whatever N is (docs/benchmarks.md). Other periods (tests use
 * short watchdogs) get one timer per period. A callback that throws does not stop the others.
 */
const BASE_MS = 1000;

interface Entry {
  run: () => void;
  /** Base ticks per run, and base ticks left until the next. */
  every: number;
  left: number;
}

const ticks = new Map<number, { timer: NodeJS.Timeout; entries: Set<Entry> }>();

function fire(entries: Set<Entry>): void {
  for (const e of entries) {
    if (--e.left > 0) continue;
    e.left = e.every;
    try {
      e.run();
    } catch {
      // The callback's owner reports its own failures; the rest still run.
    }
  }
}

/** Calls `fn` every `periodMs` until the returned function is called. */
export function everyTick(periodMs: number, fn: () => void): () => void {
  const onBase = periodMs >= BASE_MS && periodMs % BASE_MS === 0;
  const key = onBase ? BASE_MS : periodMs;
  let tick = ticks.get(key);
  if (!tick) {
    const entries = new Set<Entry>();
    const timer = setInterval(() => fire(entries), key);
    tick = { timer, entries };
    ticks.set(key, tick);
  }
  const every = onBase ? periodMs / BASE_MS : 1;
  // An entry per registration: the same function registered twice runs twice, as two timers did.
  const entry: Entry = { run: fn, every, left: every };
  tick.entries.add(entry);
  const t = tick;
  return () => {
    if (!t.entries.delete(entry) || t.entries.size > 0) return;
    clearInterval(t.timer);
    if (ticks.get(key) === t) ticks.delete(key);
  };
}
