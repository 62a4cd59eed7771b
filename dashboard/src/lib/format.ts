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
