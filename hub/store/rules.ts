import { defaultRules, type Rule, type RuleBody } from '../core/rules.ts';
import { shortId } from '../security/secrets.ts';
import type { Db } from './db.ts';

export class RuleStore {
  /** Rules per municipality, cached: they are read on every event and change rarely. */
  private readonly cache = new Map<string, Rule[]>();

  constructor(private readonly db: Db) {}

  forTenant(tenantId: string): Rule[] {
    let rules = this.cache.get(tenantId);
    if (!rules) {
      rules = (this.db.prepare('SELECT id, tenant_id, body FROM rules WHERE tenant_id = ? ORDER BY created_at, id').all(tenantId) as { id: string; tenant_id: string; body: string }[])
        .map((r) => ({ ...(JSON.parse(r.body) as RuleBody), id: r.id, tenantId: r.tenant_id }));
      this.cache.set(tenantId, rules);
    }
    return rules;
  }

  get(id: string): Rule | undefined {
    const r = this.db.prepare('SELECT id, tenant_id, body FROM rules WHERE id = ?').get(id) as { id: string; tenant_id: string; body: string } | undefined;
    return r && { ...(JSON.parse(r.body) as RuleBody), id: r.id, tenantId: r.tenant_id };
  }

  create(tenantId: string, body: RuleBody, now: Date): Rule {
    const id = shortId('rule');
    this.db.prepare('INSERT INTO rules (id, tenant_id, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
      .run(id, tenantId, JSON.stringify(body), now.toISOString(), now.toISOString());
    this.cache.delete(tenantId);
    return { ...body, id, tenantId };
  }

  update(id: string, body: RuleBody, now: Date): Rule | undefined {
    const existing = this.get(id);
    if (!existing) return undefined;
    this.db.prepare('UPDATE rules SET body = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(body), now.toISOString(), id);
    this.cache.delete(existing.tenantId);
    return { ...body, id, tenantId: existing.tenantId };
  }

  delete(id: string): Rule | undefined {
    const existing = this.get(id);
    if (!existing) return undefined;
    this.db.prepare('DELETE FROM rules WHERE id = ?').run(id);
    this.cache.delete(existing.tenantId);
    return existing;
  }

  /** Gives a new municipality the default rules. */
  seedDefaults(tenantId: string, now: Date): void {
    this.db.transaction(() => { for (const r of defaultRules()) this.create(tenantId, r, now); })();
  }

  /** The `intervals` of every enabled silence rule, across municipalities. */
  enabledSilenceIntervals(): number[] {
    return (this.db.prepare("SELECT body FROM rules WHERE json_extract(body, '$.kind') = 'absence' AND json_extract(body, '$.watch') = 'silence' AND json_extract(body, '$.enabled') = 1").all() as { body: string }[])
      .map((r) => (JSON.parse(r.body) as { intervals: number }).intervals);
  }
}
