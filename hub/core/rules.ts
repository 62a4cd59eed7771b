/**
 * Alert rules: data, validated by a schema, per municipality. And their evaluation: pure, with
 * the device's small rule memory, the event and `now` in, and effects out.
 *
 * Why each kind exists (DOMAIN.md): a pendant that went silent and a door alarm nobody heard
 * killed people. So silence is an alarm (absence), a dose not taken is an alarm, a night-time
 * door for someone at risk of wandering is an alarm, and a rule that is switched off stays
 * visible as switched off.
 */
import { type Static, Type } from '@sinclair/typebox';
import { DEVICE_KINDS, type DeviceEvent, type DeviceKind } from './events.ts';
import { type LatLon, type SafeZone, distanceMetres, insideZone } from './geo.ts';
import { isWithinLocalWindow } from './localtime.ts';
import { type Said, say } from './said.ts';
import { literals as lit } from './schema.ts';


export const CATEGORIES = ['care', 'technical'] as const;
export type Category = (typeof CATEGORIES)[number];
export const Priority = Type.Integer({ minimum: 1, maximum: 5, description: '1 is the most urgent' });
const AlarmType = Type.String({ pattern: '^[a-z][a-z0-9_]{1,63}$', description: 'What the alarm is about, e.g. fall_detected' });
const HHMM = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'Local time in Europe/Oslo, HH:MM' });
const EventTypes = Type.Array(Type.String({ pattern: '^[a-z_]{2,40}$' }), { minItems: 1, maxItems: 20, uniqueItems: true });
const DeviceKinds = Type.Array(lit(DEVICE_KINDS), { minItems: 1, uniqueItems: true });

export const RISK_FLAGS = ['wandering_risk', 'fall_risk', 'lives_alone', 'cognitive_impairment'] as const;
export const RiskFlagSchema = lit(RISK_FLAGS);
export type RiskFlag = (typeof RISK_FLAGS)[number];

const common = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  enabled: Type.Boolean(),
  alarmType: AlarmType,
  priority: Priority,
  category: lit(CATEGORIES),
};

export const InstantRule = Type.Object({
  kind: Type.Literal('instant'),
  ...common,
  eventTypes: EventTypes,
  deviceKinds: Type.Optional(DeviceKinds),
  clearedBy: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z_]{2,40}$' }), { maxItems: 10, description: 'Event types that end the condition (technical alarms clear themselves)' })),
}, { additionalProperties: false, description: 'An event raises an alarm at once' });

export const TimeWindowRule = Type.Object({
  kind: Type.Literal('time_window'),
  ...common,
  eventTypes: EventTypes,
  deviceKinds: Type.Optional(DeviceKinds),
  from: HHMM,
  to: HHMM,
  riskFlag: Type.Optional(RiskFlagSchema),
}, { additionalProperties: false, description: 'An event between two local times raises an alarm; a window may cross midnight' });

export const GeofenceRule = Type.Object({
  kind: Type.Literal('geofence'),
  ...common,
  dwellSeconds: Type.Integer({ minimum: 0, maximum: 24 * 3600 }),
}, { additionalProperties: false, description: 'A position outside the resident\'s safe zone for longer than dwellSeconds' });

export const DoseAbsenceRule = Type.Object({
  kind: Type.Literal('absence'),
  watch: Type.Literal('dose'),
  ...common,
  withinMinutes: Type.Integer({ minimum: 1, maximum: 24 * 60 }),
}, { additionalProperties: false, description: 'dose_due without dose_taken within N minutes' });

export const SilenceRule = Type.Object({
  kind: Type.Literal('absence'),
  watch: Type.Literal('silence'),
  ...common,
  intervals: Type.Number({ minimum: 1, maximum: 100, description: 'Offline after this many expected heartbeat intervals without any message' }),
}, { additionalProperties: false, description: 'No message at all from a device for N × its expected interval' });

export const BatteryThresholdRule = Type.Object({
  kind: Type.Literal('threshold'),
  metric: Type.Literal('battery'),
  ...common,
  below: Type.Integer({ minimum: 1, maximum: 100 }),
}, { additionalProperties: false, description: 'Battery under N %; clears when it is back above N + 5' });

