/**
 * Retention per municipality: care events and alarms (5 years by default), telemetry such as
 * positions (90 days), and the access log (at least as long as the records it speaks of). Old
 * rows are pruned on a schedule, and every pruning is itself written to the access log.
 * Aggregated counts (device_events, alarm_lifecycle) are not personal and stay.
 */
import type { Logger } from 'pino';
import type { AuditLog } from '../store/audit.ts';
import { pruneAudit } from '../store/audit.ts';
import type { Db } from '../store/db.ts';
import type { TimeSeriesStore } from '../timeseries/types.ts';

export type RetentionPolicy = { eventsDays: number; telemetryDays: number; auditDays: number };
export const DEFAULT_RETENTION: RetentionPolicy = { eventsDays: 5 * 365, telemetryDays: 90, auditDays: 5 * 365 };
const DAY = 86_400_000;

export class Retention {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly d: { db: Db; audit: AuditLog; timeseries: TimeSeriesStore; log: Logger; now: () => Date }) {}

  policy(tenantId: string): RetentionPolicy {
    const r = this.d.db.prepare('SELECT retention_events_days AS e, retention_telemetry_days AS t, retention_audit_days AS a FROM tenants WHERE id = ?').get(tenantId) as { e: number | null; t: number | null; a: number | null } | undefined;
    return { eventsDays: r?.e ?? DEFAULT_RETENTION.eventsDays, telemetryDays: r?.t ?? DEFAULT_RETENTION.telemetryDays, auditDays: r?.a ?? DEFAULT_RETENTION.auditDays };
  }

  setPolicy(tenantId: string, p: RetentionPolicy): boolean {
    return this.d.db.prepare('UPDATE tenants SET retention_events_days = ?, retention_telemetry_days = ?, retention_audit_days = ? WHERE id = ?')
      .run(p.eventsDays, p.telemetryDays, p.auditDays, tenantId).changes === 1;
  }

  /** One pass over every municipality; returns what went. */
  async prune(): Promise<{ events: number; alarms: number; audit: number }> {
    const now = this.d.now();
    const tenants = this.d.db.prepare('SELECT id FROM tenants').pluck().all() as string[];
    let events = 0;
    let alarms = 0;
    let longestAudit = 0;
    for (const t of tenants) {
      const p = this.policy(t);
      longestAudit = Math.max(longestAudit, p.auditDays);
      const cut = new Date(now.getTime() - p.eventsDays * DAY).toISOString();
      const gone = this.d.db.transaction(() => {
        const e = this.d.db.prepare('DELETE FROM events WHERE tenant_id = ? AND received_at < ?').run(t, cut).changes;
        const old = this.d.db.prepare("SELECT id FROM alarms WHERE tenant_id = ? AND state = 'resolved' AND created_at < ?").pluck().all(t, cut) as string[];
        for (const id of old) {
          this.d.db.prepare('DELETE FROM alarm_events WHERE alarm_id = ?').run(id);
          this.d.db.prepare('DELETE FROM alarm_transitions WHERE alarm_id = ?').run(id);
          this.d.db.prepare('DELETE FROM alarms WHERE id = ?').run(id);
        }
        return { e, a: old.length };
      })();
      events += gone.e;
      alarms += gone.a;
      await this.d.timeseries.deletePoints({ measurement: 'device_telemetry', tags: { tenant: t }, before: new Date(now.getTime() - p.telemetryDays * DAY) });
      if (gone.e + gone.a > 0) {
        this.d.audit.record({ userId: null, username: 'system', role: 'system' }, { action: 'prune', targetType: 'retention', targetId: null, tenantId: t, reason: `${gone.e} events and ${gone.a} alarms older than ${p.eventsDays} days` }, now);
      }
    }
    // The access log is one chain for all: its oldest rows go when every municipality's retention allows.
    const audit = tenants.length ? pruneAudit(this.d.db, new Date(now.getTime() - longestAudit * DAY), now) : 0;
    if (audit > 0) this.d.audit.record({ userId: null, username: 'system', role: 'system' }, { action: 'prune', targetType: 'audit_log', targetId: null, tenantId: null, reason: `${audit} rows older than ${longestAudit} days` }, now);
    if (events + alarms + audit > 0) this.d.log.info({ events, alarms, audit }, 'retention: pruned');
    return { events, alarms, audit };
  }

  start(everyMs = 3_600_000): void {
    this.timer = setInterval(() => { this.prune().catch((err: unknown) => this.d.log.error({ err }, 'retention: pruning failed; trying again later')); }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
