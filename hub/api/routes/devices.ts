import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { type Principal, servesTenant } from '../../core/access.ts';
import { AnyDeviceEventSchema, type DeviceEvent, DeviceKindSchema } from '../../core/events.ts';
import { byUrgency, DEVICE_STATES } from '../../core/fleet.ts';
import { literals } from '../../core/schema.ts';
import { readableEvent } from '../../core/stored.ts';
import { type Device, DeviceSchema, MAX_MAINTENANCE_DAYS, MaintenanceSchema, NewDeviceSchema, TenantId } from '../../core/model.ts';
import { maintenanceUntil } from './maintenance.ts';
import type { HubContext } from '../../context.ts';
import { eventFromTelemetry } from '../../timeseries/measurements.ts';
import { logAccess, reasonOf } from '../access-log.ts';
import { assertServes, principalOf, requires, tenantScope } from '../auth.ts';
import { badRequest, conflict, notFound } from '../errors.ts';

// InfluxDB stores times up to the year 2262.
const FAR_FUTURE = new Date(Date.UTC(2200, 0, 1));
const DeviceParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

const StoredEventSchema = Type.Object({
  receivedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the hub took it (null only for telemetry stored before the hub kept it)' }),
  event: AnyDeviceEventSchema,
  repaired: Type.Optional(Type.Array(Type.String(), { description: 'Time fields of an old row that held an impossible date, and what they held' })),
});

/** What these routes use of the hub. */
export type DeviceRouteDeps = Pick<HubContext, 'audit' | 'bus' | 'devices' | 'events' | 'now' | 'residents' | 'tenants' | 'timeseries'>;

