import type { Tenant } from '../core/model.ts';
import type { Db } from './db.ts';

export class TenantStore {
  constructor(private readonly db: Db) {}

  /** Returns false when the id is taken. */
  create(t: Tenant, now: Date): boolean {
    const r = this.db.prepare('INSERT OR IGNORE INTO tenants (id, name, created_at) VALUES (?, ?, ?)')
      .run(t.id, t.name, now.toISOString());
    return r.changes === 1;
  }

  get(id: string): Tenant | undefined {
    return this.db.prepare('SELECT id, name FROM tenants WHERE id = ?').get(id) as Tenant | undefined;
  }

  /** All tenants, or only those listed. */
  list(only?: readonly string[]): Tenant[] {
    const all = this.db.prepare('SELECT id, name FROM tenants ORDER BY id').all() as Tenant[];
    return only ? all.filter((t) => only.includes(t.id)) : all;
  }
}
