/** Times and ages as the night shift reads them: Europe/Oslo, 24-hour clock. Pure. */
import type { Lang } from './i18n.ts';

export const TIME_ZONE = 'Europe/Oslo';

/** "45 s", "3 min 07 s", "2 t 05 min" / "2 h 05 min": how long an alarm has waited. */
export function formatAge(ms: number, lang: Lang): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  const hours = lang === 'nb' ? 't' : 'h';
  if (h < 48) return `${h} ${hours} ${String(m % 60).padStart(2, '0')} min`;
  const d = Math.floor(h / 24);
  return lang === 'nb' ? `${d} d ${h % 24} t` : `${d} d ${h % 24} h`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function fmt(lang: Lang, withDate: boolean): Intl.DateTimeFormat {
  const key = `${lang}|${withDate}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(lang === 'nb' ? 'nb-NO' : 'en-GB', {
      timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
      ...(withDate ? { day: '2-digit', month: '2-digit', year: 'numeric' } : {}),
    });
    formatters.set(key, f);
  }
  return f;
}

/** Clock time in Norway; with the date when it is not today there. */
export function formatTime(iso: string, lang: Lang, now: Date = new Date()): string {
  const d = new Date(iso);
  const day = (x: Date) => new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE }).format(x);
  return fmt(lang, day(d) !== day(now)).format(d);
}

/**
 * How far the hub's clock is ahead of this screen's, from a message stamped by the hub. Ages are
 * counted by the hub's clock: an operator's PC with a wrong clock must not make an alarm look
 * younger than it is. The newest stamp wins; network delay makes it err a little on the young side.
 */
export function clockSkewMs(hubNow: string, receivedAtMs: number): number {
  const t = Date.parse(hubNow);
  return Number.isFinite(t) ? t - receivedAtMs : 0;
}

const labelFormatters = new Map<string, Intl.DateTimeFormat>();
function labelFmt(lang: Lang, opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${lang}|${JSON.stringify(opts)}`;
  let f = labelFormatters.get(key);
  if (!f) labelFormatters.set(key, (f = new Intl.DateTimeFormat(lang === 'nb' ? 'nb-NO' : 'en-GB', { timeZone: TIME_ZONE, ...opts })));
  return f;
}

/** The ISO week number of a day in Norway (weeks start on Monday; week 1 holds the first Thursday). */
export function isoWeek(at: Date): number {
  const [y, m, d] = new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE }).format(at).split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  const weekday = (date.getUTCDay() + 6) % 7;
  date.setUTCDate(date.getUTCDate() - weekday + 3);
  const firstThursday = new Date(Date.UTC(date.getUTCFullYear(), 0, 4));
  return 1 + Math.round(((date.getTime() - firstThursday.getTime()) / 86_400_000 - 3 + ((firstThursday.getUTCDay() + 6) % 7)) / 7);
}

/** A chart's label for a bucket starting at `iso`: "uke 47" / "week 47", "18.11.", "10:00". */
export function bucketLabel(iso: string, interval: string, lang: Lang): string {
  const at = new Date(iso);
  if (interval === 'week') return `${lang === 'nb' ? 'uke' : 'week'} ${isoWeek(at)}`;
  if (interval === 'day') return labelFmt(lang, { day: '2-digit', month: '2-digit' }).format(at);
  return labelFmt(lang, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);
}

/** A share (0..1) as a percentage with one decimal, or a dash. */
export function percent(x: number | null | undefined, lang: Lang): string {
  if (x === null || x === undefined) return '–';
  return `${(x * 100).toLocaleString(lang === 'nb' ? 'nb-NO' : 'en-GB', { maximumFractionDigits: 1 })} %`;
}

/** A day in Norway: "18.11.2026" / "18/11/2026". */
export function formatDay(iso: string, lang: Lang): string {
  return labelFmt(lang, { day: '2-digit', month: '2-digit', year: 'numeric' }).format(new Date(iso));
}
