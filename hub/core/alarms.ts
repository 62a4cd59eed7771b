/**
 * The alarm lifecycle: open → acknowledged → resolved. Pure: an alarm, an actor and `now` in;
 * the next alarm and the transition to record out. Every transition names who (a user or the
 * system), what and when: the record answer-time statistics are computed from.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { RaiseSpec } from './rules.ts';
import { english, type Said, SaidSchema, say } from './said.ts';
import { literals as lit, Nullable } from './schema.ts';

export const ALARM_STATES = ['open', 'acknowledged', 'resolved'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

/** Reasons an operator may give. */
export const RESOLUTION_REASONS = ['false_alarm', 'resolved_by_phone', 'staff_sent', 'emergency_services', 'technical_fault', 'cancelled_by_resident', 'other'] as const;
/** Reasons only the system gives: a technical condition ended. */
export const SYSTEM_REASONS = ['condition_cleared'] as const;
/** The reason that confirms a test alarm: the chain device → hub → response centre works. Only for a test alarm. */
export const TEST_OK = 'test_ok';
export type ResolutionReason = (typeof RESOLUTION_REASONS)[number] | (typeof SYSTEM_REASONS)[number] | typeof TEST_OK;

export const TRANSITION_ACTIONS = [
  'raised', 'repeated', 'acknowledged', 'escalated', 'resolved', 'cleared', 'cancelled_by_resident', 'resident_cancelled_late', 'note', 'devices_added',
] as const;
export type TransitionAction = (typeof TRANSITION_ACTIONS)[number];

const IsoTime = Type.String({ format: 'date-time' });

export const ActorSchema = Type.Union([
  Type.Object({ type: Type.Literal('user'), id: Type.String(), name: Type.String() }),
  Type.Object({ type: Type.Literal('system'), name: Type.String() }),
]);
export type Actor = Static<typeof ActorSchema>;
export const SYSTEM: Actor = { type: 'system', name: 'system' };

export const AlarmSchema = Type.Object({
  id: Type.String(),
  tenantId: Type.String(),
  residentId: Nullable(Type.String()),
  deviceId: Nullable(Type.String()),
  type: Type.String({ description: 'What the alarm is about, e.g. fall_detected, device_offline, outage' }),
  category: lit(['care', 'technical'] as const),
  priority: Type.Integer({ minimum: 1, maximum: 5, description: '1 is the most urgent' }),
  state: lit(ALARM_STATES),
  count: Type.Integer({ description: 'How many times the condition was reported while the alarm was active' }),
  ruleId: Nullable(Type.String()),
  detail: Nullable(Type.String()),
  devices: Type.Array(Type.String(), { description: 'For an outage: the devices that went silent together' }),
  createdAt: IsoTime,
  updatedAt: IsoTime,
  acknowledgedBy: Nullable(Type.Object({ id: Type.String(), name: Type.String() })),
  acknowledgedAt: Nullable(IsoTime),
  resolvedBy: Nullable(Type.Object({ id: Nullable(Type.String()), name: Type.String() })),
  resolvedAt: Nullable(IsoTime),
  resolution: Nullable(Type.Object({ reason: lit([...RESOLUTION_REASONS, ...SYSTEM_REASONS, TEST_OK]), note: Type.String() })),
  escalationLevel: Type.Integer(),
  nextEscalationAt: Nullable(IsoTime),
  said: Type.Optional(Nullable(SaidSchema)),
  test: Type.Optional(Type.Boolean({ description: 'A test alarm (a chain test): shown as such, never counted as a real alarm' })),
  testId: Type.Optional(Nullable(Type.String({ description: 'The chain test it belongs to' }))),
});
export type Alarm = Static<typeof AlarmSchema>;

export const TransitionSchema = Type.Object({
  at: IsoTime,
  actor: ActorSchema,
  action: lit(TRANSITION_ACTIONS),
  fromState: Nullable(lit(ALARM_STATES)),
  toState: lit(ALARM_STATES),
  priority: Type.Integer(),
  detail: Nullable(Type.String({ description: 'In English; `said` holds the same as a code with values' })),
  said: Type.Optional(Nullable(SaidSchema)),
});
export type Transition = Static<typeof TransitionSchema>;

export type Step = { alarm: Alarm; transitions: Transition[] };

