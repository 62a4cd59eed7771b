/**
 * Commands to devices wait here, in the operational store, until the device has acknowledged
 * them (its PUBACK at QoS 1) or they expire. A device may be offline when a command is made, and
 * the hub may restart before the device comes back: the command is still delivered.
 */
import { shortId } from '../security/secrets.ts';
import type { Db } from './db.ts';

export type Command = { type: string } & Record<string, unknown>;

export type OutboxEntry = {
  id: string;
  deviceId: string;
  tenantId: string;
  type: string;
  /** What the device receives: the command with its `id`, by which it is acknowledged and deduplicated. */
  payload: Command & { id: string };
  createdAt: string;
  expiresAt: string;
  attempts: number;
  lastSentAt: string | null;
  ackedAt: string | null;
  expiredAt: string | null;
};

type Row = {
  id: string; device_id: string; tenant_id: string; type: string; payload: string; created_at: string; expires_at: string;
  attempts: number; last_sent_at: string | null; acked_at: string | null; expired_at: string | null;
};

const fromRow = (r: Row): OutboxEntry => ({
  id: r.id, deviceId: r.device_id, tenantId: r.tenant_id, type: r.type, payload: JSON.parse(r.payload) as OutboxEntry['payload'],
  createdAt: r.created_at, expiresAt: r.expires_at, attempts: r.attempts, lastSentAt: r.last_sent_at, ackedAt: r.acked_at, expiredAt: r.expired_at,
});

export class CommandOutbox {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      insert: db.prepare('INSERT INTO outbox (id, device_id, tenant_id, type, payload, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      pending: db.prepare(`SELECT * FROM outbox WHERE device_id = ? AND acked_at IS NULL AND expired_at IS NULL AND expires_at > ?
        ORDER BY created_at, id`),
      sent: db.prepare('UPDATE outbox SET attempts = attempts + 1, last_sent_at = ? WHERE id = ?'),
      acked: db.prepare('UPDATE outbox SET acked_at = ? WHERE id = ? AND device_id = ? AND acked_at IS NULL'),
      expire: db.prepare(`UPDATE outbox SET expired_at = ? WHERE acked_at IS NULL AND expired_at IS NULL AND expires_at <= ?
        RETURNING id, device_id, type`),
      forDevice: db.prepare('SELECT * FROM outbox WHERE device_id = ? ORDER BY created_at DESC, id DESC LIMIT ?'),
    };
  }

  /** Records a command for a device; call inside the commit of what caused it. */
  enqueue(deviceId: string, tenantId: string, command: Command, now: Date, ttlSeconds: number): OutboxEntry {
    const id = shortId('cmd');
    const payload = { ...command, id };
    const expiresAt = new Date(now.getTime() + ttlSeconds * 1000).toISOString();
    this.s.insert.run(id, deviceId, tenantId, command.type, JSON.stringify(payload), now.toISOString(), expiresAt);
    return { id, deviceId, tenantId, type: command.type, payload, createdAt: now.toISOString(), expiresAt, attempts: 0, lastSentAt: null, ackedAt: null, expiredAt: null };
  }

  /** Commands the device has not acknowledged and that have not expired, oldest first. */
  pending(deviceId: string, now: Date): OutboxEntry[] {
    return (this.s.pending.all(deviceId, now.toISOString()) as Row[]).map(fromRow);
  }

  markSent(id: string, at: Date): void {
    this.s.sent.run(at.toISOString(), id);
  }

  /** The device acknowledged the command; false when it was not pending for this device. */
  markAcked(deviceId: string, id: string, at: Date): boolean {
    return this.s.acked.run(at.toISOString(), id, deviceId).changes === 1;
  }

  /** Marks commands past their time as expired and returns them. */
  expire(now: Date): { id: string; deviceId: string; type: string }[] {
    return (this.s.expire.all(now.toISOString(), now.toISOString()) as { id: string; device_id: string; type: string }[])
      .map((r) => ({ id: r.id, deviceId: r.device_id, type: r.type }));
  }

  listForDevice(deviceId: string, limit: number): OutboxEntry[] {
    return (this.s.forDevice.all(deviceId, limit) as Row[]).map(fromRow);
  }
}
