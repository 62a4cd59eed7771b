import type { Principal, Role } from '../core/access.ts';
import type { User } from '../core/model.ts';
import { randomToken, shortId, tokenHash } from '../security/secrets.ts';
import type { Db } from './db.ts';

type UserRow = {
  id: string; username: string; role: Role; password_hash: string; all_tenants: number; must_change_password: number; disabled_at: string | null; created_at: string;
};

/** How long a session lasts: at most `maxMs` after sign-in, and at most `idleMs` after the user was last active. */
export type SessionPolicy = { maxMs: number; idleMs: number };

export class UserStore {
  constructor(private readonly db: Db, private readonly sessions: SessionPolicy = { maxMs: 12 * 3600_000, idleMs: 12 * 3600_000 }) {}

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;
  }

  /** Returns null when the username is taken. */
  create(u: { username: string; passwordHash: string; role: Role; tenantIds: readonly string[]; allTenants?: boolean; mustChangePassword?: boolean }, now: Date): User | null {
    const id = shortId('u');
    const insert = this.db.transaction(() => {
      const r = this.db.prepare('INSERT OR IGNORE INTO users (id, username, password_hash, role, created_at, all_tenants, must_change_password) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(id, u.username, u.passwordHash, u.role, now.toISOString(), u.allTenants ? 1 : 0, u.mustChangePassword ? 1 : 0);
      if (r.changes === 0) return false;
      const link = this.db.prepare('INSERT INTO user_tenants (user_id, tenant_id) VALUES (?, ?)');
      for (const t of u.tenantIds) link.run(id, t);
      return true;
    });
    return insert() ? this.get(id) ?? null : null;
  }

  private toUser(r: UserRow): User {
    return {
      id: r.id, username: r.username, role: r.role, tenantIds: this.tenantsOf(r.id), allTenants: r.all_tenants === 1,
      disabled: r.disabled_at !== null, mustChangePassword: r.must_change_password === 1, createdAt: r.created_at,
    };
  }

  get(id: string): User | undefined {
    const r = this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
    return r && this.toUser(r);
  }

  /** Every user, or those serving one of the municipalities given (an administrator sees the users of their municipalities). */
  list(tenantIds: readonly string[] | 'all'): User[] {
    const rows = this.db.prepare('SELECT * FROM users ORDER BY username').all() as UserRow[];
    const users = rows.map((r) => this.toUser(r));
    return tenantIds === 'all' ? users : users.filter((u) => !u.allTenants && u.tenantIds.length > 0 && u.tenantIds.every((t) => tenantIds.includes(t)));
  }

  /** A user who may sign in (not disabled). */
  byUsername(username: string): (UserRow & { tenantIds: string[] }) | undefined {
    const row = this.db.prepare('SELECT * FROM users WHERE username = ? AND disabled_at IS NULL').get(username) as UserRow | undefined;
    return row && { ...row, tenantIds: this.tenantsOf(row.id) };
  }

  passwordHash(userId: string): string | undefined {
    return (this.db.prepare('SELECT password_hash FROM users WHERE id = ?').pluck().get(userId) as string | undefined);
  }

  setPassword(userId: string, passwordHash: string, mustChange: boolean): void {
    this.db.prepare('UPDATE users SET password_hash = ?, must_change_password = ? WHERE id = ?').run(passwordHash, mustChange ? 1 : 0, userId);
  }

  private tenantsOf(userId: string): string[] {
    return (this.db.prepare('SELECT tenant_id FROM user_tenants WHERE user_id = ? ORDER BY tenant_id').all(userId) as { tenant_id: string }[])
      .map((r) => r.tenant_id);
  }

  /** Opens a session; the token is returned once and kept only as its hash. */
  openSession(userId: string, now: Date): { token: string; expiresAt: Date } {
    const token = randomToken(32);
    const expiresAt = new Date(now.getTime() + this.sessions.maxMs);
    this.db.prepare('DELETE FROM sessions WHERE expires_at < ? OR last_active_at < ?').run(now.getTime(), now.getTime() - this.sessions.idleMs);
    this.db.prepare('INSERT INTO sessions (token_hash, user_id, expires_at, last_active_at) VALUES (?, ?, ?, ?)')
      .run(tokenHash(token), userId, expiresAt.getTime(), now.getTime());
    return { token, expiresAt };
  }

  /** Ends a session; returns its id (the token's hash), which names it to the live channel. */
  closeSession(token: string): string {
    const sessionId = tokenHash(token);
    this.db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(sessionId);
    return sessionId;
  }

  /** Ends every session of a user but `except`; returns their ids. */
  closeSessionsOf(userId: string, except = ''): string[] {
    const ids = this.db.prepare('SELECT token_hash FROM sessions WHERE user_id = ? AND token_hash != ?').pluck().all(userId, except) as string[];
    this.db.prepare('DELETE FROM sessions WHERE user_id = ? AND token_hash != ?').run(userId, except);
    return ids;
  }

  principalForToken(token: string, now: Date): Principal | null {
    return this.principalForSession(tokenHash(token), now);
  }

  /**
   * The user of a live session: null when it ended, expired (absolutely or for inactivity), or
   * the user was disabled. `touch` counts this as activity (a request; an open live channel).
   */
  principalForSession(sessionId: string, now: Date, touch = true): Principal | null {
    const row = this.db.prepare(
      `SELECT u.id, u.username, u.role, u.all_tenants, u.must_change_password, s.last_active_at FROM sessions s JOIN users u ON u.id = s.user_id
       WHERE s.token_hash = ? AND s.expires_at > ? AND s.last_active_at > ? AND u.disabled_at IS NULL`,
    ).get(sessionId, now.getTime(), now.getTime() - this.sessions.idleMs) as
      { id: string; username: string; role: Role; all_tenants: number; must_change_password: number; last_active_at: number } | undefined;
    if (!row) return null;
    // Written at most once a minute: activity is a matter of minutes, and reads should stay reads.
    if (touch && now.getTime() - row.last_active_at > 60_000) this.db.prepare('UPDATE sessions SET last_active_at = ? WHERE token_hash = ?').run(now.getTime(), sessionId);
    return {
      userId: row.id, username: row.username, role: row.role, tenantIds: this.tenantsOf(row.id), sessionId,
      ...(row.all_tenants === 1 ? { allTenants: true } : {}), ...(row.must_change_password === 1 ? { mustChangePassword: true } : {}),
    };
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
