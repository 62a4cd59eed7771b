import { type DeviceTest, isOpen, type TestState } from '../core/chain-test.ts';
import type { Db } from './db.ts';
import { PossibleIds } from './possible-ids.ts';

type Row = {
  id: string; device_id: string; tenant_id: string; state: TestState; started_at: string; started_by: string; expires_at: string;
  alarm_id: string | null; ended_at: string | null; ended_by: string | null; detail: string | null;
};

const fromRow = (r: Row): DeviceTest => ({
  id: r.id, deviceId: r.device_id, tenantId: r.tenant_id, state: r.state, startedAt: r.started_at, startedBy: r.started_by,
  expiresAt: r.expires_at, alarmId: r.alarm_id, endedAt: r.ended_at, endedBy: r.ended_by, detail: r.detail,
});

const OPEN = "state IN ('waiting', 'alarm_raised')";

/** Chain tests of devices. */
export class DeviceTestStore {
  private readonly s;
  /** Devices that may have an open test (see PossibleIds): nearly none, and every event asks. */
  private readonly withOpen: PossibleIds;

  constructor(db: Db) {
    this.withOpen = new PossibleIds(db, () => db.prepare(`SELECT DISTINCT device_id FROM device_tests WHERE ${OPEN}`).pluck().all() as string[]);
    this.s = {
      insert: db.prepare(`INSERT INTO device_tests (id, device_id, tenant_id, state, started_at, started_by, expires_at, alarm_id, ended_at, ended_by, detail)
        VALUES (@id, @deviceId, @tenantId, @state, @startedAt, @startedBy, @expiresAt, @alarmId, @endedAt, @endedBy, @detail)`),
      update: db.prepare('UPDATE device_tests SET state = @state, alarm_id = @alarmId, ended_at = @endedAt, ended_by = @endedBy, detail = @detail WHERE id = @id'),
      get: db.prepare('SELECT * FROM device_tests WHERE id = ?'),
      open: db.prepare(`SELECT * FROM device_tests WHERE device_id = ? AND ${OPEN} ORDER BY started_at DESC LIMIT 1`),
      byAlarm: db.prepare(`SELECT * FROM device_tests WHERE alarm_id = ? AND ${OPEN}`),
      due: db.prepare(`SELECT * FROM device_tests WHERE ${OPEN} AND expires_at <= ? ORDER BY expires_at`),
      list: db.prepare('SELECT * FROM device_tests WHERE device_id = ? ORDER BY started_at DESC, id DESC LIMIT ?'),
    };
  }

  insert(t: DeviceTest): void {
    if (isOpen(t)) this.withOpen.add(t.deviceId);
    this.s.insert.run(t);
  }

  update(t: DeviceTest): void {
    if (isOpen(t)) this.withOpen.add(t.deviceId);
    this.s.update.run(t);
  }

  /** Forgets devices whose tests have all ended; only outside a transaction (false inside). */
  refreshOpen(): boolean {
    return this.withOpen.refresh();
  }

  get(id: string): DeviceTest | undefined {
    const r = this.s.get.get(id) as Row | undefined;
    return r && fromRow(r);
  }

  /** The device's test still waiting or with its alarm in the queue, if any. */
  openFor(deviceId: string): DeviceTest | undefined {
    if (!this.withOpen.has(deviceId)) return undefined;
    const r = this.s.open.get(deviceId) as Row | undefined;
    return r && fromRow(r);
  }

  openForAlarm(alarmId: string): DeviceTest | undefined {
    const r = this.s.byAlarm.get(alarmId) as Row | undefined;
    return r && fromRow(r);
  }

  /** Open tests whose window has ended. */
  due(now: Date): DeviceTest[] {
    return (this.s.due.all(now.toISOString()) as Row[]).map(fromRow);
  }

  listForDevice(deviceId: string, limit = 50): DeviceTest[] {
    return (this.s.list.all(deviceId, limit) as Row[]).map(fromRow);
  }
}
