/**
 * The device event contract: every event type of every device kind, as TypeBox schemas.
 *
 * This module is the one source of truth. The broker's ingest validates against it, the API
 * documents it, the simulators build their payloads from it, and TypeScript types come from it
 * through `Static<>`. Pure: no I/O.
 *
 * Field choices follow SCAIP (CLC/TS 50134-9) where it has a matching notion: a status code per
 * event, a battery level, a location as geo coordinates, and a heartbeat message type.
 */
import { type Static, type TObject, type TSchema, Type } from '@sinclair/typebox';

export const DEVICE_KINDS = ['safety_alarm', 'door_lock', 'gps_tracker', 'medicine_dispenser'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];
export const DeviceKindSchema = Type.Union(DEVICE_KINDS.map((k) => Type.Literal(k)));

const Battery = Type.Integer({ minimum: 0, maximum: 100, description: 'Battery level in percent' });
const Latitude = Type.Number({ minimum: -90, maximum: 90 });
const Longitude = Type.Number({ minimum: -180, maximum: 180 });
const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601 with offset' });

/** Fields every event carries. `id` is unique per device and is the dedupe key. */
const envelope = {
  id: Type.String({ minLength: 1, maxLength: 64, description: 'Unique per device; the dedupe key' }),
  ts: Type.String({ format: 'date-time', description: 'ISO 8601, device clock' }),
};

function event<T extends string, P extends Record<string, TSchema>>(type: T, props: P, description: string) {
  return Type.Object({ ...envelope, type: Type.Literal(type), ...props }, {
    additionalProperties: false,
    description,
  });
}

// Every kind
const heartbeat = event('heartbeat', {
  battery: Battery,
  signal: Type.Integer({ minimum: -150, maximum: 0, description: 'Received signal strength in dBm' }),
  firmware: Type.String({ minLength: 1, maxLength: 64 }),
}, 'Periodic sign of life; a device that stops sending these is treated as offline');
const batteryLow = event('battery_low', { battery: Battery }, 'Battery below the device\'s own threshold');

// Safety alarm (trygghetsalarm)
const buttonPressed = event('button_pressed', {}, 'The resident pressed the alarm button');
const fallDetected = event('fall_detected', {
  confidence: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
}, 'The fall detector registered a fall');
const alarmCancelled = event('alarm_cancelled', {}, 'The resident cancelled the alarm on the device');
const testAlarm = event('test_alarm', {}, 'A test alarm, e.g. sent by a technician at installation');
const mainsLost = event('mains_lost', {}, 'The base unit lost mains power and runs on battery');
const mainsRestored = event('mains_restored', {}, 'Mains power is back');
const radioLinkLost = event('radio_link_lost', {
  accessory: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'e.g. pendant, fall sensor' })),
}, 'A radio accessory (pendant) is out of range of the base unit');

// Door lock
const StaffId = Type.String({ minLength: 1, maxLength: 64 });
const unlocked = Type.Union([
  event('unlocked', { by: Type.Literal('staff'), staffId: StaffId }, 'Unlocked by home-care staff'),
  event('unlocked', { by: Type.Union([Type.Literal('resident'), Type.Literal('key')]) }, 'Unlocked by the resident or with a key'),
], { description: 'The door was unlocked; staff unlocks carry the staff id' });
const locked = event('locked', {
  by: Type.Optional(Type.Union([Type.Literal('staff'), Type.Literal('resident'), Type.Literal('key'), Type.Literal('auto')])),
  staffId: Type.Optional(StaffId),
}, 'The door was locked');
const opened = event('opened', {}, 'The door was opened');
const closed = event('closed', {}, 'The door was closed');
const openTooLong = event('open_too_long', {
  openSeconds: Type.Integer({ minimum: 0, maximum: 7 * 24 * 3600 }),
}, 'The door has stood open longer than its limit');
const forced = event('forced', {}, 'The door was forced open');

// GPS tracker
const position = event('position', {
  lat: Latitude,
  lon: Longitude,
  accuracy: Type.Number({ minimum: 0, maximum: 100_000, description: 'Accuracy radius in metres' }),
}, 'A position fix');
const sosPressed = event('sos_pressed', {
  lat: Type.Optional(Latitude),
  lon: Type.Optional(Longitude),
}, 'The SOS button on the tracker was pressed');

