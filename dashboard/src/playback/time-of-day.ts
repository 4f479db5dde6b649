/** Local wall-clock formatting and the "jump to HH:MM:SS" resolution. Pure, testable. */

const pad = (n: number) => String(n).padStart(2, '0');

/** HH:MM:SS in the browser's local time zone (the centre's staff read local time). */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Tick spacings a supervisor reads at a glance: whole seconds, minutes or hours of local time. */
const TICK_STEPS_S = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400];

/**
 * Axis ticks for a wall-clock window: at round local times (20:20, 20:40, 21:00 — not the
 * session's odd start plus sixths of its length), at most `maxTicks` of them, labelled HH:MM when
 * every tick is a whole minute.
 */
export function timelineTicks(fromMs: number, toMs: number, maxTicks = 6): Array<{ ms: number; label: string }> {
  const spanS = (toMs - fromMs) / 1000;
  if (!(spanS > 0)) return [{ ms: fromMs, label: formatClock(fromMs) }];
  const stepS = TICK_STEPS_S.find((s) => spanS / s <= maxTicks) ?? 86400 * Math.ceil(spanS / 86400 / maxTicks);
  const start = new Date(fromMs);
  const [y, mo, d] = [start.getFullYear(), start.getMonth(), start.getDate()];
  const secondOfDay = start.getHours() * 3600 + start.getMinutes() * 60 + start.getSeconds() + start.getMilliseconds() / 1000;
  const ticks: Array<{ ms: number; label: string }> = [];
  // Counted from local midnight with the Date constructor, so a window across midnight (or a DST
  // change) still lands on round local times.
  for (let k = Math.ceil(secondOfDay / stepS); ticks.length <= maxTicks; k++) {
    const ms = new Date(y, mo, d, 0, 0, k * stepS).getTime();
    if (ms > toMs) break;
    if (ms >= fromMs) ticks.push({ ms, label: stepS >= 60 ? formatClock(ms).slice(0, 5) : formatClock(ms) });
  }
  return ticks;
}

/** The local calendar day, YYYY-MM-DD, as a date input holds it (toISOString() gives UTC's day). */
export function formatDay(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** YYYY-MM-DD HH:MM in local time, for planned times in lists. */
export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${formatDay(d)} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Seconds as H:MM:SS / M:SS, for durations. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(sec)}` : `${m}:${pad(sec)}`;
}

/** Parses "HH:MM" or "HH:MM:SS" (24 h). Returns seconds since midnight or null. */
export function parseClock(text: string): number | null {
  const m = /^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$/.exec(text);
  if (!m) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  const s = m[3] === undefined ? 0 : Number(m[3]);
  if (h > 23 || min > 59 || s > 59) return null;
  return h * 3600 + min * 60 + s;
}

/**
 * The instant (ms) a typed local time of day means for a session window [fromMs, toMs]. A window
 * may cross midnight, so each local day the window touches is a candidate; the first candidate
 * inside the window wins, otherwise the one nearest to it.
 */
export function resolveClockInWindow(text: string, fromMs: number, toMs: number): number | null {
  const secs = parseClock(text);
  if (secs === null) return null;
  const h = Math.floor(secs / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = secs % 60;
  const candidates: number[] = [];
  const day = new Date(fromMs);
  day.setHours(0, 0, 0, 0);
  // Walk day by day (setDate keeps DST right) from the day before the window to the day after it.
  day.setDate(day.getDate() - 1);
  for (let i = 0; i < 400; i++) {
    const c = new Date(day.getFullYear(), day.getMonth(), day.getDate(), h, m, s).getTime();
    candidates.push(c);
    if (c > toMs) break;
    day.setDate(day.getDate() + 1);
  }
  const inside = candidates.find((c) => c >= fromMs && c <= toMs);
  if (inside !== undefined) return inside;
  const distance = (c: number) => (c < fromMs ? fromMs - c : c - toMs);
  return candidates.reduce((best, c) => (distance(c) < distance(best) ? c : best));
}

/**
 * Local midnight of a `YYYY-MM-DD` day (plus whole days) as ISO, for date filters whose days are
 * the user's local days; undefined for an empty or invalid day (that side of the range stays open).
 */
export function localMidnightIso(day: string, plusDays = 0): string | undefined {
  if (!day) return undefined;
  const d = new Date(`${day}T00:00:00`);
  d.setDate(d.getDate() + plusDays);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
