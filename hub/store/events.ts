import type { DeviceEvent } from '../core/events.ts';
import type { Db } from './db.ts';

export type StoredEvent = { deviceId: string; tenantId: string; receivedAt: string; event: DeviceEvent };

/** Care events, kept in the operational store. Deduplicated on (device id, event id). */
export class EventStore {
  private readonly insertStmt;
  private readonly listStmt;

  constructor(db: Db) {
    this.insertStmt = db.prepare(
      'INSERT OR IGNORE INTO events (device_id, event_id, tenant_id, type, ts, received_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.listStmt = db.prepare(
      'SELECT device_id, tenant_id, received_at, payload FROM events WHERE device_id = ? ORDER BY ts DESC, received_at DESC LIMIT ?',
    );
  }

  /** Returns false when this (device, event id) was stored before. */
  insert(deviceId: string, tenantId: string, event: DeviceEvent, receivedAt: Date): boolean {
    return this.insertStmt.run(deviceId, event.id, tenantId, event.type, new Date(event.ts).toISOString(), receivedAt.toISOString(), JSON.stringify(event)).changes === 1;
  }

  listForDevice(deviceId: string, limit: number): StoredEvent[] {
    return (this.listStmt.all(deviceId, limit) as { device_id: string; tenant_id: string; received_at: string; payload: string }[])
      .map((r) => ({ deviceId: r.device_id, tenantId: r.tenant_id, receivedAt: r.received_at, event: JSON.parse(r.payload) as DeviceEvent }));
  }
}