// Medicine dispenser
const DoseId = Type.String({ minLength: 1, maxLength: 64 });
const dose = { doseId: DoseId, scheduledAt: Timestamp };
const doseDue = event('dose_due', dose, 'A dose is due and has been offered');
const doseTaken = event('dose_taken', { ...dose, takenAt: Type.Optional(Timestamp) }, 'The dose was taken out');
const doseMissed = event('dose_missed', dose, 'The dose was not taken within the dispenser\'s window');
const refillNeeded = event('refill_needed', {
  dosesLeft: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
}, 'The dispenser needs a refill');
const malfunction = event('malfunction', {
  code: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  description: Type.Optional(Type.String({ maxLength: 500 })),
}, 'The dispenser reports a fault, e.g. a jam');

/** The event schemas of each device kind, by event type. */
export const EVENT_SCHEMAS = {
  safety_alarm: {
    heartbeat, battery_low: batteryLow, button_pressed: buttonPressed, fall_detected: fallDetected,
    alarm_cancelled: alarmCancelled, test_alarm: testAlarm, mains_lost: mainsLost,
    mains_restored: mainsRestored, radio_link_lost: radioLinkLost,
  },
  door_lock: {
    heartbeat, battery_low: batteryLow, unlocked, locked, opened, closed,
    open_too_long: openTooLong, forced,
  },
  gps_tracker: {
    heartbeat, battery_low: batteryLow, position, sos_pressed: sosPressed, fall_detected: fallDetected,
  },
  medicine_dispenser: {
    heartbeat, battery_low: batteryLow, dose_due: doseDue, dose_taken: doseTaken,
    dose_missed: doseMissed, refill_needed: refillNeeded, malfunction,
  },
} as const satisfies Record<DeviceKind, Record<string, TSchema>>;

type Schemas = typeof EVENT_SCHEMAS;
export type SafetyAlarmEvent = Static<Schemas['safety_alarm'][keyof Schemas['safety_alarm']]>;
export type DoorLockEvent = Static<Schemas['door_lock'][keyof Schemas['door_lock']]>;
export type GpsTrackerEvent = Static<Schemas['gps_tracker'][keyof Schemas['gps_tracker']]>;
export type MedicineDispenserEvent = Static<Schemas['medicine_dispenser'][keyof Schemas['medicine_dispenser']]>;
export type DeviceEvent = SafetyAlarmEvent | DoorLockEvent | GpsTrackerEvent | MedicineDispenserEvent;
export type EventType = DeviceEvent['type'];

/** Event types that are telemetry: they update device state and go to time series only. */
export const TELEMETRY_TYPES = ['heartbeat', 'position'] as const;
export type TelemetryEvent = Extract<DeviceEvent, { type: (typeof TELEMETRY_TYPES)[number] }>;
export function isTelemetry(type: string): boolean {
  return (TELEMETRY_TYPES as readonly string[]).includes(type);
}
export function isTelemetryEvent(event: DeviceEvent): event is TelemetryEvent {
  return isTelemetry(event.type);
}

export function eventTypesOf(kind: DeviceKind): string[] {
  return Object.keys(EVENT_SCHEMAS[kind]);
}

export function schemaFor(kind: DeviceKind, type: string): TSchema | undefined {
  const byType: Record<string, TSchema> = EVENT_SCHEMAS[kind];
  return Object.hasOwn(byType, type) ? byType[type] : undefined;
}

/** Every event of every kind, for API documentation of stored events. */
export const AnyDeviceEventSchema = Type.Union(
  [...new Set(DEVICE_KINDS.flatMap((k) => Object.values(EVENT_SCHEMAS[k]) as TSchema[]))]
    .flatMap((s) => ('anyOf' in s ? (s.anyOf as TObject[]) : [s as TObject])),
  { description: 'A device event as the device sent it' },
);

/** Expected heartbeat interval per kind, in seconds, used when a device is registered without one. */
export const DEFAULT_HEARTBEAT_SECONDS: Record<DeviceKind, number> = {
  // IP base units of safety alarms report every few minutes.
  safety_alarm: 300,
  door_lock: 3600,
  gps_tracker: 600,
  medicine_dispenser: 3600,
};
