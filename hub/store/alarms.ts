import type { Alarm, AlarmState, Transition } from '../core/alarms.ts';
import type { DeviceEvent } from '../core/events.ts';
import { isTestAlarm } from '../core/stats.ts';
import type { Said } from '../core/said.ts';
import { readableEvent } from '../core/stored.ts';
import type { Db } from './db.ts';
import { PossibleIds } from './possible-ids.ts';

export type AlarmEventRecord = { receivedAt: string; event: DeviceEvent; repaired?: string[] };
export type AlarmDetail = Alarm & { events: AlarmEventRecord[]; transitions: Transition[] };

/** The key that keeps one open or acknowledged alarm per (device, type), or per municipality for outages. */
export function dedupeKey(a: Pick<Alarm, 'tenantId' | 'deviceId' | 'type'>): string {
  return a.deviceId ? `${a.deviceId}|${a.type}` : `tenant:${a.tenantId}|${a.type}`;
}

export class AlarmStore {
  private readonly s;
  /** Devices that may have an active alarm (see PossibleIds): most heartbeats' clears need no query. */
  private readonly withActive: PossibleIds;

  constructor(private readonly db: Db) {
    this.withActive = new PossibleIds(db, () => db.prepare("SELECT DISTINCT device_id FROM alarms WHERE state != 'resolved' AND device_id IS NOT NULL").pluck().all() as string[]);
    this.s = {
      insert: db.prepare(`INSERT INTO alarms (id, tenant_id, state, dedupe_key, device_id, next_escalation_at, created_at, updated_at, data,
          type, category, priority, is_test, acknowledged_at, resolved_at, reason, repeat_count, escalation_level)
        VALUES (@id, @tenantId, @state, @key, @deviceId, @nextEscalationAt, @createdAt, @updatedAt, @data,
          @type, @category, @priority, @isTest, @acknowledgedAt, @resolvedAt, @reason, @count, @escalationLevel)`),
      update: db.prepare(`UPDATE alarms SET state = @state, next_escalation_at = @nextEscalationAt, updated_at = @updatedAt, data = @data,
        type = @type, category = @category, priority = @priority, is_test = @isTest, acknowledged_at = @acknowledgedAt, resolved_at = @resolvedAt,
        reason = @reason, repeat_count = @count, escalation_level = @escalationLevel WHERE id = @id`),
      get: db.prepare('SELECT data FROM alarms WHERE id = ?'),
      active: db.prepare("SELECT data FROM alarms WHERE dedupe_key = ? AND state != 'resolved'"),
      // A device's alarms are keyed `{deviceId}|{type}`: a range of the index of active alarms.
      activeForDevice: db.prepare("SELECT data FROM alarms WHERE dedupe_key >= ? AND dedupe_key < ? AND state != 'resolved' AND device_id = ?"),
      dueEscalations: db.prepare("SELECT data FROM alarms WHERE state = 'open' AND next_escalation_at <= ? ORDER BY next_escalation_at"),
      nextEscalation: db.prepare("SELECT min(next_escalation_at) AS at FROM alarms WHERE state = 'open'"),
      addEvent: db.prepare('INSERT INTO alarm_events (alarm_id, received_at, event) VALUES (?, ?, ?)'),
      setWatch: db.prepare('INSERT OR REPLACE INTO watches (device_id, key, due_at, spec) VALUES (?, ?, ?, ?)'),
      removeWatch: db.prepare('DELETE FROM watches WHERE device_id = ? AND key = ?'),
      dueWatches: db.prepare('SELECT device_id, key, spec FROM watches WHERE due_at <= ? ORDER BY due_at'),
      events: db.prepare('SELECT received_at, event FROM alarm_events WHERE alarm_id = ? ORDER BY seq'),
      addTransition: db.prepare(`INSERT INTO alarm_transitions (alarm_id, at, actor_type, actor_id, actor_name, action, from_state, to_state, priority, detail, said)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      transitions: db.prepare('SELECT * FROM alarm_transitions WHERE alarm_id = ? ORDER BY seq'),
    };
  }

  private row(a: Alarm) {
    return {
      id: a.id, tenantId: a.tenantId, state: a.state, key: dedupeKey(a), deviceId: a.deviceId, nextEscalationAt: a.nextEscalationAt, createdAt: a.createdAt, updatedAt: a.updatedAt, data: JSON.stringify(a),
      type: a.type, category: a.category, priority: a.priority, isTest: isTestAlarm(a) ? 1 : 0, acknowledgedAt: a.acknowledgedAt, resolvedAt: a.resolvedAt,
      reason: a.resolution?.reason ?? null, count: a.count, escalationLevel: a.escalationLevel,
    };
  }

  /**
   * Runs `fn` in a savepoint of its own: if it throws, what it wrote is undone and the
   * transaction around it (the writer's commit) goes on. Only inside the writer's commits.
   */
  atomically<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** A rule's watch: fires at `dueAt` unless removed first (a dose taken, back in the safe zone). */
  setWatch(deviceId: string, key: string, dueAt: Date, spec: unknown): void {
    this.s.setWatch.run(deviceId, key, dueAt.toISOString(), JSON.stringify(spec));
  }

  removeWatch(deviceId: string, key: string): void {
    this.s.removeWatch.run(deviceId, key);
  }

  /** Watches due at `now`, oldest first, with their raise spec as stored. */
  dueWatches(now: Date): { deviceId: string; key: string; spec: unknown }[] {
    return (this.s.dueWatches.all(now.toISOString()) as { device_id: string; key: string; spec: string }[])
      .map((w) => ({ deviceId: w.device_id, key: w.key, spec: JSON.parse(w.spec) as unknown }));
  }

  insert(a: Alarm, transitions: Transition[]): void {
    if (a.state !== 'resolved') this.withActive.add(a.deviceId);
    this.s.insert.run(this.row(a));
    this.record(a.id, transitions);
  }

  update(a: Alarm, transitions: Transition[]): void {
    if (a.state !== 'resolved') this.withActive.add(a.deviceId);
    this.s.update.run(this.row(a));
    this.record(a.id, transitions);
  }

  private record(alarmId: string, transitions: Transition[]): void {
    for (const t of transitions) {
      this.s.addTransition.run(alarmId, t.at, t.actor.type, t.actor.type === 'user' ? t.actor.id : null, t.actor.name, t.action, t.fromState, t.toState, t.priority, t.detail, t.said ? JSON.stringify(t.said) : null);
    }
  }

  addEvent(alarmId: string, event: DeviceEvent, receivedAt: Date): void {
    this.s.addEvent.run(alarmId, receivedAt.toISOString(), JSON.stringify(event));
  }

  get(id: string): Alarm | undefined {
    const r = this.s.get.get(id) as { data: string } | undefined;
    return r && (JSON.parse(r.data) as Alarm);
  }

  detail(id: string): AlarmDetail | undefined {
    const a = this.get(id);
    if (!a) return undefined;
    const events = (this.s.events.all(id) as { received_at: string; event: string }[]).map((e) => {
      const r = readableEvent(JSON.parse(e.event) as DeviceEvent, e.received_at);
      return { receivedAt: e.received_at, event: r.event, ...(r.repaired.length ? { repaired: r.repaired } : {}) };
    });
    const transitions = (this.s.transitions.all(id) as Record<string, string | number | null>[]).map((t): Transition => ({
      at: String(t.at),
      actor: t.actor_type === 'user' ? { type: 'user', id: String(t.actor_id), name: String(t.actor_name) } : { type: 'system', name: String(t.actor_name) },
      action: t.action as Transition['action'], fromState: t.from_state as AlarmState | null, toState: t.to_state as AlarmState,
      priority: Number(t.priority), detail: t.detail === null ? null : String(t.detail),
      said: t.said === null || t.said === undefined ? null : JSON.parse(String(t.said)) as Said,
    }));
    return { ...a, events, transitions };
  }

  active(key: string): Alarm | undefined {
    const r = this.s.active.get(key) as { data: string } | undefined;
    return r && (JSON.parse(r.data) as Alarm);
  }

  /** Forgets devices whose alarms are all resolved; only outside a transaction (false inside). */
  refreshActiveDevices(): boolean {
    return this.withActive.refresh();
  }

  activeForDevice(deviceId: string): Alarm[] {
    if (!this.withActive.has(deviceId)) return [];
    return (this.s.activeForDevice.all(`${deviceId}|`, `${deviceId}}`, deviceId) as { data: string }[]).map((r) => JSON.parse(r.data) as Alarm);
  }

  dueEscalations(now: Date): Alarm[] {
    return (this.s.dueEscalations.all(now.toISOString()) as { data: string }[]).map((r) => JSON.parse(r.data) as Alarm);
  }

  nextEscalationAt(): Date | null {
    const r = this.s.nextEscalation.get() as { at: string | null };
    return r.at ? new Date(r.at) : null;
  }

  /** How many alarms are open or acknowledged, by priority (for the metrics). */
  activeByPriority(): { priority: number; n: number }[] {
    return this.db.prepare("SELECT priority, count(*) AS n FROM alarms WHERE state != 'resolved' GROUP BY priority").all() as { priority: number; n: number }[];
  }

  /** Open and acknowledged alarms of the given municipalities ('all' for every one). */
  activeIn(tenantIds: readonly string[] | 'all'): Alarm[] {
    return this.search({ states: ['open', 'acknowledged'], tenantIds, limit: 100_000, offset: 0 });
  }

  search(q: { states?: readonly AlarmState[]; tenantIds: readonly string[] | 'all'; since?: string; deviceId?: string; limit: number; offset: number }): Alarm[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.deviceId) {
      where.push('device_id = ?');
      args.push(q.deviceId);
    }
    if (q.states?.length) {
      where.push(`state IN (${q.states.map(() => '?').join(', ')})`);
      args.push(...q.states);
    }
    if (q.tenantIds !== 'all') {
      if (q.tenantIds.length === 0) return [];
      where.push(`tenant_id IN (${q.tenantIds.map(() => '?').join(', ')})`);
      args.push(...q.tenantIds);
    }
    if (q.since) {
      where.push('updated_at >= ?');
      args.push(q.since);
    }
    const sql = `SELECT data FROM alarms ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`;
    return (this.db.prepare(sql).all(...args, q.limit, q.offset) as { data: string }[]).map((r) => JSON.parse(r.data) as Alarm);
  }
}