export const SignalThresholdRule = Type.Object({
  kind: Type.Literal('threshold'),
  metric: Type.Literal('signal'),
  ...common,
  below: Type.Integer({ minimum: -150, maximum: 0 }),
  times: Type.Integer({ minimum: 1, maximum: 100, description: 'Consecutive heartbeats under the threshold' }),
}, { additionalProperties: false, description: 'Signal under N dBm in `times` heartbeats in a row; clears on a good one' });

const RULE_KINDS = [InstantRule, TimeWindowRule, GeofenceRule, DoseAbsenceRule, SilenceRule, BatteryThresholdRule, SignalThresholdRule];
export const RuleBodySchema = Type.Union(RULE_KINDS);
export type RuleBody = Static<typeof RuleBodySchema>;
const TenantRef = Type.String({ pattern: '^[0-9]{4}$' });
/** A rule as stored: its body with id and municipality. */
export const RuleSchema = Type.Union(RULE_KINDS.map((k) => Type.Object({ id: Type.String(), tenantId: TenantRef, ...k.properties }, { additionalProperties: false })));
/** A new rule: its body and the municipality it belongs to. */
export const NewRuleSchema = Type.Union(RULE_KINDS.map((k) => Type.Object({ tenantId: TenantRef, ...k.properties }, { additionalProperties: false })));
export type Rule = RuleBody & { id: string; tenantId: string };

/** The rules every new municipality starts with. */
export function defaultRules(): RuleBody[] {
  const care = { enabled: true, category: 'care' as const };
  const tech = { enabled: true, category: 'technical' as const };
  return [
    { kind: 'instant', ...care, name: 'Alarmknapp / Alarm button', alarmType: 'button_pressed', priority: 1, eventTypes: ['button_pressed'] },
    { kind: 'instant', ...care, name: 'Fall', alarmType: 'fall_detected', priority: 1, eventTypes: ['fall_detected'] },
    { kind: 'instant', ...care, name: 'SOS fra GPS / GPS SOS', alarmType: 'sos', priority: 1, eventTypes: ['sos_pressed'] },
    { kind: 'instant', ...care, name: 'Dør brutt opp / Door forced', alarmType: 'door_forced', priority: 2, eventTypes: ['forced'] },
    { kind: 'instant', ...care, name: 'Dør åpen for lenge / Door open too long', alarmType: 'door_open_too_long', priority: 3, eventTypes: ['open_too_long'] },
    { kind: 'instant', ...care, name: 'Dose ikke tatt / Dose missed', alarmType: 'dose_not_taken', priority: 3, eventTypes: ['dose_missed'] },
    { kind: 'instant', ...tech, name: 'Testalarm / Test alarm', alarmType: 'test_alarm', priority: 5, eventTypes: ['test_alarm'] },
    { kind: 'instant', ...tech, name: 'Strømbrudd / Mains lost', alarmType: 'mains_lost', priority: 3, eventTypes: ['mains_lost'], clearedBy: ['mains_restored'] },
    // A pendant out of range is how a resident ends up with no way to call: it is urgent.
    { kind: 'instant', ...tech, name: 'Alarmknapp utenfor rekkevidde / Pendant out of range', alarmType: 'radio_link_lost', priority: 2, eventTypes: ['radio_link_lost'] },
    { kind: 'instant', ...tech, name: 'Feil på dosett / Dispenser fault', alarmType: 'dispenser_malfunction', priority: 3, eventTypes: ['malfunction'] },
    { kind: 'instant', ...tech, name: 'Påfyll av dosett / Dispenser refill', alarmType: 'refill_needed', priority: 4, eventTypes: ['refill_needed'], clearedBy: ['dose_due'] },
    { kind: 'time_window', ...care, name: 'Dør åpnet om natten / Door opened at night', alarmType: 'night_door_open', priority: 1, eventTypes: ['opened', 'unlocked'], deviceKinds: ['door_lock'], from: '23:00', to: '06:00', riskFlag: 'wandering_risk' },
    { kind: 'geofence', ...care, name: 'Utenfor trygg sone / Outside safe zone', alarmType: 'left_safe_zone', priority: 1, dwellSeconds: 120 },
    { kind: 'absence', watch: 'dose', ...care, name: 'Dose ikke tatt innen 60 min / Dose not taken in 60 min', alarmType: 'dose_not_taken', priority: 3, withinMinutes: 60 },
    { kind: 'absence', watch: 'silence', ...tech, name: 'Enhet taus / Device offline', alarmType: 'device_offline', priority: 2, intervals: 3 },
    { kind: 'threshold', metric: 'battery', ...tech, name: 'Lavt batteri / Low battery', alarmType: 'battery_low', priority: 4, below: 15 },
    { kind: 'threshold', metric: 'signal', ...tech, name: 'Svakt signal / Weak signal', alarmType: 'signal_low', priority: 4, below: -105, times: 3 },
  ];
}

