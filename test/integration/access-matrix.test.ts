/**
 * Every route × every role × own and other municipality. The routes come from the OpenAPI
 * document, so a route added without a row in MATRIX fails the first test the day it is added.
 * Users serve Oslo (0301); the administrator serves all. Targets are fresh records of Oslo and
 * of Bergen (4601), made through the real API and, for alarms, by a real device over MQTT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../../hub/core/access.ts';
import { defaultRules } from '../../hub/core/rules.ts';
import { topics } from '../../hub/core/topics.ts';
import { apiClient, connectDevice, nextEventId, registerDevice, startTestHub, type TestHub } from '../helpers/hub.ts';

const OWN = '0301';
const OTHER = '4601';

let t: TestHub;
const tokens = new Map<Role, string>();
let seq = 0;
const unique = () => `${process.pid}-${++seq}`;

beforeAll(async () => {
  t = await startTestHub();
  await t.api('POST', '/api/tenants', { id: OWN, name: 'Oslo' });
  await t.api('POST', '/api/tenants', { id: OTHER, name: 'Bergen' });
  for (const role of ROLES) {
    if (role === 'admin') {
      tokens.set(role, t.adminToken);
      continue;
    }
    await t.api('POST', '/api/users', { username: `matrix-${role}`, password: 'Nattevakt-Kaffe-7', role, tenantIds: [OWN] });
    tokens.set(role, await login(`matrix-${role}`));
  }
});
afterAll(async () => { await t.close(); });

async function login(username: string): Promise<string> {
  const r = await t.api('POST', '/api/auth/login', { username, password: 'Nattevakt-Kaffe-7' }, null);
  return r.body.token;
}

/** Fresh records of a municipality, made by the administrator. */
const make = {
  async device(tenantId: string) {
    return registerDevice(t.api, 'safety_alarm', tenantId);
  },
  async alarm(tenantId: string): Promise<string> {
    const dev = await registerDevice(t.api, 'safety_alarm', tenantId);
    const c = await connectDevice(t.mqttUrl, dev);
    await c.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: new Date().toISOString(), type: 'button_pressed' }), { qos: 1 });
    await c.endAsync();
    const alarms = (await t.api('GET', `/api/alarms?tenantId=${tenantId}&limit=500`)).body as { id: string; deviceId: string }[];
    const a = alarms.find((x) => x.deviceId === dev.id);
    if (!a) throw new Error('no alarm raised');
    return a.id;
  },
  /** A user of the municipality: its id, or (byName) its user name. */
  async user(tenantId: string, byName = false): Promise<string> {
    const username = `m-${unique()}`;
    const r = await t.api('POST', '/api/users', { username, password: 'Nattevakt-Kaffe-7', role: 'operator', tenantIds: [tenantId] });
    return byName ? username : r.body.id;
  },
  async rule(tenantId: string): Promise<string> {
    const r = await t.api('POST', '/api/rules', { ...defaultRules()[0], tenantId });
    return r.body.id;
  },
};

type Who = 'public' | 'signed-in' | readonly Role[];
type Call = { path: string; body?: unknown; token?: string; csv?: string };
type Row = {
  who: Who;
  /** Whether the target's municipality decides (then it is tried in the own and the other one). */
  scoped: boolean;
  call(tenantId: string, role: Role): Promise<Call>;
  /** Statuses that mean the call was allowed; 2xx by default. */
  ok?: number[];
  /** Statuses that mean a call about another municipality was refused; 403 or 404 by default. */
  refusedOther?: number[];
  /** The answer is not JSON (a CSV file). */
  raw?: boolean;
  /** It reads or changes personal data: an allowed call leaves a row in the access log. */
  logs?: boolean;
};

const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();
const STAFF = ['operator', 'technician', 'admin'] as const;
const TECH = ['technician', 'admin'] as const;
const ADMIN = ['admin'] as const;
const LEAD = ['leader', 'admin'] as const;

