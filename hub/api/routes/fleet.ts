/**
 * The technician's routes: onboarding by the hundred (CSV), credentials, reassignment, chain
 * tests, maintenance and the fleet summary. Listing and reading devices is in devices.ts.
 */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { servesTenant, type Principal } from '../../core/access.ts';
import { DeviceTestSchema } from '../../core/chain-test.ts';
import { DeviceKindSchema } from '../../core/events.ts';
import { DEVICE_STATES, summarize } from '../../core/fleet.ts';
import { checkImport, IMPORT_ERROR_CODES, MAX_IMPORT_ROWS } from '../../core/import.ts';
import { type Device, TenantId } from '../../core/model.ts';
import { literals } from '../../core/schema.ts';
import type { HubContext } from '../../context.ts';
import { principalOf, requires, tenantScope } from '../auth.ts';
import { ApiError, badRequest, conflict, notFound } from '../errors.ts';

const DeviceParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const Credentials = Type.Object({ username: Type.String(), password: Type.String() });
const ImportError = Type.Object({
  line: Type.Integer({ description: 'Line in the file; the header is line 1' }),
  code: literals(IMPORT_ERROR_CODES),
  reason: Type.String(),
  params: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()])),
});
const ImportResult = Type.Object({
  preview: Type.Optional(Type.Array(Type.Object({
    line: Type.Integer(), tenantId: TenantId, kind: DeviceKindSchema, serial: Type.String(),
    residentId: Type.Optional(Type.String()), heartbeatIntervalSeconds: Type.Optional(Type.Integer()),
  }), { description: 'In a dry run: the rows that would be created' })),
  created: Type.Array(Type.Object({
    line: Type.Integer(), id: Type.String(), serial: Type.String(), kind: DeviceKindSchema, tenantId: TenantId,
    residentId: Type.Union([Type.String(), Type.Null()]), mqtt: Credentials,
  })),
  errors: Type.Array(ImportError),
});
const FleetSummarySchema = Type.Object({
  tenantId: TenantId,
  total: Type.Integer({ description: 'Active devices' }),
  byKind: Type.Record(Type.String(), Type.Integer()),
  byState: Type.Record(Type.String(), Type.Integer(), { description: `Devices in each of: ${DEVICE_STATES.join(', ')}` }),
  firmware: Type.Array(Type.Object({ kind: DeviceKindSchema, firmware: Type.String(), devices: Type.Integer() })),
});

const CSV_BODY_LIMIT = 2 * 1024 * 1024;

/** What these routes use of the hub. */
export type FleetRouteDeps = Pick<HubContext, 'audit' | 'bus' | 'chainTests' | 'deviceTests' | 'devices' | 'now' | 'residents' | 'tenants' | 'writer'>;

