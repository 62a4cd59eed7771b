import type { NewResident, Resident } from '../core/model.ts';
import { shortId } from '../security/secrets.ts';
import type { Db } from './db.ts';

type Row = { id: string; tenant_id: string; name: string; address: string; details: string; created_at: string; updated_at: string };

function fromRow(r: Row): Resident {
  return { id: r.id, tenantId: r.tenant_id, name: r.name, address: r.address, ...JSON.parse(r.details), createdAt: r.created_at, updatedAt: r.updated_at };
}

export class ResidentStore {
  constructor(private readonly db: Db) {}

  create(input: NewResident, now: Date): Resident {
    const { tenantId, name, address, ...details } = input;
    const id = shortId('r');
    const at = now.toISOString();
    this.db.prepare('INSERT INTO residents (id, tenant_id, name, address, details, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(id, tenantId, name, address, JSON.stringify(details), at, at);
    return { id, tenantId, name, address, ...details, createdAt: at, updatedAt: at };
  }

  get(id: string): Resident | undefined {
    const r = this.db.prepare('SELECT * FROM residents WHERE id = ?').get(id) as Row | undefined;
    return r && fromRow(r);
  }

  list(tenantIds: readonly string[] | 'all'): Resident[] {
    const rows = tenantIds === 'all'
      ? this.db.prepare('SELECT * FROM residents ORDER BY tenant_id, name').all() as Row[]
      : tenantIds.flatMap((t) => this.db.prepare('SELECT * FROM residents WHERE tenant_id = ? ORDER BY name').all(t) as Row[]);
    return rows.map(fromRow);
  }
}
