import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { ALARM_STATES, AlarmSchema, RESOLUTION_REASONS, TEST_OK, TransitionSchema } from '../../core/alarms.ts';
import { AnyDeviceEventSchema } from '../../core/events.ts';
import { TenantId } from '../../core/model.ts';
import { literals as lit } from '../../core/schema.ts';
import type { HubContext } from '../../context.ts';
import { logAccess } from '../access-log.ts';
import { principalOf, requires, tenantScope } from '../auth.ts';
import { badRequest, notFound } from '../errors.ts';

const Params = Type.Object({ id: Type.String({ maxLength: 64 }) });
const AlarmDetailSchema = Type.Composite([AlarmSchema, Type.Object({
  events: Type.Array(Type.Object({
    receivedAt: Type.String({ format: 'date-time' }),
    event: AnyDeviceEventSchema,
    repaired: Type.Optional(Type.Array(Type.String(), { description: 'Time fields of an old row that held an impossible date, and what they held' })),
  })),
  transitions: Type.Array(TransitionSchema),
})]);
const ConflictSchema = Type.Object({
  statusCode: Type.Literal(409), code: Type.String(), error: Type.String(), message: Type.String(),
  alarm: AlarmSchema,
});

/** What these routes use of the hub. */
export type AlarmRouteDeps = Pick<HubContext, 'alarmService' | 'alarms' | 'audit' | 'now'>;

export const alarmRoutes = (ctx: AlarmRouteDeps): FastifyPluginAsyncTypebox => async (app) => {
  const alarms = ctx.alarmService;
  app.get('/api/alarms', {
    onRequest: requires('alarms:read'),
    schema: {
      tags: ['alarms'], summary: 'Alarms of the municipalities you serve, newest first, paged', security: [{ bearer: [] }],
      querystring: Type.Object({
        state: Type.Optional(lit(ALARM_STATES)),
        tenantId: Type.Optional(TenantId),
        since: Type.Optional(Type.String({ format: 'date-time', description: 'Only alarms changed since then' })),
        deviceId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Only alarms of this device' })),
        limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
        offset: Type.Integer({ minimum: 0, default: 0 }),
      }),
      response: { 200: Type.Array(AlarmSchema) },
    },
  }, async (req) => {
    const q = req.query;
    const tenantIds = tenantScope(principalOf(req), q.tenantId);
    const list = ctx.alarms.search({
      ...(q.state ? { states: [q.state] } : {}), tenantIds, ...(q.since ? { since: new Date(q.since).toISOString() } : {}),
      ...(q.deviceId ? { deviceId: q.deviceId } : {}), limit: q.limit, offset: q.offset,
    });
    logAccess(ctx, req, list.map((a) => ({ action: 'read', targetType: 'alarm', targetId: a.id, tenantId: a.tenantId, residentId: a.residentId, reason: 'list of alarms' })));
    return list;
  });

  app.get('/api/alarms/:id', {
    onRequest: requires('alarms:read'),
    schema: { tags: ['alarms'], summary: 'One alarm with the events that raised it and every transition', security: [{ bearer: [] }], params: Params, response: { 200: AlarmDetailSchema } },
  }, async (req) => {
    const a = alarms.visible(principalOf(req), req.params.id);
    const detail = a && ctx.alarms.detail(a.id);
    if (!detail) throw notFound('alarm');
    logAccess(ctx, req, [{ action: 'read', targetType: 'alarm', targetId: detail.id, tenantId: detail.tenantId, residentId: detail.residentId, reason: `alarm ${detail.id}` }]);
    return detail;
  });

  app.post('/api/alarms/:id/acknowledge', {
    onRequest: requires('alarms:handle'),
    schema: {
      tags: ['alarms'], summary: 'Claim an alarm; 409 says who holds it', security: [{ bearer: [] }], params: Params,
      response: { 200: AlarmSchema, 409: ConflictSchema },
    },
  }, async (req, reply) => {
    const r = await alarms.acknowledge(principalOf(req), req.params.id, ctx.now());
    if (!r) throw notFound('alarm');
    if (!r.ok) return reply.status(409).send({ statusCode: 409, code: r.code.toUpperCase(), error: 'Conflict', message: r.message, alarm: r.alarm });
    return r.alarm;
  });

  app.post('/api/alarms/:id/resolve', {
    onRequest: requires('alarms:handle'),
    schema: {
      tags: ['alarms'], summary: 'Resolve an alarm with a reason and a note', security: [{ bearer: [] }], params: Params,
      body: Type.Object({
        reason: lit([...RESOLUTION_REASONS, TEST_OK] as const),
        note: Type.String({ minLength: 1, maxLength: 5000 }),
      }, { additionalProperties: false, description: `${TEST_OK} confirms a test alarm (a chain test passes); it is refused for any other alarm` }),
      response: { 200: AlarmSchema, 409: ConflictSchema },
    },
  }, async (req, reply) => {
    const r = await alarms.resolve(principalOf(req), req.params.id, req.body.reason, req.body.note, ctx.now());
    if (!r) throw notFound('alarm');
    if (!r.ok && r.code === 'not_a_test') throw badRequest(`body/reason: ${r.message}`);
    if (!r.ok) return reply.status(409).send({ statusCode: 409, code: r.code.toUpperCase(), error: 'Conflict', message: r.message, alarm: r.alarm });
    return r.alarm;
  });
};