const MATRIX: Record<string, Row> = {
  'GET /api/health': { who: 'public', scoped: false, call: async () => ({ path: '/api/health' }) },
  'GET /api/ready': { who: 'public', scoped: false, call: async () => ({ path: '/api/ready' }) },
  'GET /api/dashboard-config': { who: 'public', scoped: false, call: async () => ({ path: '/api/dashboard-config' }) },
  'POST /api/auth/login': { logs: true,
    who: 'public', scoped: false,
    call: async (_t, role) => ({ path: '/api/auth/login', body: { username: role === 'admin' ? 'admin' : `matrix-${role}`, password: role === 'admin' ? 'test-admin-password' : 'Nattevakt-Kaffe-7' }, token: '' }),
  },
  'POST /api/auth/logout': {
    who: 'signed-in', scoped: false,
    // A session of its own, so the matrix's tokens stay valid.
    call: async (_t, role) => ({ path: '/api/auth/logout', token: role === 'admin' ? (await t.api('POST', '/api/auth/login', { username: 'admin', password: 'test-admin-password' }, null)).body.token : await login(`matrix-${role}`) }),
  },
  'POST /api/live/ticket': { who: STAFF, scoped: false, call: async () => ({ path: '/api/live/ticket' }) },
  'POST /api/tenants': { who: ADMIN, scoped: false, call: async () => ({ path: '/api/tenants', body: { id: String(1000 + (seq++ % 8000)).padStart(4, '0'), name: 'Ny kommune' } }) },
  'GET /api/audit': { who: ADMIN, scoped: true, call: async (tenantId) => ({ path: `/api/audit?tenantId=${tenantId}` }) },
  'GET /api/audit.csv': { who: ADMIN, scoped: true, call: async (tenantId) => ({ path: `/api/audit.csv?tenantId=${tenantId}` }), raw: true },
  'GET /metrics': { who: ADMIN, scoped: false, call: async () => ({ path: '/metrics' }), raw: true },
  'GET /api/audit/verify': { who: ADMIN, scoped: false, call: async () => ({ path: '/api/audit/verify' }) },
  'GET /api/residents/{id}/access-log': { logs: true, who: ADMIN, scoped: true, call: async (tenantId) => ({ path: `/api/residents/${(await make.device(tenantId)).residentId}/access-log` }) },
  'GET /api/residents/{id}/export': { logs: true, who: ADMIN, scoped: true, call: async (tenantId) => ({ path: `/api/residents/${(await make.device(tenantId)).residentId}/export` }) },
  'POST /api/residents/{id}/erase': { logs: true,
    who: ADMIN, scoped: true,
    call: async (tenantId) => { const id = (await make.device(tenantId)).residentId; return { path: `/api/residents/${id}/erase`, body: { confirm: id, reason: 'matrise' } }; },
  },
  'PUT /api/tenants/{id}/retention': { who: ADMIN, scoped: true, call: async (tenantId) => ({ path: `/api/tenants/${tenantId}/retention`, body: { eventsDays: 1825, telemetryDays: 90, auditDays: 1825 } }) },
  'GET /api/users': { who: ADMIN, scoped: false, call: async () => ({ path: '/api/users' }) },
  'PATCH /api/users/{id}': { who: ADMIN, scoped: true, call: async (tenantId) => ({ path: `/api/users/${await make.user(tenantId)}`, body: { disabled: true } }) },
  'POST /api/users/{id}/password': { who: ADMIN, scoped: true, call: async (tenantId) => ({ path: `/api/users/${await make.user(tenantId)}/password` }) },
  'POST /api/auth/password': {
    who: 'signed-in', scoped: false,
    // A user of its own, so the matrix's users keep their passwords.
    call: async (tenantId) => {
      const name = await make.user(tenantId, true);
      return { path: '/api/auth/password', body: { currentPassword: 'Nattevakt-Kaffe-7', newPassword: `Ny-Natt-${unique()}` }, token: await login(name) };
    },
  },
  'GET /api/tenants': { who: ['operator', 'technician', 'leader', 'admin'], scoped: false, call: async () => ({ path: '/api/tenants' }) },
  'POST /api/users': { who: ADMIN, scoped: true, call: async (tenantId) => ({ path: '/api/users', body: { username: `u-${unique()}`, password: 'Nattevakt-Kaffe-7', role: 'operator', tenantIds: [tenantId] } }) },
  'POST /api/residents': { logs: true, who: TECH, scoped: true, call: async (tenantId) => ({ path: '/api/residents', body: { tenantId, name: 'Ny Beboer', address: 'Gate 1' } }) },
  'GET /api/residents': { logs: true, who: STAFF, scoped: true, call: async (tenantId) => ({ path: `/api/residents?tenantId=${tenantId}` }) },
  'GET /api/residents/{id}': { logs: true, who: STAFF, scoped: true, call: async (tenantId) => ({ path: `/api/residents/${(await make.device(tenantId)).residentId}?reason=matrix` }) },
  'PUT /api/residents/{id}': { logs: true, who: TECH, scoped: true, call: async (tenantId) => ({ path: `/api/residents/${(await make.device(tenantId)).residentId}`, body: { name: 'Endret', address: 'Gate 2' } }) },
  'PUT /api/residents/{id}/maintenance': { logs: true, who: TECH, scoped: true, call: async (tenantId) => ({ path: `/api/residents/${(await make.device(tenantId)).residentId}/maintenance`, body: { until: inAnHour() } }) },
  'POST /api/devices': { who: TECH, scoped: true, call: async (tenantId) => ({ path: '/api/devices', body: { tenantId, kind: 'door_lock', serial: `M-${unique()}` } }) },
  'GET /api/devices': { logs: true, who: STAFF, scoped: true, call: async (tenantId) => ({ path: `/api/devices?tenantId=${tenantId}` }) },
  'POST /api/devices/import': {
    who: TECH, scoped: true,
    // Rows of a municipality the user does not serve are errors of the file, by line.
    refusedOther: [400],
    call: async (tenantId) => ({ path: '/api/devices/import', csv: `tenantId;kind;serial\n${tenantId};door_lock;CSV-${unique()}\n` }),
  },
  'GET /api/devices/summary': { who: STAFF, scoped: true, call: async (tenantId) => ({ path: `/api/devices/summary?tenantId=${tenantId}` }) },
  'POST /api/devices/{id}/credentials': { who: TECH, scoped: true, call: async (tenantId) => ({ path: `/api/devices/${(await make.device(tenantId)).id}/credentials` }) },
  'GET /api/devices/{id}/changes': { who: STAFF, scoped: true, call: async (tenantId) => ({ path: `/api/devices/${(await make.device(tenantId)).id}/changes` }) },
  'PUT /api/devices/{id}/resident': { who: TECH, scoped: true, call: async (tenantId) => ({ path: `/api/devices/${(await make.device(tenantId)).id}/resident`, body: { residentId: null } }) },
  'DELETE /api/devices/{id}/maintenance': { who: TECH, scoped: true, call: async (tenantId) => ({ path: `/api/devices/${(await make.device(tenantId)).id}/maintenance` }) },
  'POST /api/devices/{id}/tests': { who: TECH, scoped: true, call: async (tenantId) => ({ path: `/api/devices/${(await make.device(tenantId)).id}/tests` }) },
  'GET /api/devices/{id}/tests': { who: STAFF, scoped: true, call: async (tenantId) => ({ path: `/api/devices/${(await make.device(tenantId)).id}/tests` }) },
  'GET /api/devices/{id}': { logs: true, who: STAFF, scoped: true, call: async (tenantId) => ({ path: `/api/devices/${(await make.device(tenantId)).id}` }) },
  'DELETE /api/devices/{id}': { who: TECH, scoped: true, call: async (tenantId) => ({ path: `/api/devices/${(await make.device(tenantId)).id}` }) },
  'GET /api/devices/{id}/events': { logs: true, who: STAFF, scoped: true, call: async (tenantId) => ({ path: `/api/devices/${(await make.device(tenantId)).id}/events` }) },
  'PUT /api/devices/{id}/maintenance': { who: TECH, scoped: true, call: async (tenantId) => ({ path: `/api/devices/${(await make.device(tenantId)).id}/maintenance`, body: { until: inAnHour() } }) },
  // An alarm first: a list is logged as the records it returned, and an empty one returns none.
  'GET /api/alarms': { logs: true, who: STAFF, scoped: true, call: async (tenantId) => { await make.alarm(tenantId); return { path: `/api/alarms?tenantId=${tenantId}` }; } },
  'GET /api/alarms/{id}': { logs: true, who: STAFF, scoped: true, call: async (tenantId) => ({ path: `/api/alarms/${await make.alarm(tenantId)}` }) },
  'POST /api/alarms/{id}/acknowledge': { who: STAFF, scoped: true, call: async (tenantId) => ({ path: `/api/alarms/${await make.alarm(tenantId)}/acknowledge` }) },
  'POST /api/alarms/{id}/resolve': { who: STAFF, scoped: true, call: async (tenantId) => ({ path: `/api/alarms/${await make.alarm(tenantId)}/resolve`, body: { reason: 'false_alarm', note: 'matrise' } }) },
  'GET /api/stats/summary': { who: LEAD, scoped: true, call: async (tenantId) => ({ path: `/api/stats/summary?tenantId=${tenantId}&period=this_month` }) },
  'GET /api/stats/summary.csv': { who: LEAD, scoped: true, call: async (tenantId) => ({ path: `/api/stats/summary.csv?tenantId=${tenantId}&period=this_month` }), raw: true },
  'GET /api/stats/series': { who: LEAD, scoped: true, call: async (tenantId) => ({ path: `/api/stats/series?tenantId=${tenantId}&period=this_month&metric=alarms&interval=day` }) },
  'GET /api/stats/series.csv': { who: LEAD, scoped: true, call: async (tenantId) => ({ path: `/api/stats/series.csv?tenantId=${tenantId}&period=this_month&metric=answered&interval=week` }), raw: true },
  'PUT /api/tenants/{id}/targets': { who: ADMIN, scoped: true, call: async (tenantId) => ({ path: `/api/tenants/${tenantId}/targets`, body: { within60s: 0.975, within180s: 0.99 } }) },
  'GET /api/rules': { who: ['operator', 'technician', 'leader', 'admin'], scoped: true, call: async (tenantId) => ({ path: `/api/rules?tenantId=${tenantId}` }) },
  'POST /api/rules': { who: ADMIN, scoped: true, call: async (tenantId) => ({ path: '/api/rules', body: { ...defaultRules()[0], tenantId } }) },
  'GET /api/rules/{id}': { who: ['operator', 'technician', 'leader', 'admin'], scoped: true, call: async (tenantId) => ({ path: `/api/rules/${await make.rule(tenantId)}` }) },
  'PUT /api/rules/{id}': { who: ADMIN, scoped: true, call: async (tenantId) => ({ path: `/api/rules/${await make.rule(tenantId)}`, body: defaultRules()[0] }) },
  'DELETE /api/rules/{id}': { who: ADMIN, scoped: true, call: async (tenantId) => ({ path: `/api/rules/${await make.rule(tenantId)}` }) },
};

