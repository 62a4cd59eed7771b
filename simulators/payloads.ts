/**
 * Builds device events exactly as real devices send them, typed by the hub's event schemas,
 * so a payload that does not fit the contract does not compile.
 */
import type {
  DeviceEvent, DeviceKind, DoorLockEvent, GpsTrackerEvent, MedicineDispenserEvent, SafetyAlarmEvent,
} from '../hub/core/events.ts';

export type EventBase = { id: string; ts: string };

type Builders<E extends { type: string }> = { [T in E['type']]: (b: EventBase) => Extract<E, { type: T }> };

const heartbeat = (b: EventBase) => ({ ...b, type: 'heartbeat' as const, battery: 87, signal: -71, firmware: '2.4.1' });
const batteryLow = (b: EventBase) => ({ ...b, type: 'battery_low' as const, battery: 12 });

const safetyAlarm: Builders<SafetyAlarmEvent> = {
  heartbeat, battery_low: batteryLow,
  button_pressed: (b) => ({ ...b, type: 'button_pressed' }),
  fall_detected: (b) => ({ ...b, type: 'fall_detected', confidence: 0.92 }),
  alarm_cancelled: (b) => ({ ...b, type: 'alarm_cancelled' }),
  test_alarm: (b) => ({ ...b, type: 'test_alarm' }),
  mains_lost: (b) => ({ ...b, type: 'mains_lost' }),
  mains_restored: (b) => ({ ...b, type: 'mains_restored' }),
  radio_link_lost: (b) => ({ ...b, type: 'radio_link_lost', accessory: 'pendant' }),
};

const doorLock: Builders<DoorLockEvent> = {
  heartbeat, battery_low: batteryLow,
  unlocked: (b) => ({ ...b, type: 'unlocked', by: 'staff', staffId: 'hjemmetjeneste-17' }),
  locked: (b) => ({ ...b, type: 'locked', by: 'staff', staffId: 'hjemmetjeneste-17' }),
  opened: (b) => ({ ...b, type: 'opened' }),
  closed: (b) => ({ ...b, type: 'closed' }),
  open_too_long: (b) => ({ ...b, type: 'open_too_long', openSeconds: 600 }),
  forced: (b) => ({ ...b, type: 'forced' }),
};

const gpsTracker: Builders<GpsTrackerEvent> = {
  heartbeat, battery_low: batteryLow,
  position: (b) => ({ ...b, type: 'position', lat: 59.9139, lon: 10.7522, accuracy: 8 }),
  sos_pressed: (b) => ({ ...b, type: 'sos_pressed', lat: 59.914, lon: 10.752 }),
  fall_detected: (b) => ({ ...b, type: 'fall_detected' }),
};

const medicineDispenser: Builders<MedicineDispenserEvent> = {
  heartbeat, battery_low: batteryLow,
  dose_due: (b) => ({ ...b, type: 'dose_due', doseId: 'morgen', scheduledAt: b.ts }),
  dose_taken: (b) => ({ ...b, type: 'dose_taken', doseId: 'morgen', scheduledAt: b.ts, takenAt: b.ts }),
  dose_missed: (b) => ({ ...b, type: 'dose_missed', doseId: 'morgen', scheduledAt: b.ts }),
  refill_needed: (b) => ({ ...b, type: 'refill_needed', dosesLeft: 3 }),
  malfunction: (b) => ({ ...b, type: 'malfunction', code: 'JAM', description: 'Karusellen sitter fast' }),
};

export const SAMPLE_EVENTS: { [K in DeviceKind]: Record<string, (b: EventBase) => DeviceEvent> } = {
  safety_alarm: safetyAlarm,
  door_lock: doorLock,
  gps_tracker: gpsTracker,
  medicine_dispenser: medicineDispenser,
};

/** A typical event of `type` for a device of `kind`. */
export function sampleEvent(kind: DeviceKind, type: string, base: EventBase): DeviceEvent {
  const build = SAMPLE_EVENTS[kind][type];
  if (!build) throw new Error(`${kind} has no event type ${type}`);
  return build(base);
}
