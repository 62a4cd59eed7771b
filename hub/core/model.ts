/**
 * Schemas of the hub's records as the API takes and gives them. One source for validation,
 * types and the OpenAPI document. Pure.
 */
import { type Static, Type } from '@sinclair/typebox';
import { ROLES } from './access.ts';
import { LastTestSchema } from './chain-test.ts';
import { DeviceKindSchema } from './events.ts';
import { DEVICE_STATES } from './fleet.ts';
import { SafeZoneSchema } from './geo.ts';
import { RiskFlagSchema } from './rules.ts';
import { literals, Nullable } from './schema.ts';

export const TenantId = Type.String({ pattern: '^[0-9]{4}$', description: 'Kommunenummer: four digits, e.g. 0301' });
const Id = Type.String({ minLength: 1, maxLength: 64 });
const IsoTime = Type.String({ format: 'date-time' });

export const RoleSchema = literals(ROLES);

export const TenantSchema = Type.Object({
  id: TenantId,
  name: Type.String({ minLength: 1, maxLength: 200 }),
}, { additionalProperties: false });
export type Tenant = Static<typeof TenantSchema>;

export const NewUserSchema = Type.Object({
  username: Type.String({ pattern: '^[a-zA-Z0-9._@-]{2,64}$' }),
  password: Type.String({ minLength: 1, maxLength: 200, description: 'At least the minimum length, not among the most common passwords, not containing the user name' }),
  role: RoleSchema,
  tenantIds: Type.Array(TenantId, { maxItems: 500, uniqueItems: true }),
  allTenants: Type.Optional(Type.Boolean({ description: 'Only for an administrator, given by one who serves all municipalities' })),
}, { additionalProperties: false });
export type NewUser = Static<typeof NewUserSchema>;

export const UserSchema = Type.Object({
  id: Id,
  username: Type.String(),
  role: RoleSchema,
  tenantIds: Type.Array(TenantId),
  allTenants: Type.Boolean({ description: 'An administrator who serves every municipality' }),
  disabled: Type.Boolean(),
  mustChangePassword: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
});
export type User = Static<typeof UserSchema>;

export const NextOfKinSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  relation: Type.Optional(Type.String({ maxLength: 100 })),
  phone: Type.String({ pattern: '^\\+?[0-9 ]{5,20}$' }),
}, { additionalProperties: false });

/** What care needs to know about a resident. No national identity numbers. */
const residentFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  address: Type.String({ minLength: 1, maxLength: 300, description: 'The current address: where help is sent' }),
  phone: Type.Optional(Type.String({ pattern: '^\\+?[0-9 ]{5,20}$' })),
  keyInfo: Type.Optional(Type.String({ maxLength: 1000, description: 'Door, key box and lock information' })),
  nextOfKin: Type.Optional(Type.Array(NextOfKinSchema, { maxItems: 10 })),
  actionPlan: Type.Optional(Type.String({ maxLength: 5000, description: 'What to do when this resident raises an alarm' })),
  notes: Type.Optional(Type.String({ maxLength: 5000 })),
  riskFlags: Type.Optional(Type.Array(RiskFlagSchema, { uniqueItems: true, description: 'What the rules need to know, e.g. wandering_risk' })),
  safeZone: Type.Optional(Type.Union([SafeZoneSchema, Type.Null()], { description: 'Where a GPS tracker\'s wearer is safe' })),
};

/** Maintenance holds back technical alarms until a time that must come: never forever. */
export const MAX_MAINTENANCE_DAYS = 14;
export const MaintenanceSchema = Type.Object({
  until: Type.String({ format: 'date-time', description: `End of maintenance, at most ${MAX_MAINTENANCE_DAYS} days ahead` }),
  note: Type.Optional(Type.String({ maxLength: 500 })),
}, { additionalProperties: false });

export const NewResidentSchema = Type.Object({ tenantId: TenantId, ...residentFields }, { additionalProperties: false });
export type NewResident = Static<typeof NewResidentSchema>;

