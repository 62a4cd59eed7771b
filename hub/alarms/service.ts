/**
 * The alarm adapter: runs the pure rules and lifecycle against the stores.
 *
 * `onEvent` runs inside the same commit as the event it reacts to, before the device is
 * acknowledged: an acknowledged event never loses its alarm. `tick` fires what time decides
 * (watches that ran out, escalations, silent devices); its deadlines are in the store, so they
 * survive a restart and fire on time after it. Changes are announced only after their commit.
 */
import type { Logger } from 'pino';
import type { EventBus } from '../bus.ts';
import { type Principal, servesTenant } from '../core/access.ts';
import {
  type Alarm, type AlarmPolicy, type Refusal, type ResolutionReason, type Step, type TransitionAction,
  acknowledge, clear, escalate, markTest, note, raise, repeat, residentCancel, resolve,
} from '../core/alarms.ts';
import type { DeviceEvent } from '../core/events.ts';
import { type RaiseSpec, type Rule, type RuleFailure, evaluate, sameMemory } from '../core/rules.ts';
import { say } from '../core/said.ts';
import { type SilencePolicy, type SilentDevice, planSilence, silentSince } from '../core/silence.ts';
import { shortId } from '../security/secrets.ts';
import { type AlarmStore, dedupeKey } from '../store/alarms.ts';
import type { DeviceIdentity, DeviceStore, RuleState } from '../store/devices.ts';
import type { ResidentStore } from '../store/residents.ts';
import type { ChainTests } from '../chaintests/service.ts';
import type { CommandOutbox } from '../store/outbox.ts';
import type { RuleStore } from '../store/rules.ts';
import type { GroupCommitWriter } from '../store/writer.ts';

export type AlarmChange = { change: TransitionAction; alarm: Alarm };

/** What the rules said about an event, before anything is written. */
type Plan = { context: Omit<RuleState, 'memory'>; out: ReturnType<typeof evaluate>; memoryChanged: boolean };

/** A rule that failed, or (all null) the alarm code itself. */
type Failure = RuleFailure | { ruleId: null; ruleKind: null; alarmType: null; message: string };

export type AlarmDeps = {
  /** People's actions on alarms are committed through it, like every other write. */
  writer: GroupCommitWriter;
  alarms: AlarmStore;
  rules: RuleStore;
  devices: DeviceStore;
  residents: ResidentStore;
  bus: EventBus;
  log: Logger;
  policy: AlarmPolicy;
  silence: SilencePolicy;
  /** Commands to devices (`alarm_received` on acknowledge) are recorded here, in the same commit. */
  outbox: CommandOutbox;
  /** Chain tests: an event may be a technician's test press; a resolution may confirm one. */
  tests: ChainTests;
  commandTtlSeconds: number;
};

export const OUTAGE_TYPE = 'outage';
/** A rule or the alarm code failed on an event: a technical alarm of the municipality. */
export const RULE_FAILED_TYPE = 'rule_failed';

const inMaintenance = (until: string | null | undefined, now: Date) => !!until && Date.parse(until) > now.getTime();

export class AlarmService {
  constructor(private readonly d: AlarmDeps) {}

  // ── reacting to events (inside the ingest commit) ─────────────────────────────────────────

  /**
   * Inside the event's commit. The rules are read and run first; an event that would change
   * nothing (most heartbeats) writes nothing and needs no savepoint. Otherwise the writes run in
   * a savepoint of their own. If the rules or the alarm code fail for this event, what they did
   * is rolled back, but the event stays stored and is acknowledged: a device must not resend
   * forever while it looks healthy. The failure is logged with the rule and the event, and
   * raised as a technical alarm that names the rule.
   */
  onEvent(device: DeviceIdentity, event: DeviceEvent, receivedAt: Date): AlarmChange[] {
    let failures: Failure[];
    let changes: AlarmChange[];
    try {
      const plan = this.plan(device, event, receivedAt);
      // Most heartbeats change nothing: no savepoint for them.
      if (this.changesNothing(device, event, plan, receivedAt)) return [];
      ({ changes, failures } = this.d.alarms.atomically(() => this.react(device, event, receivedAt, plan)));
    } catch (err) {
      this.d.devices.dropRuleStates();
      failures = [{ ruleId: null, ruleKind: null, alarmType: null, message: err instanceof Error ? err.message : String(err) }];
      changes = [];
    }
    for (const f of failures) {
      this.d.log.error({ deviceId: device.deviceId, tenantId: device.tenantId, ruleId: f.ruleId, ruleKind: f.ruleKind, eventId: event.id, eventType: event.type, err: f.message },
        'alarms: a rule failed on an event; the event is stored, the failure raised as a technical alarm');
      changes.push(...this.ruleFailed(device, event, f, receivedAt));
    }
    return changes;
  }

