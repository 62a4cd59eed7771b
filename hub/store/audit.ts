/**
 * The append-only record of who looked at or changed what, when, from where and why (Normen).
 *
 * No route changes or deletes a row, and triggers refuse it in the database too. Each row also
 * carries the hash of the row before it (a chain): whoever removes or alters a row breaks the
 * chain at that place, and `verify` says where, so an auditor can prove nothing was removed.
 */
import type { Principal } from '../core/access.ts';
import { sha256 } from '../security/secrets.ts';
import type { Db } from './db.ts';

export type AuditEntry = {
  action: string;
  targetType: string;
  targetId: string | null;
  tenantId: string | null;
  /** Whose personal data it was, where it was a resident's. */
  residentId?: string | null;
  reason?: string | null;
  /** From where: the client's address. */
  source?: string | null;
};

/** Who: a signed-in user, or someone who is not (a failed sign-in names the user name tried). */
export type AuditActor = Pick<Principal, 'userId' | 'username' | 'role'> | { userId: string | null; username: string; role: string };

export type AuditRow = {
  id: number; at: string; userId: string | null; username: string; role: string; tenantId: string | null; action: string;
  targetType: string; targetId: string | null; residentId: string | null; reason: string | null; source: string | null; hash: string;
};

export type AuditQuery = { tenantIds: readonly string[] | 'all'; residentId?: string; userId?: string; from?: string; to?: string; limit: number; offset: number };

type Row = {
  id: number; at: string; user_id: string | null; username: string; role: string; tenant_id: string | null; action: string; target_type: string;
  target_id: string | null; resident_id: string | null; reason: string | null; source: string | null; prev_hash: string | null; hash: string | null;
};

/** The hash of a row: the one before it and every field, in a fixed order. */
export function rowHash(prev: string, r: Omit<Row, 'id' | 'prev_hash' | 'hash'>): string {
  return sha256(JSON.stringify([prev, r.at, r.user_id, r.username, r.role, r.tenant_id, r.action, r.target_type, r.target_id, r.resident_id, r.reason, r.source]));
}

const fromRow = (r: Row): AuditRow => ({
  id: r.id, at: r.at, userId: r.user_id, username: r.username, role: r.role, tenantId: r.tenant_id, action: r.action, targetType: r.target_type,
  targetId: r.target_id, residentId: r.resident_id, reason: r.reason, source: r.source, hash: r.hash ?? '',
});

export class AuditLog {
  private readonly s;

  constructor(private readonly db: Db) {
    this.s = {
      last: db.prepare('SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1').pluck(),
      insert: db.prepare(
        `INSERT INTO audit_log (at, user_id, username, role, tenant_id, action, target_type, target_id, resident_id, reason, source, prev_hash, hash)
         VALUES (@at, @user_id, @username, @role, @tenant_id, @action, @target_type, @target_id, @resident_id, @reason, @source, @prev_hash, @hash)`,
      ),
    };
  }

  record(who: AuditActor, e: AuditEntry, now: Date): void {
    this.recordMany(who, [e], now);
  }

  /** Several rows at once (a list is logged as the records it returned), chained in order. */
  recordMany(who: AuditActor, entries: readonly AuditEntry[], now: Date): void {
    if (entries.length === 0) return;
    this.db.transaction(() => {
      let prev = (this.s.last.get() as string | null | undefined) ?? '';
      for (const e of entries) {
        const r = {
          at: now.toISOString(), user_id: who.userId, username: who.username, role: who.role, tenant_id: e.tenantId, action: e.action,
          target_type: e.targetType, target_id: e.targetId, resident_id: e.residentId ?? null, reason: e.reason ?? null, source: e.source ?? null,
        };
        const hash = rowHash(prev, r);
        this.s.insert.run({ ...r, prev_hash: prev, hash });
        prev = hash;
      }
    })();
  }

  forTarget(targetType: string, targetId: string): { at: string; username: string; role: string; action: string; reason: string | null }[] {
    return this.db.prepare('SELECT at, username, role, action, reason FROM audit_log WHERE target_type = ? AND target_id = ? ORDER BY id')
      .all(targetType, targetId) as { at: string; username: string; role: string; action: string; reason: string | null }[];
  }

  search(q: AuditQuery): { rows: AuditRow[]; total: number } {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.tenantIds !== 'all') {
      if (q.tenantIds.length === 0) return { rows: [], total: 0 };
      where.push(`tenant_id IN (${q.tenantIds.map(() => '?').join(', ')})`);
      args.push(...q.tenantIds);
    }
    if (q.residentId) { where.push('resident_id = ?'); args.push(q.residentId); }
    if (q.userId) { where.push('user_id = ?'); args.push(q.userId); }
    if (q.from) { where.push('at >= ?'); args.push(q.from); }
    if (q.to) { where.push('at < ?'); args.push(q.to); }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = this.db.prepare(`SELECT count(*) FROM audit_log ${w}`).pluck().get(...args) as number;
    const rows = (this.db.prepare(`SELECT * FROM audit_log ${w} ORDER BY id DESC LIMIT ? OFFSET ?`).all(...args, q.limit, q.offset) as Row[]).map(fromRow);
    return { rows, total };
  }

  /** Walks the chain (from where pruning left it): the first row whose hash does not follow from the one before, if any. */
  verify(): { ok: boolean; rows: number; brokenAt: number | null } {
    const anchor = this.db.prepare('SELECT hash FROM audit_anchor WHERE id = 1').pluck().get() as string | undefined;
    let prev = anchor ?? '';
    let n = 0;
    for (const r of this.db.prepare('SELECT * FROM audit_log ORDER BY id').iterate() as Iterable<Row>) {
      n++;
      if (r.prev_hash !== prev || r.hash !== rowHash(prev, r)) return { ok: false, rows: n, brokenAt: r.id };
      prev = r.hash;
    }
    return { ok: true, rows: n, brokenAt: null };
  }
}

/** Chains the rows written before the chain existed (a migration step). */
export function chainExisting(db: Db): void {
  let prev = '';
  const set = db.prepare('UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?');
  for (const r of db.prepare('SELECT * FROM audit_log ORDER BY id').all() as Row[]) {
    const hash = rowHash(prev, { ...r, resident_id: r.resident_id ?? null, source: r.source ?? null });
    set.run(prev, hash, r.id);
    prev = hash;
  }
}

/**
 * Removes the oldest rows, older than `before`, as retention asks; the chain goes on from an
 * anchor (the hash of the last row removed), so it still proves that nothing else was removed.
 * Returns how many went.
 */
export function pruneAudit(db: Db, before: Date, now: Date): number {
  return db.transaction(() => {
    const last = db.prepare('SELECT id, hash FROM audit_log WHERE at < ? ORDER BY id DESC LIMIT 1').get(before.toISOString()) as { id: number; hash: string } | undefined;
    if (!last) return 0;
    db.exec('DROP TRIGGER audit_log_no_delete');
    const n = db.prepare('DELETE FROM audit_log WHERE id <= ?').run(last.id).changes;
    db.exec("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END");
    const before2 = (db.prepare('SELECT pruned FROM audit_anchor WHERE id = 1').pluck().get() as number | undefined) ?? 0;
    db.prepare('INSERT OR REPLACE INTO audit_anchor (id, after_id, hash, pruned, at) VALUES (1, ?, ?, ?, ?)').run(last.id, last.hash, before2 + n, now.toISOString());
    return n;
  })();
}
