/**
 * Measurements, named for what they hold, with their tag keys and field types. Pure.
 *
 * - `device_events`: how many events were accepted, by municipality, device kind and event
 *   type. Counted in the hub and written as one point per combination and flush, so the series
 *   stay few however many devices there are.
 * - `alarm_lifecycle`: how many alarms were raised, acknowledged, escalated, resolved, cleared …
 *   (`action`), by municipality, alarm type, category and whether they were tests; counted and
 *   written like `device_events`, for leaders who chart with Grafana or another InfluxQL tool.
 * - `alarm_response`: one point per acknowledged alarm at its acknowledgement, with the seconds
 *   it took (`ack_seconds`).
 * - `device_telemetry`: heartbeats and positions per device, at the hub's received time; the
 *   device's own timestamp is the field `device_ts` (a device clock may be far off).
 */
import type { DeviceEvent, DeviceKind } from '../core/events.ts';
import type { Point } from './types.ts';

export type FieldKind = 'integer' | 'float' | 'string';

export const MEASUREMENTS = {
  device_events: {
    tags: ['tenant', 'kind', 'type'],
    fields: { count: 'integer' },
  },
  alarm_lifecycle: {
    tags: ['tenant', 'type', 'category', 'action', 'test'],
    fields: { count: 'integer' },
  },
  alarm_response: {
    tags: ['tenant', 'type', 'category', 'priority', 'test'],
    fields: { alarm_id: 'string', ack_seconds: 'float' },
  },
  device_telemetry: {
    tags: ['tenant', 'kind', 'device', 'type'],
    fields: { event_id: 'string', device_ts: 'string', battery: 'integer', signal: 'integer', firmware: 'string', lat: 'float', lon: 'float', accuracy: 'float' },
  },
} as const satisfies Record<string, { tags: readonly string[]; fields: Record<string, FieldKind> }>;

export type MeasurementName = keyof typeof MEASUREMENTS;

export function telemetryPoint(tenantId: string, kind: DeviceKind, deviceId: string, e: DeviceEvent, receivedAt: Date): Point | null {
  const tags = { tenant: tenantId, kind, device: deviceId, type: e.type };
  const ts = receivedAt;
  switch (e.type) {
    case 'heartbeat':
      return { measurement: 'device_telemetry', tags, ts, fields: { event_id: e.id, device_ts: e.ts, battery: e.battery, signal: e.signal, firmware: e.firmware } };
    case 'position':
      return { measurement: 'device_telemetry', tags, ts, fields: { event_id: e.id, device_ts: e.ts, lat: e.lat, lon: e.lon, accuracy: e.accuracy } };
    default:
      return null;
  }
}

/**
 * Rebuilds the device's event from a telemetry point, with the hub's received time. Points
 * written before `device_ts` existed were stamped with the device's time and have no received time.
 */
export function eventFromTelemetry(p: Point): { event: DeviceEvent; receivedAt: string | null } {
  const f = p.fields;
  const hasDeviceTs = typeof f.device_ts === 'string';
  const receivedAt = hasDeviceTs ? p.ts.toISOString() : null;
  const base = { id: String(f.event_id), ts: hasDeviceTs ? String(f.device_ts) : p.ts.toISOString() };
  return { event: rebuild(base, p), receivedAt };
}

function rebuild(base: { id: string; ts: string }, p: Point): DeviceEvent {
  const f = p.fields;
  if (p.tags.type === 'position') {
    return { ...base, type: 'position', lat: Number(f.lat), lon: Number(f.lon), accuracy: Number(f.accuracy) };
  }
  return { ...base, type: 'heartbeat', battery: Number(f.battery), signal: Number(f.signal), firmware: String(f.firmware) };
}
