/**
 * Stored events as responses show them. Pure.
 *
 * Every time the decoder accepts passes the same date-time check the HTTP serializer uses, so a
 * new event always serializes. Rows stored before that check was strict may hold a date that
 * does not exist (30 February): those fields are shown as the hub's received time, and the
 * response says which field was repaired and what it held, so no route fails on an old row.
 */
import type { DeviceEvent } from './events.ts';
import { isDateTime } from './formats.ts';

const TIME_FIELDS = ['ts', 'scheduledAt', 'takenAt'] as const;

export function readableEvent(event: DeviceEvent, receivedAt: string): { event: DeviceEvent; repaired: string[] } {
  const repaired: string[] = [];
  let out: Record<string, unknown> = event;
  for (const field of TIME_FIELDS) {
    const v = (event as Record<string, unknown>)[field];
    if (v === undefined || (typeof v === 'string' && isDateTime(v))) continue;
    if (out === event) out = { ...event };
    out[field] = receivedAt;
    repaired.push(`${field}: ${JSON.stringify(v)} is not a valid date-time; shown as the hub's received time`);
  }
  return { event: out as DeviceEvent, repaired };
}
