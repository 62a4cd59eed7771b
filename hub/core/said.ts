/**
 * What the hub says about an alarm (why it was raised, why it cleared, a note) as a code with
 * values, so every reader can say it in their own language; the English text goes beside it in
 * the API and the logs. Pure.
 */
import { Type } from '@sinclair/typebox';

/** English templates; the dashboard has a Norwegian one for every code. */
export const SAID_TEMPLATES = {
  window_event: '{eventType} between {from} and {to}',
  outside_zone: 'outside the safe zone, about {metres} m from its centre',
  back_inside: 'back inside the safe zone at {at}',
  dose_due: 'dose {doseId} due {scheduledAt}',
  battery: 'battery {battery} %',
  battery_back: 'battery back at {battery} %',
  signal_low: 'signal {signal} dBm in {count} heartbeats',
  signal_back: 'signal back at {signal} dBm',
  reported_again: 'device reported again ({eventType})',
  event_reported: '{eventType} reported',
  connected_again: 'device connected again',
  silent_since: 'silent since {at}',
  outage: '{devices} devices went silent within {minutes} minutes',
  outage_over: 'outage over: {back} of {total} devices back',
  devices_added: '{devices}',
  rule_failed: '{rule} failed on {eventType} {eventId} from {device}: {message}',
  chain_test: 'chain test {test}',
  resolved: '{reason}: {note}',
  cancelled_on_device: 'cancelled on the device after {seconds} s',
  cancel_late: 'cancel after {seconds} s; the alarm stays',
  escalated: 'not acknowledged; escalation {level}',
  text: '{text}',
} as const;
export type SaidCode = keyof typeof SAID_TEMPLATES;

export const SaidSchema = Type.Object({
  code: Type.String({ description: `One of: ${Object.keys(SAID_TEMPLATES).join(', ')}` }),
  params: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()])),
}, { description: 'What the hub said, as a code with values, for each reader to say in their language' });
/** `code` is a SaidCode for what this hub says; a reader meets codes it does not know with the English text. */
export type Said = { code: string; params: Record<string, string | number> };

export const say = (code: SaidCode, params: Record<string, string | number> = {}): Said => ({ code, params });

/** The English text of what was said. */
export function english(s: Said | null | undefined): string | null {
  if (!s) return null;
  const template: string = (SAID_TEMPLATES as Record<string, string>)[s.code] ?? '{text}';
  return template.replace(/\{(\w+)\}/g, (_, k: string) => String(s.params[k] ?? ''));
}