export const deviceRoutes = (ctx: DeviceRouteDeps): FastifyPluginAsyncTypebox => async (app) => {
  /** The device if it exists and the user serves its municipality; 404 otherwise. */
  function visibleDevice(p: Principal, id: string): Device {
    const d = ctx.devices.get(id);
    if (!d || !servesTenant(p, d.tenantId)) throw notFound('device');
    return d;
  }

  app.post('/api/devices', {
    onRequest: requires('devices:write'),
    schema: {
      tags: ['devices'], summary: 'Register a device and issue its MQTT credentials (the password is shown only here)', security: [{ bearer: [] }],
      body: NewDeviceSchema,
      response: {
        201: Type.Object({
          id: Type.String(), kind: NewDeviceSchema.properties.kind, tenantId: TenantId,
          heartbeatIntervalSeconds: Type.Integer(),
          mqtt: Type.Object({ username: Type.String(), password: Type.String() }),
        }),
      },
    },
  }, async (req, reply) => {
    const p = principalOf(req);
    const b = req.body;
    assertServes(p, b.tenantId);
    if (!ctx.tenants.get(b.tenantId)) throw badRequest(`body/tenantId: unknown municipality ${b.tenantId}`);
    if (b.residentId !== undefined) {
      const r = ctx.residents.get(b.residentId);
      if (!r || r.tenantId !== b.tenantId) throw badRequest(`body/residentId: no resident ${b.residentId} in municipality ${b.tenantId}`);
    }
    const created = ctx.devices.create(b, ctx.now());
    if (!created) throw conflict(`a device with serial ${b.serial} is already registered in ${b.tenantId}`);
    const d = created.device;
    ctx.audit.record(p, { action: 'create', targetType: 'device', targetId: d.id, tenantId: d.tenantId }, ctx.now());
    return reply.status(201).send({
      id: d.id, kind: d.kind, tenantId: d.tenantId, heartbeatIntervalSeconds: d.heartbeatIntervalSeconds,
      mqtt: { username: d.id, password: created.password },
    });
  });

  app.get('/api/devices', {
    onRequest: requires('devices:read'),
    schema: {
      tags: ['devices'],
      summary: 'The fleet: devices and their health in the municipalities you serve, filtered, most urgent first, paged (the total is in x-total-count)',
      security: [{ bearer: [] }],
      querystring: Type.Object({
        tenantId: Type.Optional(TenantId),
        kind: Type.Optional(DeviceKindSchema),
        residentId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        state: Type.Optional(literals(DEVICE_STATES)),
        q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Part of a serial or device id' })),
        includeDecommissioned: Type.Optional(Type.Boolean({ default: false })),
        reason: Type.Optional(Type.String({ maxLength: 500, description: 'Why you look; goes to the access log' })),
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 1000 }),
        offset: Type.Integer({ minimum: 0, default: 0 }),
      }),
      response: { 200: Type.Array(DeviceSchema) },
    },
  }, async (req, reply) => {
    const { tenantId, limit, offset, ...filters } = req.query;
    const scope = tenantScope(principalOf(req), tenantId);
    const all = ctx.devices.list(scope, filters).sort(byUrgency);
    reply.header('x-total-count', String(all.length));
    const page = all.slice(offset, offset + limit);
    // Devices tell where a resident is and how they live: each one returned is logged.
    logAccess(ctx, req, page.map((d) => ({ action: 'read', targetType: 'device', targetId: d.id, tenantId: d.tenantId, residentId: d.residentId, reason: reasonOf(req) ?? 'list of devices' })));
    return page;
  });

  app.get('/api/devices/:id', {
    onRequest: requires('devices:read'),
    schema: {
      tags: ['devices'], summary: 'One device: online, last seen, battery, signal, position, rejected payloads', security: [{ bearer: [] }], params: DeviceParams,
      querystring: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500, description: 'Why you look; goes to the access log' })) }),
      response: { 200: DeviceSchema },
    },
  }, async (req) => {
    const d = visibleDevice(principalOf(req), req.params.id);
    logAccess(ctx, req, [{ action: 'read', targetType: 'device', targetId: d.id, tenantId: d.tenantId, residentId: d.residentId, reason: req.query.reason ?? null }]);
    return d;
  });

  app.delete('/api/devices/:id', {
    onRequest: requires('devices:write'),
    schema: { tags: ['devices'], summary: 'Decommission a device: its credentials stop working and it is disconnected at once', security: [{ bearer: [] }], params: DeviceParams, response: { 200: DeviceSchema } },
  }, async (req) => {
    const p = principalOf(req);
    const d = visibleDevice(p, req.params.id);
    const now = ctx.now();
    if (!ctx.devices.decommission(d.id, now)) throw conflict(`device ${d.id} is already decommissioned`);
    ctx.audit.record(p, { action: 'decommission', targetType: 'device', targetId: d.id, tenantId: d.tenantId }, now);
    ctx.bus.emit('device.decommissioned', { deviceId: d.id, at: now }, (err) => req.log.error({ err }, 'decommission listener failed'));
    return ctx.devices.get(d.id) as Device;
  });

  app.get('/api/devices/:id/events', {
    onRequest: requires('events:read'),
    schema: {
      tags: ['devices'], summary: 'Events of a device, newest first (care events and telemetry)', security: [{ bearer: [] }],
      params: DeviceParams,
      querystring: Type.Object({
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
        reason: Type.Optional(Type.String({ maxLength: 500, description: 'Why you look; goes to the access log' })),
      }),
      response: { 200: Type.Array(StoredEventSchema) },
    },
  }, async (req) => {
    const d = visibleDevice(principalOf(req), req.params.id);
    // Events hold positions and the rhythm of a life: the read is logged.
    logAccess(ctx, req, [{ action: 'read', targetType: 'events', targetId: d.id, tenantId: d.tenantId, residentId: d.residentId, reason: req.query.reason ?? null }]);
    const limit = req.query.limit;
    const care = ctx.events.listForDevice(d.id, limit).map((e) => {
      const r = readableEvent(e.event, e.receivedAt);
      return { receivedAt: e.receivedAt, event: r.event, ...(r.repaired.length ? { repaired: r.repaired } : {}) };
    });
    const telemetry = (await ctx.timeseries.query({
      measurement: 'device_telemetry', tags: { device: d.id }, from: new Date(0), to: FAR_FUTURE, order: 'desc', limit,
    })).map((pt) => eventFromTelemetry(pt));
    // Newest first by the hub's clock (old telemetry without it by its own time).
    const at = (e: { receivedAt: string | null; event: DeviceEvent }) => Date.parse(e.receivedAt ?? e.event.ts);
    return [...care, ...telemetry].sort((a, b) => at(b) - at(a)).slice(0, limit);
  });

  app.put('/api/devices/:id/maintenance', {
    onRequest: requires('maintenance:write'),
    schema: {
      tags: ['devices'], summary: `Hold back the device's technical alarms until a time (at most ${MAX_MAINTENANCE_DAYS} days ahead); care alarms still come`, security: [{ bearer: [] }],
      params: DeviceParams, body: MaintenanceSchema, response: { 200: DeviceSchema },
    },
  }, async (req) => {
    const p = principalOf(req);
    const d = visibleDevice(p, req.params.id);
    ctx.devices.setMaintenance(d.id, maintenanceUntil(req.body.until, ctx.now()));
    ctx.audit.record(p, { action: 'maintenance', targetType: 'device', targetId: d.id, tenantId: d.tenantId, reason: req.body.note ?? null }, ctx.now());
    return ctx.devices.get(d.id) as Device;
  });
};
