/**
 * What statistics read from the operational store: the alarms operators worked on, the devices,
 * dose and door events. Read-only; each query narrows by municipality and period on an index.
 */
import { DEFAULT_TARGETS, type DeviceRecord, type DoseSummaryInput, type Period, type StatAlarm, type Targets } from '../core/stats.ts';
import type { DeviceKind } from '../core/events.ts';
import type { Db } from './db.ts';

export class StatsStore {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      alarms: db.prepare(`SELECT type, category, priority, created_at, acknowledged_at, resolved_at, repeat_count, escalation_level, device_id, is_test, reason
        FROM alarms WHERE tenant_id = ? AND created_at >= ? AND created_at < ?`).raw(),
      devices: db.prepare('SELECT id, kind, resident_id, created_at, decommissioned_at, last_passed_test_at FROM devices WHERE tenant_id = ?'),
      doseCount: db.prepare('SELECT count(*) FROM events WHERE tenant_id = ? AND type = ? AND received_at >= ? AND received_at < ?').pluck(),
      taken: db.prepare("SELECT received_at, json_extract(payload, '$.scheduledAt') AS scheduled_at, json_extract(payload, '$.takenAt') AS taken_at FROM events WHERE tenant_id = ? AND type = 'dose_taken' AND received_at >= ? AND received_at < ?"),
      unlockCount: db.prepare("SELECT count(*) FROM events WHERE tenant_id = ? AND type = 'unlocked' AND received_at >= ? AND received_at < ? AND json_extract(payload, '$.by') = 'staff'").pluck(),
      unlocks: db.prepare("SELECT received_at FROM events WHERE tenant_id = ? AND type = 'unlocked' AND received_at >= ? AND received_at < ? AND json_extract(payload, '$.by') = 'staff' ORDER BY received_at").pluck(),
      targets: db.prepare('SELECT target_within_60s, target_within_180s FROM tenants WHERE id = ?'),
      setTargets: db.prepare('UPDATE tenants SET target_within_60s = ?, target_within_180s = ? WHERE id = ?'),
      doseWindow: db.prepare("SELECT json_extract(body, '$.withinMinutes') FROM rules WHERE tenant_id = ? AND json_extract(body, '$.kind') = 'absence' AND json_extract(body, '$.watch') = 'dose' AND json_extract(body, '$.enabled') = 1 LIMIT 1").pluck(),
    };
  }

  /** Alarms created in the period. */
  alarms(tenantId: string, p: Period): StatAlarm[] {
    type R = [string, 'care' | 'technical', number, string, string | null, string | null, number, number, string | null, number, string | null];
    return (this.s.alarms.all(tenantId, p.from.toISOString(), p.to.toISOString()) as R[]).map((r) => ({
      type: r[0], category: r[1], priority: r[2], createdAt: r[3], acknowledgedAt: r[4], resolvedAt: r[5], count: r[6], escalationLevel: r[7],
      deviceId: r[8], test: r[9] === 1, reason: r[10],
    }));
  }

  devices(tenantId: string): DeviceRecord[] {
    return (this.s.devices.all(tenantId) as { id: string; kind: DeviceKind; resident_id: string | null; created_at: string; decommissioned_at: string | null; last_passed_test_at: string | null }[])
      .map((r) => ({ id: r.id, kind: r.kind, residentId: r.resident_id, createdAt: r.created_at, decommissionedAt: r.decommissioned_at, lastPassedTestAt: r.last_passed_test_at }));
  }

  /** Doses due and missed are counted; doses taken come with their times, to tell the late ones. */
  doses(tenantId: string, p: Period): DoseSummaryInput {
    const a = [p.from.toISOString(), p.to.toISOString()];
    return {
      due: this.s.doseCount.get(tenantId, 'dose_due', ...a) as number,
      missed: this.s.doseCount.get(tenantId, 'dose_missed', ...a) as number,
      taken: (this.s.taken.all(tenantId, ...a) as { received_at: string; scheduled_at: string; taken_at: string | null }[])
        .map((r) => ({ at: r.received_at, scheduledAt: r.scheduled_at, takenAt: r.taken_at ?? undefined })),
    };
  }

  staffUnlockCount(tenantId: string, p: Period): number {
    return this.s.unlockCount.get(tenantId, p.from.toISOString(), p.to.toISOString()) as number;
  }

  staffUnlocks(tenantId: string, p: Period): string[] {
    return this.s.unlocks.all(tenantId, p.from.toISOString(), p.to.toISOString()) as string[];
  }

  targets(tenantId: string): Targets {
    const r = this.s.targets.get(tenantId) as { target_within_60s: number | null; target_within_180s: number | null } | undefined;
    return { within60s: r?.target_within_60s ?? DEFAULT_TARGETS.within60s, within180s: r?.target_within_180s ?? DEFAULT_TARGETS.within180s };
  }

  setTargets(tenantId: string, t: Targets): boolean {
    return this.s.setTargets.run(t.within60s, t.within180s, tenantId).changes === 1;
  }

  /** The municipality's dose window (its dose rule), 60 minutes when it has none. */
  doseWindowMinutes(tenantId: string): number {
    return (this.s.doseWindow.get(tenantId) as number | undefined) ?? 60;
  }
}
