import type { DeviceEvent } from '../core/events.ts';
import { contentHash } from '../security/secrets.ts';
import type { Db } from './db.ts';

export type StoredEvent = { deviceId: string; tenantId: string; receivedAt: string; event: DeviceEvent };

/**
 * What storing an event came to: `new`; `duplicate`, a true retry (same id, same content), stored
 * once; or `conflict`, an id the device used before for other content (its counter restarted):
 * that is another event, stored and acted on like any new one.
 */
export type InsertOutcome = 'new' | 'duplicate' | 'conflict';

/** Care events, kept in the operational store. Deduplicated on (device id, event id, content). */
export class EventStore {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      insert: db.prepare(
        'INSERT OR IGNORE INTO events (device_id, event_id, content_hash, tenant_id, type, ts, received_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      idUsed: db.prepare('SELECT count(*) AS n FROM events WHERE device_id = ? AND event_id = ?').pluck(),
      list: db.prepare(
        'SELECT device_id, tenant_id, received_at, payload FROM events WHERE device_id = ? ORDER BY received_at DESC LIMIT ?',
      ),
    };
  }

  insert(deviceId: string, tenantId: string, event: DeviceEvent, receivedAt: Date): InsertOutcome {
    const payload = JSON.stringify(event);
    const r = this.s.insert.run(deviceId, event.id, contentHash(payload), tenantId, event.type, new Date(event.ts).toISOString(), receivedAt.toISOString(), payload);
    if (r.changes === 0) return 'duplicate';
    return (this.s.idUsed.get(deviceId, event.id) as number) > 1 ? 'conflict' : 'new';
  }

  /** Newest first by the hub's received time: a device clock far off cannot push its events to the top. */
  listForDevice(deviceId: string, limit: number): StoredEvent[] {
    return (this.s.list.all(deviceId, limit) as { device_id: string; tenant_id: string; received_at: string; payload: string }[])
      .map((r) => ({ deviceId: r.device_id, tenantId: r.tenant_id, receivedAt: r.received_at, event: JSON.parse(r.payload) as DeviceEvent }));
  }
}
