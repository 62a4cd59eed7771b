/** Where a resident is, as the map shows it. Pure. */
import type { AlarmDetail, Device } from '../data/api.ts';

export type Position = { lat: number; lon: number; accuracy?: number; at: string };

/**
 * Where the resident is: the newest fix by the hub's received time, from the alarm's own events
 * (an SOS with a position) or the device's last position. Never by the device's clock: a
 * tracker whose clock is years off must not pin the map to an old place.
 */
export function positionOf(detail: Pick<AlarmDetail, 'events'> | null, device: Pick<Device, 'position'> | null): Position | null {
  const candidates: Position[] = [];
  for (const { event: e, receivedAt } of detail?.events ?? []) {
    if ((e.type === 'position' || e.type === 'sos_pressed') && e.lat !== undefined && e.lon !== undefined) {
      candidates.push({ lat: e.lat, lon: e.lon, ...('accuracy' in e ? { accuracy: e.accuracy } : {}), at: receivedAt });
    }
  }
  if (device?.position) candidates.push({ lat: device.position.lat, lon: device.position.lon, accuracy: device.position.accuracy, at: device.position.at });
  return candidates.reduce<Position | null>((best, c) => (!best || Date.parse(c.at) > Date.parse(best.at) ? c : best), null);
}

