/**
 * A resident's rights over their data: everything the hub holds about them, as JSON; and erasure:
 * what names, describes or places the person is removed, while the counts statistics are made of
 * stay (the resident becomes an anonymous id; devices, alarm types and times remain). The
 * access log is kept, as the law asks, and records the export and the erasure themselves.
 */
import type { Alarm } from '../core/alarms.ts';
import type { Device, Resident } from '../core/model.ts';
import type { AlarmStore } from '../store/alarms.ts';
import type { AuditLog } from '../store/audit.ts';
import type { Db } from '../store/db.ts';
import type { DeviceStore } from '../store/devices.ts';
import type { EventStore } from '../store/events.ts';
import type { ResidentStore } from '../store/residents.ts';
import type { TimeSeriesStore } from '../timeseries/types.ts';
import { eventFromTelemetry } from '../timeseries/measurements.ts';

export type SubjectDeps = { db: Db; residents: ResidentStore; devices: DeviceStore; events: EventStore; alarms: AlarmStore; audit: AuditLog; timeseries: TimeSeriesStore };

/** Shown in place of an erased resident's name and address. */
export const ERASED = { name: 'Slettet / Erased', address: '–' };

export class DataSubjects {
  constructor(private readonly d: SubjectDeps) {}

  private devicesOf(residentId: string): Device[] {
    const ids = this.d.db.prepare('SELECT id FROM devices WHERE resident_id = ? OR id IN (SELECT device_id FROM device_assignments WHERE from_resident = ? OR to_resident = ?)')
      .pluck().all(residentId, residentId, residentId) as string[];
    return ids.map((id) => this.d.devices.get(id)).filter((x): x is Device => !!x);
  }

  private alarmIdsOf(residentId: string): string[] {
    return this.d.db.prepare("SELECT id FROM alarms WHERE json_extract(data, '$.residentId') = ? ORDER BY created_at").pluck().all(residentId) as string[];
  }

  /** Everything about one resident. */
  async export(resident: Resident): Promise<Record<string, unknown>> {
    const devices = this.devicesOf(resident.id);
    const perDevice = await Promise.all(devices.map(async (dev) => ({
      device: dev,
      events: this.d.events.listForDevice(dev.id, 100_000),
      telemetry: (await this.d.timeseries.query({ measurement: 'device_telemetry', tags: { device: dev.id }, from: new Date(0), to: new Date(Date.UTC(2200, 0, 1)) })).map(eventFromTelemetry),
    })));
    const alarms = this.alarmIdsOf(resident.id).map((id) => this.d.alarms.detail(id)).filter(Boolean);
    const accessLog = this.d.audit.search({ tenantIds: 'all', residentId: resident.id, limit: 1_000_000, offset: 0 }).rows;
    return { resident, devices: perDevice, alarms, accessLog };
  }

  /**
   * Erases what is personal about a resident; returns what was touched. Alarm transitions are
   * append-only: for this one lawful change, their guard is lifted inside the same transaction.
   */
  async erase(resident: Resident, now: Date): Promise<{ devices: number; events: number; alarms: number }> {
    const devices = this.devicesOf(resident.id);
    const deviceIds = devices.map((x) => x.id);
    const alarmIds = this.alarmIdsOf(resident.id);
    const result = this.d.db.transaction(() => {
      this.d.db.prepare("UPDATE residents SET name = ?, address = ?, details = '{}', updated_at = ?, erased_at = ? WHERE id = ?")
        .run(ERASED.name, ERASED.address, now.toISOString(), now.toISOString(), resident.id);
      let events = 0;
      for (const id of deviceIds) {
        this.d.devices.erasePositions(id);
        events += this.d.db.prepare("UPDATE events SET payload = json_remove(payload, '$.lat', '$.lon') WHERE device_id = ? AND (json_extract(payload, '$.lat') IS NOT NULL OR json_extract(payload, '$.lon') IS NOT NULL)").run(id).changes;
        this.d.db.prepare('DELETE FROM watches WHERE device_id = ?').run(id);
      }
      this.d.db.exec('DROP TRIGGER alarm_transitions_no_update');
      for (const id of alarmIds) {
        const a = this.d.alarms.get(id) as Alarm;
        const cleaned: Alarm = { ...a, residentId: a.residentId, ...(a.resolution ? { resolution: { ...a.resolution, note: '' } } : {}) };
        this.d.db.prepare('UPDATE alarms SET data = ? WHERE id = ?').run(JSON.stringify(cleaned), id);
        this.d.db.prepare("UPDATE alarm_events SET event = json_remove(event, '$.lat', '$.lon') WHERE alarm_id = ?").run(id);
        // Notes and resolution texts are free text: they may hold anything about the person.
        this.d.db.prepare("UPDATE alarm_transitions SET detail = NULL, said = NULL WHERE alarm_id = ? AND action IN ('resolved', 'note')").run(id);
      }
      this.d.db.exec("CREATE TRIGGER alarm_transitions_no_update BEFORE UPDATE ON alarm_transitions BEGIN SELECT RAISE(ABORT, 'transitions are append-only'); END");
      return { devices: deviceIds.length, events, alarms: alarmIds.length };
    })();
    // Where the person was, in the time series too.
    for (const id of deviceIds) await this.d.timeseries.deletePoints({ measurement: 'device_telemetry', tags: { device: id } });
    return result;
  }
}
