/**
 * The fleet as a technician sees it: each device's states, how urgent it is, and a summary per
 * municipality. Pure: a device and `now` in.
 */
import type { DeviceKind } from './events.ts';
import type { Device } from './model.ts';

export const DEVICE_STATES = [
  'online', 'offline', 'low_battery', 'weak_signal', 'never_tested', 'test_overdue', 'rejected', 'clock_skew', 'maintenance', 'decommissioned',
] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

export type FleetPolicy = {
  /** A passed chain test counts for this many days. */
  testValidDays: number;
  /** Battery under this (percent) is low; signal under this (dBm) is weak. */
  lowBattery: number;
  weakSignal: number;
};

/** Battery and signal limits match the default threshold rules (15 %, −105 dBm) with a margin to act before they alarm. */
export const DEFAULT_FLEET_POLICY: FleetPolicy = { testValidDays: 365, lowBattery: 20, weakSignal: -100 };

const DAY = 24 * 3600 * 1000;

/** The states of a device now. A decommissioned device is only that. */
export function deviceStates(d: Omit<Device, 'states'>, now: Date, policy: FleetPolicy): DeviceState[] {
  if (d.decommissionedAt) return ['decommissioned'];
  const s: DeviceState[] = [d.online ? 'online' : 'offline'];
  if (d.battery !== null && d.battery < policy.lowBattery) s.push('low_battery');
  if (d.signal !== null && d.signal < policy.weakSignal) s.push('weak_signal');
  const passed = d.lastPassedTestAt;
  if (!passed) s.push('never_tested');
  else if (now.getTime() - Date.parse(passed) > policy.testValidDays * DAY) s.push('test_overdue');
  if (d.flags.includes('rejected_payloads')) s.push('rejected');
  if (d.flags.includes('clock_skew')) s.push('clock_skew');
  if (d.maintenanceUntil && Date.parse(d.maintenanceUntil) > now.getTime()) s.push('maintenance');
  return s;
}

/**
 * Most urgent first: a device that should talk and does not (offline, not in maintenance),
 * then one whose payloads are rejected, low battery, never or long not tested, weak signal, a
 * wrong clock; within a rank the one silent longest first.
 */
const WEIGHT: Partial<Record<DeviceState, number>> = {
  offline: 100, rejected: 40, low_battery: 30, never_tested: 20, test_overdue: 15, weak_signal: 10, clock_skew: 5,
};
export function urgency(d: Pick<Device, 'states'>): number {
  if (d.states.includes('decommissioned')) return -1;
  const inMaintenance = d.states.includes('maintenance');
  return d.states.reduce((sum, s) => sum + (inMaintenance && s === 'offline' ? 0 : WEIGHT[s] ?? 0), 0);
}
export function byUrgency(a: Pick<Device, 'states' | 'lastSeenAt' | 'id'>, b: Pick<Device, 'states' | 'lastSeenAt' | 'id'>): number {
  return urgency(b) - urgency(a) || (a.lastSeenAt ?? '').localeCompare(b.lastSeenAt ?? '') || a.id.localeCompare(b.id);
}

export type FleetSummary = {
  tenantId: string;
  total: number;
  byKind: Record<DeviceKind, number>;
  byState: Record<DeviceState, number>;
  firmware: { kind: DeviceKind; firmware: string; devices: number }[];
};

/** Devices per kind and per state, and firmware versions in use, of one municipality. */
export function summarize(tenantId: string, devices: readonly Device[]): FleetSummary {
  const byKind = { safety_alarm: 0, door_lock: 0, gps_tracker: 0, medicine_dispenser: 0 } as Record<DeviceKind, number>;
  const byState = Object.fromEntries(DEVICE_STATES.map((s) => [s, 0])) as Record<DeviceState, number>;
  const fw = new Map<string, { kind: DeviceKind; firmware: string; devices: number }>();
  let total = 0;
  for (const d of devices) {
    for (const s of d.states) byState[s]++;
    if (d.decommissionedAt) continue;
    total++;
    byKind[d.kind]++;
    const key = `${d.kind}|${d.firmware ?? ''}`;
    const f = fw.get(key) ?? { kind: d.kind, firmware: d.firmware ?? 'unknown', devices: 0 };
    f.devices++;
    fw.set(key, f);
  }
  const firmware = [...fw.values()].sort((a, b) => a.kind.localeCompare(b.kind) || b.devices - a.devices || a.firmware.localeCompare(b.firmware));
  return { tenantId, total, byKind, byState, firmware };
}