export const fleetRoutes = (ctx: FleetRouteDeps): FastifyPluginAsyncTypebox => async (app) => {
  // Spreadsheets export CSV; parsed in the route so every error can be reported by line.
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: CSV_BODY_LIMIT }, (_req, body, done) => done(null, body));

  /** An active or decommissioned device the user serves; 404 otherwise. */
  function visibleDevice(p: Principal, id: string): Device {
    const d = ctx.devices.get(id);
    if (!d || !servesTenant(p, d.tenantId)) throw notFound('device');
    return d;
  }
  function activeDevice(p: Principal, id: string): Device {
    const d = visibleDevice(p, id);
    if (d.decommissionedAt) throw conflict(`device ${d.id} is decommissioned`);
    return d;
  }

  app.post('/api/devices/import', {
    onRequest: requires('devices:write'),
    bodyLimit: CSV_BODY_LIMIT,
    schema: {
      tags: ['devices'],
      summary: `Register up to ${MAX_IMPORT_ROWS} devices from CSV (content-type: text/csv): all or nothing; ?dryRun=true checks every row and creates nothing`,
      description: 'A header row with tenantId, kind, serial and optionally residentId, heartbeatIntervalSeconds; comma or semicolon; UTF-8. The passwords are shown only in this answer.',
      security: [{ bearer: [] }],
      querystring: Type.Object({ dryRun: Type.Boolean({ default: false }) }),
      response: { 200: ImportResult, 201: ImportResult, 400: ImportResult },
    },
  }, async (req, reply) => {
    const p = principalOf(req);
    if (typeof req.body !== 'string') throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the file as content-type: text/csv');
    const { rows, errors } = checkImport(req.body, {
      tenantUsable: (t) => servesTenant(p, t) && ctx.tenants.get(t) !== undefined,
      residentIn: (t, id) => ctx.residents.get(id)?.tenantId === t,
      serialTaken: (t, serial) => ctx.devices.serialTaken(t, serial),
    });
    if (req.query.dryRun) return reply.status(200).send({ preview: rows, created: [], errors });
    if (errors.length > 0) return reply.status(400).send({ created: [], errors });
    const now = ctx.now();
    // One write of the group-commit writer: all rows or none.
    const created = await ctx.writer.run(() => rows.map((r) => {
      const made = ctx.devices.create(r, now);
      // Checked above; a race with another import of the same serial rolls this one back whole.
      if (!made) throw conflict(`line ${r.line}: serial ${r.serial} was registered in ${r.tenantId} meanwhile; nothing was imported`);
      ctx.audit.record(p, { action: 'create', targetType: 'device', targetId: made.device.id, tenantId: r.tenantId, reason: 'import' }, now);
      return { line: r.line, id: made.device.id, serial: r.serial, kind: r.kind, tenantId: r.tenantId, residentId: made.device.residentId, mqtt: { username: made.device.id, password: made.password } };
    }));
    req.log.info({ user: p.username, devices: created.length }, 'devices imported');
    return reply.status(201).send({ created, errors: [] });
  });

  app.get('/api/devices/summary', {
    onRequest: requires('devices:read'),
    schema: {
      tags: ['devices'], summary: 'Per municipality: devices per kind and per state, and firmware versions in use', security: [{ bearer: [] }],
      querystring: Type.Object({ tenantId: Type.Optional(TenantId) }),
      response: { 200: Type.Array(FleetSummarySchema) },
    },
  }, async (req) => {
    const p = principalOf(req);
    const scope = tenantScope(p, req.query.tenantId);
    const tenantIds = scope === 'all' ? ctx.tenants.list().map((t) => t.id) : scope;
    const devices = ctx.devices.list(scope, { includeDecommissioned: true });
    return tenantIds.map((t) => summarize(t, devices.filter((d) => d.tenantId === t)));
  });

  app.post('/api/devices/:id/credentials', {
    onRequest: requires('devices:write'),
    schema: {
      tags: ['devices'], summary: 'Issue a new MQTT password: shown only here; the old one stops working and open connections are closed at once', security: [{ bearer: [] }],
      params: DeviceParams,
      response: { 200: Type.Object({ id: Type.String(), mqtt: Credentials }) },
    },
  }, async (req) => {
    const p = principalOf(req);
    const d = activeDevice(p, req.params.id);
    const now = ctx.now();
    const password = ctx.devices.rotateSecret(d.id, { userId: p.userId, username: p.username }, now);
    if (!password) throw conflict(`device ${d.id} is decommissioned`);
    ctx.audit.record(p, { action: 'rotate_credentials', targetType: 'device', targetId: d.id, tenantId: d.tenantId }, now);
    ctx.bus.emit('device.credentials_rotated', { deviceId: d.id, at: now }, (err) => req.log.error({ err }, 'credentials listener failed'));
    return { id: d.id, mqtt: { username: d.id, password } };
  });

  app.get('/api/devices/:id/changes', {
    onRequest: requires('devices:read'),
    schema: {
      tags: ['devices'], summary: 'Who rotated the device\'s credentials and moved it between residents, and when (never a password)', security: [{ bearer: [] }],
      params: DeviceParams,
      response: {
        200: Type.Object({
          credentialRotations: Type.Array(Type.Object({ at: Type.String({ format: 'date-time' }), by: Type.String() })),
          assignments: Type.Array(Type.Object({ at: Type.String({ format: 'date-time' }), from: Type.Union([Type.String(), Type.Null()]), to: Type.Union([Type.String(), Type.Null()]), by: Type.String() })),
        }),
      },
    },
  }, async (req) => {
    const d = visibleDevice(principalOf(req), req.params.id);
    return { credentialRotations: ctx.devices.rotations(d.id), assignments: ctx.devices.assignments(d.id) };
  });

  app.put('/api/devices/:id/resident', {
    onRequest: requires('devices:write'),
    schema: {
      tags: ['devices'], summary: 'Move the device to another resident of its municipality, or to none (null)', security: [{ bearer: [] }],
      params: DeviceParams,
      body: Type.Object({ residentId: Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()]) }, { additionalProperties: false }),
    },
  }, async (req) => {
    const p = principalOf(req);
    const d = activeDevice(p, req.params.id);
    const to = req.body.residentId;
    if (to !== null && ctx.residents.get(to)?.tenantId !== d.tenantId) throw badRequest(`body/residentId: no resident ${to} in municipality ${d.tenantId}`);
    const now = ctx.now();
    ctx.devices.assign(d.id, to, p.username, now);
    ctx.audit.record(p, { action: 'assign', targetType: 'device', targetId: d.id, tenantId: d.tenantId, reason: to === null ? 'no resident' : `resident ${to}` }, now);
    return ctx.devices.get(d.id) as Device;
  });

  app.delete('/api/devices/:id/maintenance', {
    onRequest: requires('maintenance:write'),
    schema: { tags: ['devices'], summary: 'End the device\'s maintenance now: its technical alarms come again', security: [{ bearer: [] }], params: DeviceParams },
  }, async (req) => {
    const p = principalOf(req);
    const d = visibleDevice(p, req.params.id);
    ctx.devices.setMaintenance(d.id, null);
    ctx.audit.record(p, { action: 'maintenance_end', targetType: 'device', targetId: d.id, tenantId: d.tenantId }, ctx.now());
    return ctx.devices.get(d.id) as Device;
  });

  app.post('/api/devices/:id/tests', {
    onRequest: requires('devices:write'),
    schema: {
      tags: ['devices'],
      summary: 'Start a chain test: press the device\'s button (safety alarm: test alarm; GPS: SOS) and have an operator confirm it with test_ok, or have a door lock or dispenser send any event, within the window',
      security: [{ bearer: [] }], params: DeviceParams, response: { 201: DeviceTestSchema },
    },
  }, async (req, reply) => {
    const p = principalOf(req);
    const d = activeDevice(p, req.params.id);
    const now = ctx.now();
    const test = await ctx.writer.run(() => ctx.chainTests.start(d, p.username, now));
    ctx.audit.record(p, { action: 'start_test', targetType: 'device', targetId: d.id, tenantId: d.tenantId }, now);
    return reply.status(201).send(test);
  });

  app.get('/api/devices/:id/tests', {
    onRequest: requires('devices:read'),
    schema: { tags: ['devices'], summary: 'The device\'s chain tests, newest first', security: [{ bearer: [] }], params: DeviceParams, response: { 200: Type.Array(DeviceTestSchema) } },
  }, async (req) => {
    const d = visibleDevice(principalOf(req), req.params.id);
    return ctx.deviceTests.listForDevice(d.id);
  });
};
