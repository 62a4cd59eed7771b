import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { type Principal, servesTenant } from '../../core/access.ts';
import { MAX_MAINTENANCE_DAYS, MaintenanceSchema, NewResidentSchema, type Resident, ResidentSchema, ResidentUpdateSchema, TenantId } from '../../core/model.ts';
import { maintenanceUntil } from './maintenance.ts';
import type { HubContext } from '../../context.ts';
import { logAccess } from '../access-log.ts';
import { assertServes, principalOf, requires, tenantScope } from '../auth.ts';
import { badRequest, notFound } from '../errors.ts';

/** What these routes use of the hub. */
export type ResidentRouteDeps = Pick<HubContext, 'audit' | 'now' | 'residents' | 'tenants'>;

export const residentRoutes = (ctx: ResidentRouteDeps): FastifyPluginAsyncTypebox => async (app) => {
  /** The resident if the user serves its municipality; another municipality's does not exist for them (404). */
  function visibleResident(p: Principal, id: string): Resident {
    const r = ctx.residents.get(id);
    if (!r || !servesTenant(p, r.tenantId)) throw notFound('resident');
    return r;
  }

  app.post('/api/residents', {
    onRequest: requires('residents:write'),
    schema: { tags: ['residents'], summary: 'Add a resident', security: [{ bearer: [] }], body: NewResidentSchema, response: { 201: Type.Object({ id: Type.String() }) } },
  }, async (req, reply) => {
    const p = principalOf(req);
    assertServes(p, req.body.tenantId);
    if (!ctx.tenants.get(req.body.tenantId)) throw badRequest(`body/tenantId: unknown municipality ${req.body.tenantId}`);
    const r = ctx.residents.create(req.body, ctx.now());
    logAccess(ctx, req, [{ action: 'create', targetType: 'resident', targetId: r.id, tenantId: r.tenantId, residentId: r.id }]);
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
    const scope = tenantScope(p, req.query.tenantId);
    const list = ctx.residents.list(scope);
    logAccess(ctx, req, list.map((r) => ({ action: 'read', targetType: 'resident', targetId: r.id, tenantId: r.tenantId, residentId: r.id, reason: 'list of residents' })));
    return list;
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
    const r = visibleResident(p, req.params.id);
    logAccess(ctx, req, [{ action: 'read', targetType: 'resident', targetId: r.id, tenantId: r.tenantId, residentId: r.id, reason: req.query.reason ?? null }]);
    return r;
  });

  app.put('/api/residents/:id', {
    onRequest: requires('residents:write'),
    schema: {
      tags: ['residents'], summary: 'Replace what can change about a resident: address, next of kin, risk flags, safe zone, …', security: [{ bearer: [] }],
      params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
      body: ResidentUpdateSchema,
      response: { 200: ResidentSchema },
    },
  }, async (req) => {
    const p = principalOf(req);
    const r = visibleResident(p, req.params.id);
    const updated = ctx.residents.update(r.id, req.body, ctx.now());
    logAccess(ctx, req, [{ action: 'update', targetType: 'resident', targetId: r.id, tenantId: r.tenantId, residentId: r.id }]);
    return updated;
  });

  app.put('/api/residents/:id/maintenance', {
    onRequest: requires('maintenance:write'),
    schema: {
      tags: ['residents'], summary: `Hold back technical alarms of the resident's devices until a time (at most ${MAX_MAINTENANCE_DAYS} days ahead); care alarms still come`, security: [{ bearer: [] }],
      params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
      body: MaintenanceSchema,
      response: { 200: ResidentSchema },
    },
  }, async (req) => {
    const p = principalOf(req);
    const r = visibleResident(p, req.params.id);
    const until = maintenanceUntil(req.body.until, ctx.now());
    ctx.residents.setMaintenance(r.id, until, ctx.now());
    logAccess(ctx, req, [{ action: 'maintenance', targetType: 'resident', targetId: r.id, tenantId: r.tenantId, residentId: r.id, reason: req.body.note ?? null }]);
    return ctx.residents.get(r.id);
  });
};