/** A full replacement of what can change about a resident. */
export const ResidentUpdateSchema = Type.Object(residentFields, { additionalProperties: false });
export type ResidentUpdate = Static<typeof ResidentUpdateSchema>;

export const ResidentSchema = Type.Object({
  id: Id,
  tenantId: TenantId,
  ...residentFields,
  maintenanceUntil: Type.Optional(Type.Union([IsoTime, Type.Null()])),
  erasedAt: Type.Optional(Type.Union([IsoTime, Type.Null()], { description: 'When the resident\'s personal data was erased' })),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type Resident = Static<typeof ResidentSchema>;

export const NewDeviceSchema = Type.Object({
  tenantId: TenantId,
  kind: DeviceKindSchema,
  serial: Type.String({ minLength: 1, maxLength: 100, description: 'The manufacturer\'s serial number' }),
  residentId: Type.Optional(Id),
  heartbeatIntervalSeconds: Type.Optional(Type.Integer({ minimum: 10, maximum: 7 * 24 * 3600 })),
}, { additionalProperties: false });
export type NewDevice = Static<typeof NewDeviceSchema>;

/**
 * What a technician should look at on a device: its clock is off the hub's by more than the
 * configured skew; in the last 24 hours it sent care events at QoS 0, reused event ids for other
 * content, had a connection refused, or sent payloads that were rejected.
 */
export const DEVICE_FLAGS = ['clock_skew', 'qos0_care_events', 'id_conflicts', 'refused_connections', 'rejected_payloads'] as const;
export type DeviceFlag = (typeof DEVICE_FLAGS)[number];

export const DeviceSchema = Type.Object({
  id: Id,
  tenantId: TenantId,
  kind: DeviceKindSchema,
  serial: Type.String(),
  residentId: Nullable(Type.String()),
  heartbeatIntervalSeconds: Type.Integer(),
  createdAt: IsoTime,
  decommissionedAt: Nullable(Type.String({ format: 'date-time' })),
  online: Type.Boolean(),
  lastSeenAt: Nullable(Type.String({ format: 'date-time' })),
  battery: Nullable(Type.Integer()),
  signal: Nullable(Type.Integer()),
  firmware: Nullable(Type.String()),
  position: Type.Union([
    Type.Object({
      lat: Type.Number(), lon: Type.Number(), accuracy: Type.Number(),
      at: Type.String({ format: 'date-time', description: 'When the hub received the fix' }),
      deviceTs: Nullable(Type.String({ description: 'The fix\'s time by the device\'s clock' })),
    }),
    Type.Null(),
  ], { description: 'The position received last by the hub\'s clock' }),
  clockSkewSeconds: Nullable(Type.Number({ description: 'The device\'s clock minus the hub\'s, at its last event' })),
  qos0CareEvents: Type.Integer({ description: 'Care events sent at QoS 0 (the device cannot know they arrived)' }),
  idConflicts: Type.Integer({ description: 'Events that reused an earlier event id with other content' }),
  refusedConnections: Type.Integer({ description: 'Connections refused for this device (e.g. another device\'s client id)' }),
  lastRefusedConnection: Type.Union([Type.Object({ reason: Type.String(), at: IsoTime }), Type.Null()]),
  flags: Type.Array(literals(DEVICE_FLAGS), { description: 'What a technician should look at' }),
  lastTest: Type.Union([LastTestSchema, Type.Null()], { description: 'The last chain test that ended' }),
  lastPassedTestAt: Nullable(Type.String({ format: 'date-time', description: 'When a chain test last passed' })),
  states: Type.Array(literals(DEVICE_STATES), { description: 'online or offline, and what else holds now: low_battery, never_tested, test_overdue, …' }),
  maintenanceUntil: Nullable(Type.String({ format: 'date-time' })),
  acceptedCount: Type.Integer({ description: 'Events accepted from this device' }),
  rejectedCount: Type.Integer({ description: 'Payloads rejected as malformed or invalid' }),
  lastRejection: Type.Union([
    Type.Object({ reason: Type.String(), at: IsoTime }),
    Type.Null(),
  ]),
});
export type Device = Static<typeof DeviceSchema>;
