import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { servesAllTenants } from '../../core/access.ts';
import { TenantSchema } from '../../core/model.ts';
import type { HubContext } from '../../context.ts';
import { principalOf, requires } from '../auth.ts';
import { conflict } from '../errors.ts';

/** What these routes use of the hub. */
export type AdminRouteDeps = Pick<HubContext, 'audit' | 'now' | 'rules' | 'tenants' | 'writer'>;

export const adminRoutes = (ctx: AdminRouteDeps): FastifyPluginAsyncTypebox => async (app) => {
  app.post('/api/tenants', {
    onRequest: requires('tenants:write'),
    schema: { tags: ['tenants'], summary: 'Add a municipality', security: [{ bearer: [] }], body: TenantSchema, response: { 201: TenantSchema } },
  }, async (req, reply) => {
    // A new municipality starts with the default rules, in the same commit.
    const created = await ctx.writer.run(() => ctx.tenants.create(req.body, ctx.now()) && (ctx.rules.seedDefaults(req.body.id, ctx.now()), true));
    if (!created) throw conflict(`municipality ${req.body.id} exists`);
    ctx.audit.record(principalOf(req), { action: 'create', targetType: 'tenant', targetId: req.body.id, tenantId: req.body.id }, ctx.now());
    return reply.status(201).send(req.body);
  });

  app.get('/api/tenants', {
    onRequest: requires('tenants:read'),
    schema: { tags: ['tenants'], summary: 'The municipalities you serve', security: [{ bearer: [] }], response: { 200: Type.Array(TenantSchema) } },
  }, async (req) => {
    const p = principalOf(req);
    return ctx.tenants.list(servesAllTenants(p) ? undefined : p.tenantIds);
  });

};