async function send(method: string, c: Call, token: string | null, raw = false): Promise<{ status: number; body: unknown }> {
  if (c.csv === undefined && !raw) return apiClient(t.httpUrl, () => token)(method, c.path, c.body, token);
  const headers: Record<string, string> = c.csv === undefined ? {} : { 'content-type': 'text/csv' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${t.httpUrl}${c.path}`, { method, headers, body: c.csv });
  return { status: res.status, body: await res.text() };
}

/** Rows in the access log now. */
const auditRows = () => t.hub.ctx.db.prepare('SELECT count(*) FROM audit_log').pluck().get() as number;

type Expectation = 'allowed' | 'no-permission' | 'other-municipality';
function expectation(row: Row, role: Role, tenantId: string): Expectation {
  if (row.who === 'public' || row.who === 'signed-in') return 'allowed';
  if (!row.who.includes(role)) return 'no-permission';
  if (row.scoped && tenantId === OTHER && role !== 'admin') return 'other-municipality';
  return 'allowed';
}

describe('the role × municipality matrix', () => {
  it('has a row for every route in the OpenAPI document, and none for a route that is gone', async () => {
    const doc = (await (await fetch(`${t.httpUrl}/docs/json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
    expect(routes).toEqual(Object.keys(MATRIX).sort());
  });

  for (const [route, row] of Object.entries(MATRIX)) {
    const [method, template] = route.split(' ') as [string, string];
    it(`${route}: each role, own and other municipality`, async () => {
      const outcomes: string[] = [];
      for (const role of ROLES) {
        for (const tenantId of row.scoped ? [OWN, OTHER] : [OWN]) {
          const c = await row.call(tenantId, role);
          const token = c.token === undefined ? tokens.get(role) ?? null : c.token || null;
          const logged = auditRows();
          const res = await send(method, c, token, row.raw);
          const want = expectation(row, role, tenantId);
          const ok = want === 'allowed'
            ? (row.ok ?? [200, 201, 204]).includes(res.status)
            : want === 'no-permission' ? res.status === 403 : (row.refusedOther ?? [403, 404]).includes(res.status);
          // The access log: a refusal is logged, and so is every allowed access to personal data.
          const mustLog = want === 'allowed' ? !!row.logs : res.status !== 400;
          const didLog = auditRows() > logged;
          const bothOk = ok && (!mustLog || didLog);
          outcomes.push(`${role}@${tenantId}: ${res.status} ${bothOk ? 'as' : 'NOT as'} ${want}${ok ? '' : ` (${JSON.stringify(res.body).slice(0, 160)})`}${mustLog && !didLog ? ' (no access-log row)' : ''}`);
        }
      }
      expect(outcomes.filter((o) => o.includes('NOT as')), `${template}\n${outcomes.join('\n')}`).toEqual([]);
    });
  }

  it('refuses every protected route without a session, and with a forged one', async () => {
    for (const [route, row] of Object.entries(MATRIX)) {
      if (row.who === 'public') continue;
      const [method] = route.split(' ') as [string];
      const c = await row.call(OWN, 'admin');
      for (const token of [null, 'forged-token']) {
        const body = c.body ?? (method === 'GET' || method === 'DELETE' || c.csv ? undefined : {});
        expect((await send(method, { ...c, body }, token, row.raw)).status, `${route} ${token}`).toBe(401);
      }
    }
  });
});