/** What the rules know of the resident a device belongs to. */
export type ResidentFacts = { id: string; riskFlags: readonly RiskFlag[]; safeZone: SafeZone | null; maintenanceUntil?: string | null } | null;

/** A device's small rule memory, kept between events. */
export type DeviceMemory = { outsideSince: string | null; lowSignalStreak: number };
export const EMPTY_MEMORY: DeviceMemory = { outsideSince: null, lowSignalStreak: 0 };

/** Whether two memories hold the same (every field is a plain value). */
export function sameMemory(a: DeviceMemory, b: DeviceMemory): boolean {
  if (a === b) return true;
  for (const k of Object.keys(EMPTY_MEMORY) as (keyof DeviceMemory)[]) if (a[k] !== b[k]) return false;
  return true;
}

export type RaiseSpec = {
  ruleId: string;
  alarmType: string;
  priority: number;
  category: Category;
  /** Why, as a code with values. */
  said?: Said;
  /** Why, in English: only in specs stored before `said`. */
  detail?: string;
};

/** What evaluation asks the adapters to do. */
export type Effect =
  | { do: 'raise'; spec: RaiseSpec }
  | { do: 'clear'; alarmType: string; reason: Said }
  | { do: 'note'; alarmType: string; note: Said }
  /** Raise `spec` at `dueAt` unless `unwatch` comes first. Keys are per device. */
  | { do: 'watch'; key: string; dueAt: Date; spec: RaiseSpec }
  | { do: 'unwatch'; key: string }
  | { do: 'resident_cancel' };

export type EvaluateInput = {
  rules: readonly Rule[];
  deviceKind: DeviceKind;
  resident: ResidentFacts;
  memory: DeviceMemory;
  event: DeviceEvent;
  now: Date;
  /** Europe/Oslo unless told otherwise. */
  timeZone?: string;
};

const spec = (r: Rule, said?: Said): RaiseSpec => ({ ruleId: r.id, alarmType: r.alarmType, priority: r.priority, category: r.category, ...(said ? { said } : {}) });
const appliesToKind = (r: { deviceKinds?: readonly DeviceKind[] | undefined }, kind: DeviceKind) => !r.deviceKinds || r.deviceKinds.includes(kind);

export const doseWatchKey = (doseId: string, scheduledAt: string) => `dose:${doseId}:${scheduledAt}`;
export const GEOFENCE_WATCH_KEY = 'geofence';

/** A rule that threw while it looked at an event: the others still ran. */
export type RuleFailure = { ruleId: string; ruleKind: Rule['kind']; alarmType: string; message: string };

/**
 * Evaluates one accepted event against a municipality's enabled rules. Pure. Time is `now`, the
 * hub's received time; the device's own clock is used only as an offset (a dose's scheduled time
 * is read on the device's clock and moved onto the hub's by the event's skew).
 *
 * A rule that throws (a stored rule with data the code does not expect) is reported in
 * `failures` with what it had produced dropped, and the other rules still act on the event.
 */