export const AlarmPolicySchema = Type.Object({
  /** Seconds to acknowledge, by priority 1..5, before the alarm escalates. */
  ackDeadlineSeconds: Type.Tuple([Type.Number(), Type.Number(), Type.Number(), Type.Number(), Type.Number()]),
  /** Seconds between repeated escalations while nobody acknowledges. */
  escalationRepeatSeconds: Type.Number({ minimum: 1 }),
  /** Seconds after raising during which the resident's own cancel closes the alarm. */
  cancelGraceSeconds: Type.Number({ minimum: 0 }),
});
export type AlarmPolicy = Static<typeof AlarmPolicySchema>;

/** TSA-style service levels: answer within 60 s; lower priorities get longer. */
export const DEFAULT_POLICY: AlarmPolicy = {
  ackDeadlineSeconds: [60, 120, 300, 900, 3600],
  escalationRepeatSeconds: 60,
  cancelGraceSeconds: 60,
};

const iso = (d: Date) => d.toISOString();
const later = (now: Date, seconds: number) => new Date(now.getTime() + seconds * 1000).toISOString();

export function deadlineFor(priority: number, policy: AlarmPolicy): number {
  return policy.ackDeadlineSeconds[Math.min(5, Math.max(1, priority)) - 1] as number;
}

function transition(alarm: Alarm, from: AlarmState | null, actor: Actor, action: TransitionAction, now: Date, said: Said | null = null): Transition {
  return { at: iso(now), actor, action, fromState: from, toState: alarm.state, priority: alarm.priority, detail: english(said), said };
}

/** What a spec says: its code with values, or (a spec stored before) its English text. */
const saidOf = (spec: RaiseSpec): Said | null => spec.said ?? (spec.detail ? say('text', { text: spec.detail }) : null);

export type RaiseInput = {
  id: string;
  tenantId: string;
  residentId: string | null;
  deviceId: string | null;
  spec: RaiseSpec;
  devices?: string[];
};

/** A new alarm, with its first escalation deadline. */
export function raise(input: RaiseInput, now: Date, policy: AlarmPolicy): Step {
  const alarm: Alarm = {
    id: input.id, tenantId: input.tenantId, residentId: input.residentId, deviceId: input.deviceId,
    type: input.spec.alarmType, category: input.spec.category, priority: input.spec.priority, state: 'open', count: 1,
    ruleId: input.spec.ruleId, detail: english(saidOf(input.spec)), said: saidOf(input.spec), devices: input.devices ?? [],
    createdAt: iso(now), updatedAt: iso(now),
    acknowledgedBy: null, acknowledgedAt: null, resolvedBy: null, resolvedAt: null, resolution: null,
    escalationLevel: 0, nextEscalationAt: later(now, deadlineFor(input.spec.priority, policy)),
  };
  return { alarm, transitions: [transition(alarm, null, SYSTEM, 'raised', now, alarm.said ?? null)] };
}

/** Marks an alarm as the test alarm of a chain test. */
export function markTest(alarm: Alarm, testId: string): Alarm {
  return { ...alarm, test: true, testId };
}

/** The same condition again on an alarm still open or acknowledged: count it, keep one row. */
export function repeat(alarm: Alarm, spec: RaiseSpec, now: Date): Step {
  if (alarm.state === 'resolved') throw new Error('a resolved alarm is not repeated; raise a new one');
  // A repeat never lowers urgency; a more urgent repeat raises it.
  const next: Alarm = { ...alarm, count: alarm.count + 1, priority: Math.min(alarm.priority, spec.priority), updatedAt: iso(now) };
  return { alarm: next, transitions: [transition(next, alarm.state, SYSTEM, 'repeated', now, saidOf(spec))] };
}

export type Refusal = { ok: false; code: 'held_by_other' | 'already_resolved' | 'not_a_test'; message: string; alarm: Alarm };

export function acknowledge(alarm: Alarm, user: { id: string; name: string }, now: Date): ({ ok: true } & Step) | Refusal {
  switch (alarm.state) {
    case 'resolved':
      return { ok: false, code: 'already_resolved', message: `alarm was resolved at ${alarm.resolvedAt}`, alarm };
    case 'acknowledged':
      if (alarm.acknowledgedBy?.id === user.id) return { ok: true, alarm, transitions: [] };
      return { ok: false, code: 'held_by_other', message: `alarm is held by ${alarm.acknowledgedBy?.name} since ${alarm.acknowledgedAt}`, alarm };
    case 'open': {
      const next: Alarm = { ...alarm, state: 'acknowledged', acknowledgedBy: user, acknowledgedAt: iso(now), nextEscalationAt: null, updatedAt: iso(now) };
      return { ok: true, alarm: next, transitions: [transition(next, 'open', { type: 'user', ...user }, 'acknowledged', now)] };
    }
  }
}