  /** A technical alarm for the municipality: a rule (or the alarm code) failed on an event. */
  private ruleFailed(device: DeviceIdentity, event: DeviceEvent, f: Failure, now: Date): AlarmChange[] {
    const what = f.ruleId ? `rule ${f.ruleId} (${f.ruleKind}, ${f.alarmType})` : 'alarm processing';
    const spec: RaiseSpec = {
      ruleId: f.ruleId ?? 'alarm-processing', alarmType: RULE_FAILED_TYPE, priority: 3, category: 'technical',
      said: say('rule_failed', { rule: what, eventType: event.type, eventId: event.id, device: device.deviceId, message: f.message }),
    };
    try {
      return this.d.alarms.atomically(() => {
        const existing = this.d.alarms.active(dedupeKey({ deviceId: null, tenantId: device.tenantId, type: RULE_FAILED_TYPE }));
        const s = existing ? repeat(existing, spec, now) : raise({ id: shortId('al'), tenantId: device.tenantId, residentId: null, deviceId: null, spec }, now, this.d.policy);
        if (existing) this.d.alarms.update(s.alarm, s.transitions);
        else this.d.alarms.insert(s.alarm, s.transitions);
        return [{ change: existing ? 'repeated' : 'raised', alarm: s.alarm } satisfies AlarmChange];
      });
    } catch (err) {
      this.d.devices.dropRuleStates();
      this.d.log.error({ err, tenantId: device.tenantId }, 'alarms: could not even raise the rule failure; the event is stored');
      return [];
    }
  }

  /** What the rules say about the event: reads only, so it needs no savepoint. */
  private plan(device: DeviceIdentity, event: DeviceEvent, receivedAt: Date): Plan {
    const { devices, residents } = this.d;
    const rules = this.d.rules.forTenant(device.tenantId);
    const { memory, ...context } = devices.ruleState(device.deviceId);
    const needsResident = rules.some((r) => r.enabled && (r.kind === 'geofence' || r.kind === 'time_window'));
    const resident = needsResident ? residents.facts(context.residentId) : null;
    const out = evaluate({ rules, deviceKind: device.kind, resident, memory, event, now: receivedAt });
    return { context, out, memoryChanged: !sameMemory(out.memory, memory) };
  }

  /**
   * True when acting on the plan would write nothing: no rule failed, the device's rule memory
   * stays, every effect is a clear or note of an alarm that is not active, and no chain test acts.
   */
  private changesNothing(device: DeviceIdentity, event: DeviceEvent, plan: Plan, receivedAt: Date): boolean {
    if (plan.memoryChanged || plan.out.failures.length > 0) return false;
    if (!plan.out.effects.every((e) => e.do === 'clear' || e.do === 'note')) return false;
    if (plan.out.effects.length > 0) {
      // One look at the device's active alarms (usually none) for all the clears.
      const active = new Set(this.d.alarms.activeForDevice(device.deviceId).map((a) => a.type));
      if (plan.out.effects.some((e) => 'alarmType' in e && active.has(e.alarmType))) return false;
    }
    return !this.d.tests.acts(device.deviceId, device.kind, event.type, receivedAt);
  }

