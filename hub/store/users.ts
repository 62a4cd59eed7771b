import type { Principal, Role } from '../core/access.ts';
import type { User } from '../core/model.ts';
import { randomToken, shortId, tokenHash } from '../security/secrets.ts';
import type { Db } from './db.ts';

type UserRow = { id: string; username: string; role: Role; password_hash: string };

export class UserStore {
  constructor(private readonly db: Db) {}

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;
  }

  /** Returns null when the username is taken. */
  create(u: { username: string; passwordHash: string; role: Role; tenantIds: readonly string[] }, now: Date): User | null {
    const id = shortId('u');
    const insert = this.db.transaction(() => {
      const r = this.db.prepare('INSERT OR IGNORE INTO users (id, username, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(id, u.username, u.passwordHash, u.role, now.toISOString());
      if (r.changes === 0) return false;
      const link = this.db.prepare('INSERT INTO user_tenants (user_id, tenant_id) VALUES (?, ?)');
      for (const t of u.tenantIds) link.run(id, t);
      return true;
    });
    return insert() ? { id, username: u.username, role: u.role, tenantIds: [...u.tenantIds] } : null;
  }

  /** A user who may sign in (not disabled). */
  byUsername(username: string): (UserRow & { tenantIds: string[] }) | undefined {
    const row = this.db.prepare('SELECT id, username, role, password_hash FROM users WHERE username = ? AND disabled_at IS NULL').get(username) as UserRow | undefined;
    return row && { ...row, tenantIds: this.tenantsOf(row.id) };
  }

  private tenantsOf(userId: string): string[] {
    return (this.db.prepare('SELECT tenant_id FROM user_tenants WHERE user_id = ? ORDER BY tenant_id').all(userId) as { tenant_id: string }[])
      .map((r) => r.tenant_id);
  }

  /** Opens a session; the token is returned once and kept only as its hash. */
  openSession(userId: string, now: Date, ttlMs: number): { token: string; expiresAt: Date } {
    const token = randomToken(32);
    const expiresAt = new Date(now.getTime() + ttlMs);
    this.db.prepare('DELETE FROM sessions WHERE expires_at < ?').run(now.getTime());
    this.db.prepare('INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (?, ?, ?)')
      .run(tokenHash(token), userId, expiresAt.getTime());
    return { token, expiresAt };
  }

  /** Ends a session; returns its id (the token's hash), which names it to the live channel. */
  closeSession(token: string): string {
    const sessionId = tokenHash(token);
    this.db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(sessionId);
    return sessionId;
  }

  principalForToken(token: string, now: Date): Principal | null {
    return this.principalForSession(tokenHash(token), now);
  }

  /** The user of a live session: null when it ended, expired, or the user was disabled. */
  principalForSession(sessionId: string, now: Date): Principal | null {
    const row = this.db.prepare(
      `SELECT u.id, u.username, u.role FROM sessions s JOIN users u ON u.id = s.user_id
       WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled_at IS NULL`,
    ).get(sessionId, now.getTime()) as { id: string; username: string; role: Role } | undefined;
    if (!row) return null;
    return { userId: row.id, username: row.username, role: row.role, tenantIds: this.tenantsOf(row.id), sessionId };
  }

  /** Disables or enables a user. A disabled user's sessions stop working at once. */
  setDisabled(userId: string, disabled: boolean, now: Date): boolean {
    return this.db.prepare('UPDATE users SET disabled_at = ? WHERE id = ?').run(disabled ? now.toISOString() : null, userId).changes === 1;
  }

  /** Changes a user's role and municipalities. */
  setAccess(userId: string, role: Role, tenantIds: readonly string[]): boolean {
    return this.db.transaction(() => {
      if (this.db.prepare('UPDATE users SET role = ? WHERE id = ?').run(role, userId).changes !== 1) return false;
      this.db.prepare('DELETE FROM user_tenants WHERE user_id = ?').run(userId);
      const link = this.db.prepare('INSERT INTO user_tenants (user_id, tenant_id) VALUES (?, ?)');
      for (const t of tenantIds) link.run(userId, t);
      return true;
    })();
  }
}
