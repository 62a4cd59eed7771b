/**
 * The access log for administrators: who saw or changed what, when, from where and why; per
 * resident, who has seen their data (the GDPR gives a person the right to know); as CSV too; and
 * the proof that no row was removed. Nothing here changes or deletes a row.
 */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { stringify } from 'csv-stringify/sync';
import { servesAllTenants, servesTenant } from '../../core/access.ts';
import { TenantId } from '../../core/model.ts';
import type { HubContext } from '../../context.ts';
import { logAccess } from '../access-log.ts';
import { principalOf, requires, tenantScope } from '../auth.ts';
import { forbidden, notFound } from '../errors.ts';

const Row = Type.Object({
  id: Type.Integer(), at: Type.String({ format: 'date-time' }), userId: Type.Union([Type.String(), Type.Null()]), username: Type.String(), role: Type.String(),
  tenantId: Type.Union([Type.String(), Type.Null()]), action: Type.String(), targetType: Type.String(), targetId: Type.Union([Type.String(), Type.Null()]),
  residentId: Type.Union([Type.String(), Type.Null()]), reason: Type.Union([Type.String(), Type.Null()]), source: Type.Union([Type.String(), Type.Null()]), hash: Type.String(),
});
const Query = Type.Object({
  tenantId: Type.Optional(TenantId),
  residentId: Type.Optional(Type.String({ maxLength: 64 })),
  userId: Type.Optional(Type.String({ maxLength: 64 })),
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
  limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }),
  offset: Type.Integer({ minimum: 0, default: 0 }),
});

/** What these routes use of the hub. */
export type AuditRouteDeps = Pick<HubContext, 'audit' | 'now' | 'residents'>;

export const auditRoutes = (ctx: AuditRouteDeps): FastifyPluginAsyncTypebox => async (app) => {
  const docs = (summary: string) => ({ tags: ['audit'], summary, security: [{ bearer: [] }] });
  const search = (req: { query: typeof Query.static }, p: ReturnType<typeof principalOf>) => {
    const q = req.query;
    return ctx.audit.search({
      tenantIds: tenantScope(p, q.tenantId), limit: q.limit, offset: q.offset,
      ...(q.residentId ? { residentId: q.residentId } : {}), ...(q.userId ? { userId: q.userId } : {}),
      ...(q.from ? { from: new Date(q.from).toISOString() } : {}), ...(q.to ? { to: new Date(q.to).toISOString() } : {}),
    });
  };

  app.get('/api/audit', {
    onRequest: requires('audit:read'),
    schema: { ...docs('The access log of the municipalities you serve, newest first, paged'), querystring: Query, response: { 200: Type.Object({ total: Type.Integer(), rows: Type.Array(Row) }) } },
  }, async (req) => search(req, principalOf(req)));

  app.get('/api/audit.csv', {
    onRequest: requires('audit:read'),
    schema: { ...docs('The access log as CSV (UTF-8 with a BOM, semicolons)'), querystring: Query },
  }, async (req, reply) => {
    const { rows } = search(req, principalOf(req));
    const cols = ['id', 'at', 'username', 'role', 'tenantId', 'action', 'targetType', 'targetId', 'residentId', 'reason', 'source', 'hash'] as const;
    const text = `\uFEFF${stringify([cols as unknown as string[], ...rows.map((r) => cols.map((c) => r[c] ?? ''))], { delimiter: ';', record_delimiter: 'windows' })}`;
    return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="tilgangslogg.csv"').send(text);
  });

  app.get('/api/audit/verify', {
    onRequest: requires('audit:read'),
    schema: { ...docs('Walks the hash chain of the whole access log: ok, or the first row where it breaks (a row removed or changed)'), response: { 200: Type.Object({ ok: Type.Boolean(), rows: Type.Integer(), brokenAt: Type.Union([Type.Integer(), Type.Null()]) }) } },
  }, async (req) => {
    if (!servesAllTenants(principalOf(req))) throw forbidden('only an administrator of all municipalities checks the whole log');
    return ctx.audit.verify();
  });

  app.get('/api/residents/:id/access-log', {
    onRequest: requires('audit:read'),
    schema: {
      ...docs('Who has seen or changed this resident\'s data: when, who, in which role, what and why (the resident\'s right to know)'),
      params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
      response: { 200: Type.Array(Type.Object({ at: Type.String({ format: 'date-time' }), username: Type.String(), role: Type.String(), action: Type.String(), targetType: Type.String(), reason: Type.Union([Type.String(), Type.Null()]) })) },
    },
  }, async (req) => {
    const p = principalOf(req);
    const r = ctx.residents.get(req.params.id);
    if (!r || !servesTenant(p, r.tenantId)) throw notFound('resident');
    const { rows } = ctx.audit.search({ tenantIds: 'all', residentId: r.id, limit: 10_000, offset: 0 });
    logAccess(ctx, req, [{ action: 'read_access_log', targetType: 'resident', targetId: r.id, tenantId: r.tenantId, residentId: r.id }]);
    return rows.map((x) => ({ at: x.at, username: x.username, role: x.role, action: x.action, targetType: x.targetType, reason: x.reason }));
  });
};