  private react(device: DeviceIdentity, event: DeviceEvent, receivedAt: Date, plan: Plan): { changes: AlarmChange[]; failures: RuleFailure[] } {
    const { context, out } = plan;
    const failures = out.failures;
    if (plan.memoryChanged) this.d.devices.setMemory(device.deviceId, out.memory);

    const changes: AlarmChange[] = [];
    for (const effect of out.effects) {
      switch (effect.do) {
        case 'raise':
          changes.push(...this.raiseFor(device, context.residentId, effect.spec, receivedAt, event));
          break;
        case 'clear':
          changes.push(...this.step(this.activeFor(device.deviceId, device.tenantId, effect.alarmType), (a) => clear(a, effect.reason, receivedAt), 'cleared'));
          break;
        case 'note':
          changes.push(...this.step(this.activeFor(device.deviceId, device.tenantId, effect.alarmType), (a) => note(a, effect.note, receivedAt), 'note'));
          break;
        case 'watch':
          this.d.alarms.setWatch(device.deviceId, effect.key, effect.dueAt, effect.spec);
          break;
        case 'unwatch':
          this.d.alarms.removeWatch(device.deviceId, effect.key);
          break;
        case 'resident_cancel':
          for (const a of this.d.alarms.activeForDevice(device.deviceId)) {
            const s = residentCancel(a, receivedAt, this.d.policy);
            if (s) {
              this.d.alarms.update(s.alarm, s.transitions);
              this.d.alarms.addEvent(a.id, event, receivedAt);
              changes.push({ change: s.transitions[0]?.action ?? 'note', alarm: s.alarm });
            }
          }
          break;
      }
    }
    const test = this.d.tests.onEvent(device.deviceId, device.kind, event.type, receivedAt);
    if (test) this.markTestAlarm(device, context.residentId, event, receivedAt, test, changes);
    return { changes, failures };
  }

  /**
   * The technician's press during a chain test: the alarm it raised (or, if no rule raised one,
   * a test alarm raised here, maintenance or not) is marked as the test's and goes to the queue.
   */
  private markTestAlarm(device: DeviceIdentity, residentId: string | null, event: DeviceEvent, at: Date, test: Parameters<ChainTests['marked']>[0], changes: AlarmChange[]): void {
    let i = changes.findIndex((c) => c.alarm.deviceId === device.deviceId && (c.change === 'raised' || c.change === 'repeated'));
    if (i < 0) {
      const spec: RaiseSpec = { ruleId: 'chain-test', alarmType: 'test_alarm', priority: 5, category: 'technical', said: say('chain_test', { test: test.id }) };
      const existing = this.activeFor(device.deviceId, device.tenantId, spec.alarmType);
      const s = existing ? repeat(existing, spec, at) : raise({ id: shortId('al'), tenantId: device.tenantId, residentId, deviceId: device.deviceId, spec }, at, this.d.policy);
      if (existing) this.d.alarms.update(s.alarm, s.transitions);
      else this.d.alarms.insert(s.alarm, s.transitions);
      this.d.alarms.addEvent(s.alarm.id, event, at);
      changes.push({ change: existing ? 'repeated' : 'raised', alarm: s.alarm });
      i = changes.length - 1;
    }
    const c = changes[i] as AlarmChange;
    const marked = markTest(c.alarm, test.id);
    this.d.alarms.update(marked, []);
    changes[i] = { ...c, alarm: marked };
    this.d.tests.marked(test, marked);
  }

  /**
   * Forgets the devices whose alarms are all resolved and whose tests have ended, so their
   * heartbeats skip those lookups again. Outside a transaction (the scheduler, after a commit).
   */
  forgetEnded(): void {
    this.d.alarms.refreshActiveDevices();
    this.d.tests.refresh();
  }

  /** A device that connects again is alive: its offline alarm clears itself. */
  onConnected(device: DeviceIdentity, at: Date): AlarmChange[] {
    const rule = this.silenceRule(device.tenantId);
    const type = rule?.alarmType ?? 'device_offline';
    return this.step(this.activeFor(device.deviceId, device.tenantId, type), (a) => clear(a, say('connected_again'), at), 'cleared');
  }

  private activeFor(deviceId: string, tenantId: string, alarmType: string): Alarm | undefined {
    return this.d.alarms.active(dedupeKey({ deviceId, tenantId, type: alarmType }));
  }

  private step(alarm: Alarm | undefined, fn: (a: Alarm) => Step | null, change: TransitionAction): AlarmChange[] {
    if (!alarm) return [];
    const s = fn(alarm);
    if (!s) return [];
    this.d.alarms.update(s.alarm, s.transitions);
    return [{ change, alarm: s.alarm }];
  }

