import type { NewResident, Resident, ResidentUpdate } from '../core/model.ts';
import type { ResidentFacts } from '../core/rules.ts';
import { shortId } from '../security/secrets.ts';
import type { Db } from './db.ts';

type Row = { id: string; tenant_id: string; name: string; address: string; details: string; created_at: string; updated_at: string; erased_at?: string | null };

function fromRow(r: Row): Resident {
  return {
    id: r.id, tenantId: r.tenant_id, name: r.name, address: r.address, ...JSON.parse(r.details),
    ...(r.erased_at ? { erasedAt: r.erased_at } : {}), createdAt: r.created_at, updatedAt: r.updated_at,
  };
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

  /** Replaces what can change; the municipality and id stay. */
  update(id: string, input: ResidentUpdate, now: Date): Resident | undefined {
    const existing = this.get(id);
    if (!existing) return undefined;
    const { name, address, ...details } = input;
    const keep = existing.maintenanceUntil ? { maintenanceUntil: existing.maintenanceUntil } : {};
    this.db.prepare('UPDATE residents SET name = ?, address = ?, details = ?, updated_at = ? WHERE id = ?')
      .run(name, address, JSON.stringify({ ...details, ...keep }), now.toISOString(), id);
    return this.get(id);
  }

  setMaintenance(id: string, until: Date | null, now: Date): void {
    const r = this.db.prepare('SELECT details FROM residents WHERE id = ?').get(id) as { details: string } | undefined;
    if (!r) return;
    const details = { ...JSON.parse(r.details), maintenanceUntil: until ? until.toISOString() : null };
    this.db.prepare('UPDATE residents SET details = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(details), now.toISOString(), id);
  }

  /** What the rules need to know about a resident. */
  facts(id: string | null): ResidentFacts {
    if (!id) return null;
    const r = this.get(id);
    return r ? { id: r.id, riskFlags: r.riskFlags ?? [], safeZone: r.safeZone ?? null, maintenanceUntil: r.maintenanceUntil ?? null } : null;
  }
}
