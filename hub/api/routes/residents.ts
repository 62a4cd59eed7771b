import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { servesAllTenants } from '../../core/access.ts';
import { NewResidentSchema, ResidentSchema, TenantId } from '../../core/model.ts';
import type { HubContext } from '../../context.ts';
import { assertServes, principalOf, requires } from '../auth.ts';
import { badRequest, notFound } from '../errors.ts';

export const residentRoutes = (ctx: HubContext): FastifyPluginAsyncTypebox => async (app) => {
  app.post('/api/residents', {
    onRequest: requires('residents:write'),
    schema: { tags: ['residents'], summary: 'Add a resident', security: [{ bearer: [] }], body: NewResidentSchema, response: { 201: Type.Object({ id: Type.String() }) } },
  }, async (req, reply) => {
    const p = principalOf(req);
    assertServes(p, req.body.tenantId);
    if (!ctx.tenants.get(req.body.tenantId)) throw badRequest(`body/tenantId: unknown municipality ${req.body.tenantId}`);
    const r = ctx.residents.create(req.body, ctx.now());
    ctx.audit.record(p, { action: 'create', targetType: 'resident', targetId: r.id, tenantId: r.tenantId }, ctx.now());
    return reply.status(201).send({ id: r.id });
  });

  app.get('/api/residents', {
    onRequest: requires('residents:read'),
    schema: {
      tags: ['residents'], summary: 'Residents of the municipalities you serve', security: [{ bearer: [] }],
      querystring: Type.Object({ tenantId: Type.Optional(TenantId) }),
      response: { 200: Type.Array(ResidentSchema) },
    },
  }, async (req) => {
    const p = principalOf(req);
    if (req.query.tenantId) assertServes(p, req.query.tenantId);
    const scope = req.query.tenantId ? [req.query.tenantId] : servesAllTenants(p) ? 'all' : p.tenantIds;
    ctx.audit.record(p, { action: 'list', targetType: 'resident', targetId: null, tenantId: req.query.tenantId ?? null }, ctx.now());
    return ctx.residents.list(scope);
  });

  app.get('/api/residents/:id', {
    onRequest: requires('residents:read'),
    schema: {
      tags: ['residents'], summary: 'One resident; every read is written to the audit log', security: [{ bearer: [] }],
      params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
      querystring: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500, description: 'Why you look, e.g. the alarm id' })) }),
      response: { 200: ResidentSchema },
    },
  }, async (req) => {
    const p = principalOf(req);
    const r = ctx.residents.get(req.params.id);
    // Another municipality's resident does not exist for this user: 404, not 403.
    if (!r || !(servesAllTenants(p) || p.tenantIds.includes(r.tenantId))) throw notFound('resident');
    ctx.audit.record(p, { action: 'read', targetType: 'resident', targetId: r.id, tenantId: r.tenantId, reason: req.query.reason ?? null }, ctx.now());
    return r;
  });
};
