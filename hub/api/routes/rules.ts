import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { servesTenant } from '../../core/access.ts';
import { TenantId } from '../../core/model.ts';
import { NewRuleSchema, type Rule, RuleBodySchema, RuleSchema } from '../../core/rules.ts';
import type { HubContext } from '../../context.ts';
import { assertServes, principalOf, requires, tenantScope } from '../auth.ts';
import { notFound } from '../errors.ts';

const Params = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** What these routes use of the hub. */
export type RuleRouteDeps = Pick<HubContext, 'audit' | 'now' | 'rules' | 'tenants'>;

export const ruleRoutes = (ctx: RuleRouteDeps): FastifyPluginAsyncTypebox => async (app) => {
  function visibleRule(req: Parameters<typeof principalOf>[0], id: string): Rule {
    const r = ctx.rules.get(id);
    if (!r || !servesTenant(principalOf(req), r.tenantId)) throw notFound('rule');
    return r;
  }

  app.get('/api/rules', {
    onRequest: requires('rules:read'),
    schema: {
      tags: ['rules'], summary: 'Alert rules, enabled and disabled, of the municipalities you serve', security: [{ bearer: [] }],
      querystring: Type.Object({ tenantId: Type.Optional(TenantId) }),
      response: { 200: Type.Array(RuleSchema) },
    },
  }, async (req) => {
    const scope = tenantScope(principalOf(req), req.query.tenantId);
    const tenants = scope === 'all' ? ctx.tenants.list().map((t) => t.id) : scope;
    return tenants.flatMap((t) => ctx.rules.forTenant(t));
  });

  app.get('/api/rules/:id', {
    onRequest: requires('rules:read'),
    schema: { tags: ['rules'], summary: 'One rule', security: [{ bearer: [] }], params: Params, response: { 200: RuleSchema } },
  }, async (req) => visibleRule(req, req.params.id));

  app.post('/api/rules', {
    onRequest: requires('rules:write'),
    schema: {
      tags: ['rules'], summary: 'Add a rule to a municipality', security: [{ bearer: [] }],
      body: NewRuleSchema,
      response: { 201: RuleSchema },
    },
  }, async (req, reply) => {
    const p = principalOf(req);
    const { tenantId, ...body } = req.body as Rule;
    assertServes(p, tenantId);
    if (!ctx.tenants.get(tenantId)) throw notFound('municipality');
    const rule = ctx.rules.create(tenantId, body, ctx.now());
    ctx.audit.record(p, { action: 'create', targetType: 'rule', targetId: rule.id, tenantId }, ctx.now());
    return reply.status(201).send(rule);
  });

  app.put('/api/rules/:id', {
    onRequest: requires('rules:write'),
    schema: { tags: ['rules'], summary: 'Replace a rule (switch it off with enabled: false; it stays visible)', security: [{ bearer: [] }], params: Params, body: RuleBodySchema, response: { 200: RuleSchema } },
  }, async (req) => {
    const existing = visibleRule(req, req.params.id);
    const rule = ctx.rules.update(existing.id, req.body, ctx.now()) as Rule;
    ctx.audit.record(principalOf(req), { action: 'update', targetType: 'rule', targetId: rule.id, tenantId: rule.tenantId }, ctx.now());
    return rule;
  });

  app.delete('/api/rules/:id', {
    onRequest: requires('rules:write'),
    schema: { tags: ['rules'], summary: 'Remove a rule', security: [{ bearer: [] }], params: Params, response: { 200: RuleSchema } },
  }, async (req) => {
    const existing = visibleRule(req, req.params.id);
    ctx.rules.delete(existing.id);
    ctx.audit.record(principalOf(req), { action: 'delete', targetType: 'rule', targetId: existing.id, tenantId: existing.tenantId }, ctx.now());
    return existing;
  });
};
