/**
 * What the hub said about an alarm, in the reader's language: its code picks the sentence, its
 * values are put in, event types, reasons and times said the dashboard's way. Pure.
 */
import type { Said } from '../../../hub/core/said.ts';
import { formatTime } from './format.ts';
import { DICTIONARIES, eventTypeLabel, type Key, type Lang, translate } from './i18n.ts';

const ISO = /^\d{4}-\d{2}-\d{2}T/;

export function saidText(lang: Lang, said: Said | null | undefined, english: string | null): string | null {
  if (!said) return english;
  const key = `said_${said.code}` as Key;
  if (!(key in DICTIONARIES[lang])) return english;
  const params: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(said.params)) {
    if (k === 'eventType' && typeof v === 'string') params[k] = eventTypeLabel(lang, v);
    else if (k === 'reason' && typeof v === 'string' && `reason_${v}` in DICTIONARIES[lang]) params[k] = translate(lang, `reason_${v}` as Key);
    else if (typeof v === 'string' && ISO.test(v) && !Number.isNaN(Date.parse(v))) params[k] = formatTime(v, lang);
    else params[k] = v;
  }
  return translate(lang, key, params);
}