/** Resolve by an operator. An open alarm is claimed and resolved at once, both recorded. */
export function resolve(alarm: Alarm, user: { id: string; name: string }, reason: ResolutionReason, note: string, now: Date): ({ ok: true } & Step) | Refusal {
  if (reason === TEST_OK && !alarm.test) return { ok: false, code: 'not_a_test', message: 'only a test alarm can be confirmed as test_ok', alarm };
  const acked = acknowledge(alarm, user, now);
  if (!acked.ok) return acked;
  const from = acked.alarm;
  const next: Alarm = {
    ...from, state: 'resolved', resolvedBy: user, resolvedAt: iso(now), resolution: { reason, note }, nextEscalationAt: null, updatedAt: iso(now),
  };
  return { ok: true, alarm: next, transitions: [...acked.transitions, transition(next, from.state, { type: 'user', ...user }, 'resolved', now, say('resolved', { reason, note }))] };
}

/** The system closes a technical alarm whose condition ended (device back, battery replaced). */
export function clear(alarm: Alarm, reason: Said, now: Date): Step | null {
  if (alarm.state === 'resolved' || alarm.category !== 'technical') return null;
  const next: Alarm = {
    ...alarm, state: 'resolved', resolvedBy: { id: null, name: SYSTEM.name }, resolvedAt: iso(now),
    resolution: { reason: 'condition_cleared', note: english(reason) ?? '' }, nextEscalationAt: null, updatedAt: iso(now),
  };
  return { alarm: next, transitions: [transition(next, alarm.state, SYSTEM, 'cleared', now, reason)] };
}

/**
 * The resident cancelled on the device. Within the grace period an open care alarm closes as
 * cancelled by the resident (still counted); after it, the cancel is recorded and the alarm stays
 * for an operator: a late cancel may come from a confused or coerced resident.
 */
export function residentCancel(alarm: Alarm, now: Date, policy: AlarmPolicy): Step | null {
  if (alarm.state === 'resolved' || alarm.category !== 'care') return null;
  const age = (now.getTime() - Date.parse(alarm.createdAt)) / 1000;
  if (alarm.state === 'open' && age <= policy.cancelGraceSeconds) {
    const next: Alarm = {
      ...alarm, state: 'resolved', resolvedBy: { id: null, name: 'resident' }, resolvedAt: iso(now),
      resolution: { reason: 'cancelled_by_resident', note: `cancelled on the device after ${Math.round(age)} s` }, nextEscalationAt: null, updatedAt: iso(now),
    };
    return { alarm: next, transitions: [transition(next, 'open', { type: 'system', name: 'resident' }, 'cancelled_by_resident', now, say('cancelled_on_device', { seconds: Math.round(age) }))] };
  }
  const next = { ...alarm, updatedAt: iso(now) };
  return { alarm: next, transitions: [transition(next, alarm.state, { type: 'system', name: 'resident' }, 'resident_cancelled_late', now, say('cancel_late', { seconds: Math.round(age) }))] };
}

/**
 * Nobody acknowledged in time: raise the priority one step (1 is the top), record it, and set
 * the next deadline, repeating until someone acknowledges.
 */
export function escalate(alarm: Alarm, now: Date, policy: AlarmPolicy): Step | null {
  if (alarm.state !== 'open' || alarm.nextEscalationAt === null || Date.parse(alarm.nextEscalationAt) > now.getTime()) return null;
  const priority = Math.max(1, alarm.priority - 1);
  const next: Alarm = {
    ...alarm, priority, escalationLevel: alarm.escalationLevel + 1,
    nextEscalationAt: later(now, policy.escalationRepeatSeconds), updatedAt: iso(now),
  };
  return { alarm: next, transitions: [transition(next, 'open', SYSTEM, 'escalated', now, say('escalated', { level: next.escalationLevel }))] };
}

export function note(alarm: Alarm, said: Said, now: Date, actor: Actor = SYSTEM): Step {
  const next = { ...alarm, updatedAt: iso(now) };
  return { alarm: next, transitions: [transition(next, alarm.state, actor, 'note', now, said)] };
}

/** Queue order: most urgent first, then oldest first. */
export function byUrgency(a: Pick<Alarm, 'priority' | 'createdAt'>, b: Pick<Alarm, 'priority' | 'createdAt'>): number {
  return a.priority - b.priority || Date.parse(a.createdAt) - Date.parse(b.createdAt);
}
