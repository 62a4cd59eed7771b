/**
 * What statistics read from the operational store: the alarms operators worked on, the devices,
 * dose and door events. Read-only; each query narrows by municipality and period on an index.
 */
import type { Alarm } from '../core/alarms.ts';
import { DEFAULT_TARGETS, type DeviceRecord, type DoseRecord, type Period, type Targets } from '../core/stats.ts';
import type { DeviceKind } from '../core/events.ts';
import type { Db } from './db.ts';

export class StatsStore {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      alarms: db.prepare('SELECT data FROM alarms WHERE tenant_id = ? AND created_at >= ? AND created_at < ?').pluck(),
      devices: db.prepare('SELECT id, kind, resident_id, created_at, decommissioned_at, last_passed_test_at FROM devices WHERE tenant_id = ?'),
      doses: db.prepare("SELECT type, received_at, payload FROM events WHERE tenant_id = ? AND type IN ('dose_due', 'dose_taken', 'dose_missed') AND received_at >= ? AND received_at < ?"),
      unlocks: db.prepare("SELECT received_at FROM events WHERE tenant_id = ? AND type = 'unlocked' AND received_at >= ? AND received_at < ? AND json_extract(payload, '$.by') = 'staff' ORDER BY received_at").pluck(),
      targets: db.prepare('SELECT target_within_60s, target_within_180s FROM tenants WHERE id = ?'),
      setTargets: db.prepare('UPDATE tenants SET target_within_60s = ?, target_within_180s = ? WHERE id = ?'),
      doseWindow: db.prepare("SELECT json_extract(body, '$.withinMinutes') FROM rules WHERE tenant_id = ? AND json_extract(body, '$.kind') = 'absence' AND json_extract(body, '$.watch') = 'dose' AND json_extract(body, '$.enabled') = 1 LIMIT 1").pluck(),
    };
  }

  /** Alarms created in the period. */
  alarms(tenantId: string, p: Period): Alarm[] {
    return (this.s.alarms.all(tenantId, p.from.toISOString(), p.to.toISOString()) as string[]).map((d) => JSON.parse(d) as Alarm);
  }

  devices(tenantId: string): DeviceRecord[] {
    return (this.s.devices.all(tenantId) as { id: string; kind: DeviceKind; resident_id: string | null; created_at: string; decommissioned_at: string | null; last_passed_test_at: string | null }[])
      .map((r) => ({ id: r.id, kind: r.kind, residentId: r.resident_id, createdAt: r.created_at, decommissionedAt: r.decommissioned_at, lastPassedTestAt: r.last_passed_test_at }));
  }

  doses(tenantId: string, p: Period): DoseRecord[] {
    return (this.s.doses.all(tenantId, p.from.toISOString(), p.to.toISOString()) as { type: DoseRecord['type']; received_at: string; payload: string }[]).map((r) => {
      const e = JSON.parse(r.payload) as { scheduledAt: string; takenAt?: string };
      return { type: r.type, at: r.received_at, scheduledAt: e.scheduledAt, takenAt: e.takenAt };
    });
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