  /** Raises a new alarm or counts a repeat on the one already active for (device, type). */
  private raiseFor(device: { deviceId: string; tenantId: string }, residentId: string | null, spec: RaiseSpec, now: Date, event: DeviceEvent | null): AlarmChange[] {
    if (spec.category === 'technical') {
      const ctx = this.d.devices.ruleState(device.deviceId);
      const resident = this.d.residents.facts(ctx.residentId);
      if (inMaintenance(ctx.maintenanceUntil, now) || inMaintenance(resident?.maintenanceUntil, now)) {
        this.d.log.info({ deviceId: device.deviceId, alarmType: spec.alarmType }, 'alarms: technical alarm held back by maintenance');
        return [];
      }
    }
    const existing = this.activeFor(device.deviceId, device.tenantId, spec.alarmType);
    const s = existing ? repeat(existing, spec, now) : raise({ id: shortId('al'), tenantId: device.tenantId, residentId, deviceId: device.deviceId, spec }, now, this.d.policy);
    if (existing) this.d.alarms.update(s.alarm, s.transitions);
    else this.d.alarms.insert(s.alarm, s.transitions);
    if (event) this.d.alarms.addEvent(s.alarm.id, event, now);
    return [{ change: existing ? 'repeated' : 'raised', alarm: s.alarm }];
  }

  // ── time (the scheduler calls this inside a commit) ───────────────────────────────────────

  tick(now: Date, opts: { silence: boolean }): AlarmChange[] {
    const changes: AlarmChange[] = [];
    // Watches that ran out: a dose not taken, a resident still outside the safe zone.
    for (const w of this.d.alarms.dueWatches(now)) {
      this.d.alarms.removeWatch(w.deviceId, w.key);
      const dev = this.d.devices.get(w.deviceId);
      if (!dev || dev.decommissionedAt) continue;
      changes.push(...this.raiseFor({ deviceId: dev.id, tenantId: dev.tenantId }, dev.residentId, w.spec as RaiseSpec, now, null));
    }
    // Chain tests whose window ended.
    this.d.tests.tick(now);
    // Escalations, in deadline order.
    for (const a of this.d.alarms.dueEscalations(now)) changes.push(...this.step(a, (x) => escalate(x, now, this.d.policy), 'escalated'));
    if (opts.silence) changes.push(...this.checkSilence(now));
    return changes;
  }

  private silenceRule(tenantId: string): Extract<Rule, { watch: 'silence' }> | undefined {
    return this.d.rules.forTenant(tenantId).find((r): r is Extract<Rule, { watch: 'silence' }> => r.kind === 'absence' && r.watch === 'silence' && r.enabled);
  }

  private checkSilence(now: Date): AlarmChange[] {
    const changes: AlarmChange[] = [];
    const silent: SilentDevice[] = [];
    const residentOf = new Map<string, string | null>();
    const minIntervals = Math.min(...this.d.rules.enabledSilenceIntervals());
    if (!Number.isFinite(minIntervals)) return changes;
    for (const d of this.d.devices.silentCandidates(now, minIntervals)) {
      const rule = this.silenceRule(d.tenantId);
      if (!rule) continue;
      const since = silentSince(new Date(d.lastSeenAt), d.intervalSeconds, rule.intervals);
      if (since > now || inMaintenance(d.maintenanceUntil, now)) continue;
      if (this.activeFor(d.id, d.tenantId, rule.alarmType)) continue;
      residentOf.set(d.id, d.residentId);
      silent.push({ deviceId: d.id, tenantId: d.tenantId, since });
    }
    const outages = this.d.alarms.search({ states: ['open', 'acknowledged'], tenantIds: 'all', limit: 10_000, offset: 0 })
      .filter((a) => a.type === OUTAGE_TYPE);
    const plan = planSilence(silent, outages.map((o) => ({ alarmId: o.id, tenantId: o.tenantId, devices: o.devices })), now, this.d.silence);

    const tenantOf = new Map(silent.map((s) => [s.deviceId, s.tenantId]));
    for (const o of plan.createOutages) {
      const rule = this.silenceRule(o.tenantId);
      const spec: RaiseSpec = { ruleId: rule?.id ?? 'silence', alarmType: OUTAGE_TYPE, priority: rule?.priority ?? 2, category: 'technical', said: say('outage', { devices: o.devices.length, minutes: Math.round(this.d.silence.windowSeconds / 60) }) };
      const s = raise({ id: shortId('al'), tenantId: o.tenantId, residentId: null, deviceId: null, spec, devices: o.devices }, now, this.d.policy);
      this.d.alarms.insert(s.alarm, s.transitions);
      changes.push({ change: 'raised', alarm: s.alarm });
    }
    for (const add of plan.addToOutages) {
      const a = this.d.alarms.get(add.alarmId);
      if (!a) continue;
      const next: Alarm = { ...a, devices: [...a.devices, ...add.devices], count: a.count + add.devices.length, updatedAt: now.toISOString() };
      this.d.alarms.update(next, [{ at: now.toISOString(), actor: { type: 'system', name: 'system' }, action: 'devices_added', fromState: a.state, toState: a.state, priority: a.priority, detail: add.devices.join(', '), said: say('devices_added', { devices: add.devices.join(', ') }) }]);
      changes.push({ change: 'devices_added', alarm: next });
    }
    for (const end of plan.endOutages) {
      changes.push(...this.step(this.d.alarms.get(end.alarmId), (a) => clear(a, say('outage_over', { back: end.back.length, total: end.back.length + end.stillSilent.length }), now), 'cleared'));
    }
    for (const deviceId of plan.raiseOffline) {
      const tenantId = tenantOf.get(deviceId);
      if (!tenantId) continue;
      const rule = this.silenceRule(tenantId);
      if (!rule) continue;
      const last = silent.find((s) => s.deviceId === deviceId);
      const spec: RaiseSpec = { ruleId: rule.id, alarmType: rule.alarmType, priority: rule.priority, category: rule.category, said: say('silent_since', { at: last?.since.toISOString() ?? '' }) };
      changes.push(...this.raiseFor({ deviceId, tenantId }, residentOf.get(deviceId) ?? null, spec, now, null));
    }
    return changes;
  }

