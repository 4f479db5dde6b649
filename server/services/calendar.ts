/**
 * The centre's calendar: days and quarters as the venues live them (config `ledger.timeZone`,
 * Asia/Shanghai by default), not as UTC has them. A UTC day starts at 08:00 in China, so a daily
 * figure dated by UTC would mix two working days, and a quarter's first eight hours would fall in
 * the previous one.
 */

/** Offset of a time zone from UTC at an instant, in ms (Asia/Shanghai → +8 h). */
function zoneOffsetMs(at: Date, timeZone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}

/** Local midnight of the first day of a month, as an instant. */
function localMonthStart(year: number, month0: number, timeZone: string): Date {
  const guess = Date.UTC(year, month0, 1);
  return new Date(guess - zoneOffsetMs(new Date(guess), timeZone));
}

export function quarterBounds(year: number, quarter: number, timeZone: string): { from: Date; to: Date } {
  const m = (quarter - 1) * 3;
  return { from: localMonthStart(year, m, timeZone), to: m + 3 === 12 ? localMonthStart(year + 1, 0, timeZone) : localMonthStart(year, m + 3, timeZone) };
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** The local date of an instant, YYYY-MM-DD. */
export function localDay(at: Date, timeZone: string): string {
  let f = dayFormats.get(timeZone);
  if (!f) {
    // en-CA formats dates as YYYY-MM-DD.
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormats.set(timeZone, f);
  }
  return f.format(at);
}

/** A local day (YYYY-MM-DD) as the instants it runs between: local midnight to the next. */
export function dayBounds(day: string, timeZone: string): { from: Date; to: Date } {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const midnight = (utc: number) => new Date(utc - zoneOffsetMs(new Date(utc), timeZone));
  return { from: midnight(Date.UTC(y, m - 1, d)), to: midnight(Date.UTC(y, m - 1, d + 1)) };
}
