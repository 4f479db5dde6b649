/**
 * One timer for all the box's periodic work, armed for the next job that is due, not a tick a
 * second. On a venue box (a small VM or ARM board) waking is what periodic work mostly costs:
 * here a Node process woken once a second by an empty timer costs 0.04–0.06 % of a core, every
 * two seconds 0.025–0.04 %, before its callback does anything (docs/benchmarks.md), and the agent's
 * idle jobs (health every 15 s, retention every 10 s, …) ran on a 1 s tick that woke it for nothing
 * nine times in ten.
 *
 * Jobs run on a common grid: a job of period P runs when the monotonic clock is a multiple of P.
 * So periods that divide each other share their wake-ups (every camera's playlist pass and the
 * catalogue commit, every 6 s by default, wake the box once together) and the box sleeps until the
 * next multiple any job needs. A job's first run comes within one period of its registration, not
 * exactly one period after it. A callback that throws does not stop the others.
 *
 * A job that may run a little late says by how much (its slack), and then runs at the first
 * wake-up at or after its time, or at its time plus the slack if none comes sooner: the coalescing
 * timers of operating systems (Linux's timer slack, macOS's leeway). Periods that do not divide
 * each other (health every 15 s and retention every 10 s beside the 6 s commit) then cost no
 * wake-ups of their own, and still run as often as their settings say.
 */

interface Entry {
  run: () => void;
  periodMs: number;
  /** performance.now() at or after which it runs next: a multiple of periodMs. */
  dueMs: number;
  /** How late it may run to share another job's wake-up. */
  slackMs: number;
}

/**
 * A timer can fire this early: Node dates it from the event loop's clock as of the start of the
 * current turn, not from now. A job due that soon runs now rather than costing a wake-up of its own.
 */
const EARLY_MS = 20;

const entries = new Set<Entry>();
let timer: NodeJS.Timeout | null = null;
let armedFor = Number.POSITIVE_INFINITY;

/** The monotonic clock (a wall-clock step must not stall or rush the jobs), read at each call: tests fake it. */
const now = (): number => globalThis.performance.now();

/** The first multiple of the period strictly after `afterMs`. */
function nextOnGrid(periodMs: number, afterMs: number): number {
  return (Math.floor(afterMs / periodMs) + 1) * periodMs;
}

function arm(): void {
  let next = Number.POSITIVE_INFINITY;
  for (const e of entries) if (e.dueMs + e.slackMs < next) next = e.dueMs + e.slackMs;
  if (next === armedFor && timer) return;
  if (timer) clearTimeout(timer);
  timer = null;
  armedFor = next;
  if (next === Number.POSITIVE_INFINITY) return;
  timer = setTimeout(fire, Math.max(0, Math.ceil(next - now())));
}

function fire(): void {
  timer = null;
  armedFor = Number.POSITIVE_INFINITY;
  const at = now();
  for (const e of [...entries]) {
    // Cancelled by a job that ran before it in this wake-up, or not due yet.
    if (!entries.has(e) || e.dueMs > at + EARLY_MS) continue;
    // A late wake-up (a busy box) runs each job once, then back on its grid.
    e.dueMs = nextOnGrid(e.periodMs, Math.max(at, e.dueMs));
    try {
      e.run();
    } catch {
      // The callback's owner reports its own failures; the rest still run.
    }
  }
  arm();
}

/**
 * Calls `fn` every `periodMs` (on the box's common grid) until the returned function is called;
 * each run up to `slackMs` late when that lets it share another job's wake-up.
 */
export function everyTick(periodMs: number, fn: () => void, { slackMs = 0 }: { slackMs?: number } = {}): () => void {
  if (!(periodMs > 0)) throw new Error(`a periodic job needs a period above 0 ms, not ${periodMs}`);
  if (!(slackMs >= 0 && slackMs < periodMs)) throw new Error(`a periodic job's slack must be at least 0 and less than its period (${periodMs} ms), not ${slackMs}`);
  // An entry per registration: the same function registered twice runs twice, as two timers did.
  const entry: Entry = { run: fn, periodMs, dueMs: nextOnGrid(periodMs, now()), slackMs };
  entries.add(entry);
  if (entry.dueMs + slackMs < armedFor) arm();
  return () => {
    if (!entries.delete(entry)) return;
    if (entries.size === 0 || entry.dueMs + entry.slackMs === armedFor) arm();
  };
}

/** Jobs registered now (tests). */
export function scheduledJobs(): number {
  return entries.size;
}
