/**
 * Local time in Norway for rules that speak of hours ("between 23:00 and 06:00"). Pure: the
 * instant is passed in; Intl's time-zone data handles daylight saving, so a window means the
 * same wall-clock hours in summer and winter, also on the nights the clocks change.
 */
export const DEFAULT_TIME_ZONE = 'Europe/Oslo';

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Minutes since local midnight. */
export function localMinutes(at: Date, timeZone = DEFAULT_TIME_ZONE): number {
  const parts = formatter(timeZone).formatToParts(at);
  const h = Number(parts.find((p) => p.type === 'hour')?.value);
  const m = Number(parts.find((p) => p.type === 'minute')?.value);
  return h * 60 + m;
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * Whether `at` falls in [from, to) local time. A window whose end is before its start crosses
 * midnight (23:00–06:00); equal ends mean the whole day.
 */
export function isWithinLocalWindow(at: Date, from: string, to: string, timeZone = DEFAULT_TIME_ZONE): boolean {
  const t = localMinutes(at, timeZone);
  const a = toMinutes(from);
  const b = toMinutes(to);
  if (a === b) return true;
  return a < b ? t >= a && t < b : t >= a || t < b;
}