export function evaluate(input: EvaluateInput): { effects: Effect[]; memory: DeviceMemory; failures: RuleFailure[] } {
  const { event, now, deviceKind, resident } = input;
  const effects: Effect[] = [];
  let memory = { ...input.memory };
  // Any message from a device ends its silence.
  effects.push({ do: 'clear', alarmType: 'device_offline', reason: say('reported_again', { eventType: event.type }) });
  if (event.type === 'alarm_cancelled') effects.push({ do: 'resident_cancel' });

  const failures: RuleFailure[] = [];
  // How far the device's clock is ahead of the hub's for this event.
  const skewMs = Date.parse(event.ts) - now.getTime();

  for (const rule of input.rules) {
    if (!rule.enabled) continue;
    const before = { effects: effects.length, memory };
    try {
      switch (rule.kind) {
        case 'instant':
          if (!appliesToKind(rule, deviceKind)) break;
          if (rule.eventTypes.includes(event.type)) effects.push({ do: 'raise', spec: spec(rule) });
          if (rule.clearedBy?.includes(event.type)) effects.push({ do: 'clear', alarmType: rule.alarmType, reason: say('event_reported', { eventType: event.type }) });
          break;
        case 'time_window': {
          if (!appliesToKind(rule, deviceKind) || !rule.eventTypes.includes(event.type)) break;
          if (rule.riskFlag && !resident?.riskFlags.includes(rule.riskFlag)) break;
          if (isWithinLocalWindow(now, rule.from, rule.to, input.timeZone)) {
            effects.push({ do: 'raise', spec: spec(rule, say('window_event', { eventType: event.type, from: rule.from, to: rule.to })) });
          }
          break;
        }
        case 'geofence': {
          if (event.type !== 'position' || !resident?.safeZone) break;
          const pos: LatLon = { lat: event.lat, lon: event.lon };
          if (insideZone(pos, resident.safeZone)) {
            if (memory.outsideSince !== null) {
              effects.push({ do: 'unwatch', key: GEOFENCE_WATCH_KEY });
              effects.push({ do: 'note', alarmType: rule.alarmType, note: say('back_inside', { at: now.toISOString() }) });
              memory = { ...memory, outsideSince: null };
            }
          } else if (memory.outsideSince === null) {
            memory = { ...memory, outsideSince: now.toISOString() };
            const away = Math.round(distanceMetres(pos, zoneCentre(resident.safeZone)));
            effects.push({ do: 'watch', key: GEOFENCE_WATCH_KEY, dueAt: new Date(now.getTime() + rule.dwellSeconds * 1000), spec: spec(rule, say('outside_zone', { metres: away })) });
          }
          break;
        }
        case 'absence':
          if (rule.watch === 'dose') {
            if (event.type === 'dose_due') {
              const scheduled = Date.parse(event.scheduledAt) - (Number.isFinite(skewMs) ? skewMs : 0);
              const due = new Date(Math.max(scheduled, 0) + rule.withinMinutes * 60_000);
              effects.push({ do: 'watch', key: doseWatchKey(event.doseId, event.scheduledAt), dueAt: due, spec: spec(rule, say('dose_due', { doseId: event.doseId, scheduledAt: event.scheduledAt })) });
            } else if (event.type === 'dose_taken') {
              effects.push({ do: 'unwatch', key: doseWatchKey(event.doseId, event.scheduledAt) });
            }
          }
          // Silence is found by the scheduler from the device's last message (see silence.ts).
          break;
        case 'threshold': {
          if (rule.metric === 'battery') {
            const battery = event.type === 'heartbeat' || event.type === 'battery_low' ? event.battery : null;
            if (battery === null) break;
            if (battery < rule.below) effects.push({ do: 'raise', spec: spec(rule, say('battery', { battery })) });
            else if (battery >= rule.below + 5) effects.push({ do: 'clear', alarmType: rule.alarmType, reason: say('battery_back', { battery }) });
          } else {
            if (event.type !== 'heartbeat') break;
            if (event.signal < rule.below) {
              memory = { ...memory, lowSignalStreak: memory.lowSignalStreak + 1 };
              if (memory.lowSignalStreak >= rule.times) effects.push({ do: 'raise', spec: spec(rule, say('signal_low', { signal: event.signal, count: memory.lowSignalStreak })) });
            } else {
              memory = { ...memory, lowSignalStreak: 0 };
              effects.push({ do: 'clear', alarmType: rule.alarmType, reason: say('signal_back', { signal: event.signal }) });
            }
          }
          break;
        }
      }
    } catch (err) {
      effects.length = before.effects;
      memory = before.memory;
      failures.push({ ruleId: rule.id, ruleKind: rule.kind, alarmType: rule.alarmType, message: err instanceof Error ? err.message : String(err) });
    }
  }
  return { effects, memory, failures };
}

function zoneCentre(z: SafeZone): LatLon {
  if (z.type === 'circle') return z.center;
  const n = z.points.length;
  return { lat: z.points.reduce((s, p) => s + p.lat, 0) / n, lon: z.points.reduce((s, p) => s + p.lon, 0) / n };
}