  // ── people acting on alarms ───────────────────────────────────────────────────────────────

  /** The alarm if it exists and the user serves its municipality. */
  visible(p: Principal, id: string): Alarm | undefined {
    const a = this.d.alarms.get(id);
    return a && servesTenant(p, a.tenantId) ? a : undefined;
  }

  /** Claims an alarm for the user; resolves once committed (and only then announced). */
  async acknowledge(p: Principal, id: string, now: Date): Promise<{ ok: true; alarm: Alarm } | Refusal | null> {
    const result = await this.d.writer.run(() => {
      const a = this.visible(p, id);
      if (!a) return null;
      const r = acknowledge(a, { id: p.userId, name: p.username }, now);
      if (r.ok && r.transitions.length > 0) {
        this.d.alarms.update(r.alarm, r.transitions);
        // The device may tell the resident that help is coming; it gets this even if it is
        // offline now or the hub restarts before it is back.
        if (r.alarm.deviceId) {
          this.d.outbox.enqueue(r.alarm.deviceId, r.alarm.tenantId, { type: 'alarm_received', alarmId: r.alarm.id, at: now.toISOString() }, now, this.d.commandTtlSeconds);
        }
      }
      return r;
    });
    if (result?.ok && result.transitions.length > 0) {
      this.publish([{ change: 'acknowledged', alarm: result.alarm }]);
      const deviceId = result.alarm.deviceId;
      if (deviceId) this.d.bus.emit('command.queued', { deviceId }, (err, owner) => this.d.log.error({ err, owner }, 'alarms: a listener failed'));
    }
    return result && (result.ok ? { ok: true, alarm: result.alarm } : result);
  }

  /** Resolves an alarm with a reason and a note; resolves once committed (and only then announced). */
  async resolve(p: Principal, id: string, reason: ResolutionReason, text: string, now: Date): Promise<{ ok: true; alarm: Alarm } | Refusal | null> {
    const result = await this.d.writer.run(() => {
      const a = this.visible(p, id);
      if (!a) return null;
      const r = resolve(a, { id: p.userId, name: p.username }, reason, text, now);
      if (r.ok) {
        this.d.alarms.update(r.alarm, r.transitions);
        if (r.alarm.test) this.d.tests.onResolved(r.alarm, reason, p.username, now);
      }
      return r;
    });
    if (result?.ok) this.publish(result.transitions.map((t) => ({ change: t.action, alarm: result.alarm })).slice(-1));
    return result && (result.ok ? { ok: true, alarm: result.alarm } : result);
  }

  /** Announces committed changes to the live channel and any other listener. */
  publish(changes: AlarmChange[]): void {
    for (const c of changes) {
      this.d.bus.emit('alarm.changed', c, (err, owner) => this.d.log.error({ err, owner }, 'alarms: a listener failed'));
    }
  }
}
