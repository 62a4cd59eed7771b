/**
 * A resident's rights (export, erasure) and a municipality's retention, for administrators.
 */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { servesTenant } from '../../core/access.ts';
import { TenantId } from '../../core/model.ts';
import type { HubContext } from '../../context.ts';
import { logAccess } from '../access-log.ts';
import { assertServes, principalOf, requires } from '../auth.ts';
import { badRequest, conflict, notFound } from '../errors.ts';

const Params = Type.Object({ id: Type.String({ maxLength: 64 }) });
const Days = Type.Integer({ minimum: 1, maximum: 36_500 });
const Policy = Type.Object({ eventsDays: Days, telemetryDays: Days, auditDays: Days }, { additionalProperties: false });

/** What these routes use of the hub. */
export type PrivacyRouteDeps = Pick<HubContext, 'audit' | 'now' | 'residents' | 'retention' | 'subjects'>;

export const privacyRoutes = (ctx: PrivacyRouteDeps): FastifyPluginAsyncTypebox => async (app) => {
  const visibleResident = (req: Parameters<typeof principalOf>[0], id: string) => {
    const r = ctx.residents.get(id);
    if (!r || !servesTenant(principalOf(req), r.tenantId)) throw notFound('resident');
    return r;
  };

  app.get('/api/residents/:id/export', {
    onRequest: requires('subjects:manage'),
    schema: { tags: ['privacy'], summary: 'Everything the hub holds about one resident, as JSON: the record, devices, events, positions, alarms and the access log', security: [{ bearer: [] }], params: Params },
  }, async (req, reply) => {
    const r = visibleResident(req, req.params.id);
    logAccess(ctx, req, [{ action: 'export', targetType: 'resident', targetId: r.id, tenantId: r.tenantId, residentId: r.id, reason: 'the resident\'s right of access' }]);
    return reply.header('content-disposition', `attachment; filename="innsyn-${r.id}.json"`).send(await ctx.subjects.export(r));
  });

  app.post('/api/residents/:id/erase', {
    onRequest: requires('subjects:manage'),
    schema: {
      tags: ['privacy'], summary: 'Erase a resident\'s personal data: name, address, notes, positions and free text go; the anonymous counts for statistics stay; the erasure is logged',
      security: [{ bearer: [] }], params: Params,
      body: Type.Object({ confirm: Type.String({ description: 'The resident\'s id again, to confirm' }), reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ devices: Type.Integer(), events: Type.Integer(), alarms: Type.Integer() }) },
    },
  }, async (req) => {
    const r = visibleResident(req, req.params.id);
    if (req.body.confirm !== r.id) throw badRequest('body/confirm: give the resident\'s id to confirm the erasure');
    if (r.erasedAt) throw conflict(`resident ${r.id} was erased at ${r.erasedAt}`);
    const done = await ctx.subjects.erase(r, ctx.now());
    logAccess(ctx, req, [{ action: 'erase', targetType: 'resident', targetId: r.id, tenantId: r.tenantId, residentId: r.id, reason: req.body.reason }]);
    return done;
  });

  app.put('/api/tenants/:id/retention', {
    onRequest: requires('tenants:write'),
    schema: {
      tags: ['privacy'], summary: 'How long the municipality keeps care events and alarms, telemetry (positions) and the access log (at least as long as the events), in days',
      security: [{ bearer: [] }], params: Type.Object({ id: TenantId }), body: Policy, response: { 200: Policy },
    },
  }, async (req) => {
    const p = principalOf(req);
    assertServes(p, req.params.id);
    if (req.body.auditDays < req.body.eventsDays) throw badRequest('body/auditDays: the access log is kept at least as long as the events it speaks of');
    if (!ctx.retention.setPolicy(req.params.id, req.body)) throw notFound('municipality');
    ctx.audit.record(p, { action: 'set_retention', targetType: 'tenant', targetId: req.params.id, tenantId: req.params.id, reason: JSON.stringify(req.body) }, ctx.now());
    return ctx.retention.policy(req.params.id);
  });
};
