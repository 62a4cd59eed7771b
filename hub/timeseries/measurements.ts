/**
 * Measurements, named for what they hold, with their tag keys and field types. Pure.
 *
 * - `device_events`: how many events were accepted, by municipality, device kind and event
 *   type. Counted in the hub and written as one point per combination and flush, so the series
 *   stay few however many devices there are.
 * - `device_telemetry`: heartbeats and positions per device, at the device's own timestamp.
 */
import type { DeviceEvent, DeviceKind } from '../core/events.ts';
import type { Point } from './types.ts';

export type FieldKind = 'integer' | 'float' | 'string';

export const MEASUREMENTS = {
  device_events: {
    tags: ['tenant', 'kind', 'type'],
    fields: { count: 'integer' },
  },
  device_telemetry: {
    tags: ['tenant', 'kind', 'device', 'type'],
    fields: { event_id: 'string', battery: 'integer', signal: 'integer', firmware: 'string', lat: 'float', lon: 'float', accuracy: 'float' },
  },
} as const satisfies Record<string, { tags: readonly string[]; fields: Record<string, FieldKind> }>;

export type MeasurementName = keyof typeof MEASUREMENTS;

export function telemetryPoint(tenantId: string, kind: DeviceKind, deviceId: string, e: DeviceEvent): Point | null {
  const tags = { tenant: tenantId, kind, device: deviceId, type: e.type };
  const ts = new Date(e.ts);
  switch (e.type) {
    case 'heartbeat':
      return { measurement: 'device_telemetry', tags, ts, fields: { event_id: e.id, battery: e.battery, signal: e.signal, firmware: e.firmware } };
    case 'position':
      return { measurement: 'device_telemetry', tags, ts, fields: { event_id: e.id, lat: e.lat, lon: e.lon, accuracy: e.accuracy } };
    default:
      return null;
  }
}

/** Rebuilds the device's event from a telemetry point. */
export function eventFromTelemetry(p: Point): DeviceEvent {
  const f = p.fields;
  const base = { id: String(f.event_id), ts: p.ts.toISOString() };
  if (p.tags.type === 'position') {
    return { ...base, type: 'position', lat: Number(f.lat), lon: Number(f.lon), accuracy: Number(f.accuracy) };
  }
  return { ...base, type: 'heartbeat', battery: Number(f.battery), signal: Number(f.signal), firmware: String(f.firmware) };
}
