import type { Principal } from '../core/access.ts';
import type { Db } from './db.ts';

export type AuditEntry = {
  action: string;
  targetType: string;
  targetId: string | null;
  tenantId: string | null;
  reason?: string | null;
};

/** The append-only record of who looked at or changed what, when and why (Normen). */
export class AuditLog {
  private readonly insert;

  constructor(private readonly db: Db) {
    this.insert = db.prepare(
      `INSERT INTO audit_log (at, user_id, username, role, tenant_id, action, target_type, target_id, reason)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  record(who: Principal, e: AuditEntry, now: Date): void {
    this.insert.run(now.toISOString(), who.userId, who.username, who.role, e.tenantId, e.action, e.targetType, e.targetId, e.reason ?? null);
  }

  forTarget(targetType: string, targetId: string): { at: string; username: string; role: string; action: string; reason: string | null }[] {
    return this.db.prepare('SELECT at, username, role, action, reason FROM audit_log WHERE target_type = ? AND target_id = ? ORDER BY id')
      .all(targetType, targetId) as { at: string; username: string; role: string; action: string; reason: string | null }[];
  }
}
