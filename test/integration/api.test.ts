/**
 * The HTTP API: sign-in, roles, municipalities, validation and the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tileSources } from '../../hub/api/server.ts';
import { apiClient, registerDevice, startTestHub, type TestHub } from '../helpers/hub.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
  for (const [id, name] of [['0301', 'Oslo'], ['4601', 'Bergen'], ['5001', 'Trondheim']]) {
    expect((await t.api('POST', '/api/tenants', { id, name })).status).toBe(201);
  }
});
afterAll(async () => { await t.close(); });

async function userToken(username: string, role: string, tenantIds: string[]): Promise<string> {
  const created = await t.api('POST', '/api/users', { username, password: 'Nattevakt-Kaffe-7', role, tenantIds });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const login = await t.api('POST', '/api/auth/login', { username, password: 'Nattevakt-Kaffe-7' }, null);
  expect(login.status).toBe(200);
  expect(login.body.user).toEqual({ username, role, tenantIds, allTenants: false, mustChangePassword: false });
  return login.body.token;
}

describe('authentication', () => {
  it('refuses every protected route without a token, and with a wrong one', async () => {
    const routes: [string, string][] = [
      ['GET', '/api/devices'], ['GET', '/api/devices/x'], ['DELETE', '/api/devices/x'], ['GET', '/api/devices/x/events'],
      ['POST', '/api/devices'], ['POST', '/api/residents'], ['GET', '/api/residents'], ['POST', '/api/users'], ['POST', '/api/tenants'],
      ['GET', '/api/tenants'], ['PUT', '/api/residents/x'], ['PUT', '/api/devices/x/maintenance'],
      ['GET', '/api/alarms'], ['GET', '/api/alarms/x'], ['POST', '/api/alarms/x/acknowledge'], ['POST', '/api/alarms/x/resolve'],
      ['GET', '/api/rules'], ['POST', '/api/rules'], ['PUT', '/api/rules/x'], ['DELETE', '/api/rules/x'],
    ];
    for (const [method, path] of routes) {
      const body = method === 'POST' || method === 'PUT' ? {} : undefined;
      expect((await t.api(method, path, body, null)).status, `${method} ${path}`).toBe(401);
      expect((await t.api(method, path, body, 'forged-token')).status, `${method} ${path} forged`).toBe(401);
    }
  });

  it('says nothing about whether a username exists', async () => {
    const a = await t.api('POST', '/api/auth/login', { username: 'admin', password: 'wrong-password' }, null);
    const b = await t.api('POST', '/api/auth/login', { username: 'nobody', password: 'wrong-password' }, null);
    expect(a.status).toBe(401);
    expect(b).toEqual(a);
  });

  it('ends a session on logout', async () => {
    const login = await t.api('POST', '/api/auth/login', { username: 'admin', password: 'test-admin-password' }, null);
    const token = login.body.token;
    expect((await t.api('GET', '/api/tenants', undefined, token)).status).toBe(200);
    expect((await t.api('POST', '/api/auth/logout', undefined, token)).status).toBe(204);
    expect((await t.api('GET', '/api/tenants', undefined, token)).status).toBe(401);
    expect((await t.api('POST', '/api/auth/logout', undefined, token)).status).toBe(401);
  });

  it('slows password guessing: after ten tries a minute, 429 for that user name', async () => {
    const tries = [];
    for (let i = 0; i < 12; i++) tries.push((await t.api('POST', '/api/auth/login', { username: 'guessed', password: `guess-${i}` }, null)).status);
    expect(tries.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(tries.slice(10)).toEqual([429, 429]);
    // Another user name is not held up by it.
    expect((await t.api('POST', '/api/auth/login', { username: 'admin', password: 'test-admin-password' }, null)).status).toBe(200);
  });

  it('keeps sessions across a restart of the hub', async () => {
    const dir = t.dataDir;
    const other = await startTestHub();
    const token = other.adminToken;
    await other.close({ keepData: true });
    const again = await startTestHub({ dataDir: other.dataDir });
    expect((await again.api('GET', '/api/tenants', undefined, token)).status).toBe(200);
    await again.close();
    expect(dir).not.toBe(other.dataDir);
  });
});

describe('bad input gets 400 saying what is wrong', () => {
  it.each([
    ['POST', '/api/tenants', { id: 'Oslo', name: 'Oslo' }, 'body/id'],
    ['POST', '/api/tenants', { id: '0302' }, 'name'],
    ['POST', '/api/users', { username: 'x y', password: 'Nattevakt-Kaffe-7', role: 'operator', tenantIds: ['0301'] }, 'body/username'],
    ['POST', '/api/users', { username: 'ok', password: 'Nattevakt-Kaffe-7', role: 'king', tenantIds: ['0301'] }, 'body/role must be one of: operator, technician, leader, admin'],
    ['POST', '/api/users', { username: 'ok', password: 'Nattevakt-Kaffe-7', role: 'operator', tenantIds: ['9999'] }, 'unknown municipality 9999'],
    ['POST', '/api/users', { username: 'ok', password: 'Nattevakt-Kaffe-7', role: 'operator', tenantIds: [] }, 'at least one municipality'],
    ['POST', '/api/residents', { tenantId: '0301', name: 'Kari' }, 'address'],
    ['POST', '/api/residents', { tenantId: '0301', name: 'Kari', address: 'Gata 1', nextOfKin: [{ name: 'Per', phone: 'ring meg' }] }, 'body/nextOfKin/0/phone'],
    ['POST', '/api/devices', { tenantId: '0301', kind: 'toaster', serial: 'A' }, 'body/kind must be one of: safety_alarm, door_lock, gps_tracker, medicine_dispenser'],
    ['POST', '/api/devices', { tenantId: '0301', kind: 'door_lock', serial: 'A', heartbeatIntervalSeconds: 1 }, 'body/heartbeatIntervalSeconds'],
    ['POST', '/api/devices', { tenantId: '0301', kind: 'door_lock', serial: 'A', residentId: 'r-nobody' }, 'body/residentId'],
    ['POST', '/api/devices', { tenantId: '0301', kind: 'door_lock', serial: 'A', colour: 'red' }, 'colour'],
    ['GET', '/api/devices/x/events?limit=5000', undefined, 'querystring/limit'],
    ['GET', '/api/devices/x/events?limit=ten', undefined, 'querystring/limit'],
  ])('%s %s %j', async (method, path, body, expected) => {
    const res = await t.api(method, path, body);
    expect(res.status).toBe(400);
    expect(res.body.message).toContain(expected);
  });

  it('malformed JSON', async () => {
    const res = await fetch(`${t.httpUrl}/api/tenants`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminToken}` }, body: '{"id":',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).message).toMatch(/JSON/i);
  });
});

describe('roles and municipalities', () => {
  it('lets each role do only its work, in its own municipalities', async () => {
    const operator = await userToken('operator-oslo', 'operator', ['0301']);
    const tech = await userToken('tekniker-oslo', 'technician', ['0301']);
    const leader = await userToken('leder-oslo', 'leader', ['0301']);
    const as = (token: string) => apiClient(t.httpUrl, () => token);

    // Technicians register devices in their municipality and nowhere else.
    const osloResident = await as(tech)('POST', '/api/residents', { tenantId: '0301', name: 'Ola', address: 'Karl Johans gate 1' });
    expect(osloResident.status).toBe(201);
    expect((await as(tech)('POST', '/api/residents', { tenantId: '4601', name: 'Eva', address: 'Bryggen 1' })).status).toBe(403);
    const osloDevice = await as(tech)('POST', '/api/devices', { tenantId: '0301', kind: 'safety_alarm', serial: 'OSL-1', residentId: osloResident.body.id });
    expect(osloDevice.status).toBe(201);
    expect((await as(tech)('POST', '/api/devices', { tenantId: '0301', kind: 'safety_alarm', serial: 'OSL-1' })).status).toBe(409);
    expect((await as(tech)('POST', '/api/devices', { tenantId: '4601', kind: 'safety_alarm', serial: 'BRG-1' })).status).toBe(403);

    // Bergen's devices and residents do not exist for Oslo's staff.
    const bergen = await registerDevice(t.api, 'door_lock', '4601');
    for (const token of [operator, tech]) {
      expect((await as(token)('GET', `/api/devices/${bergen.id}`)).status).toBe(404);
      expect((await as(token)('GET', `/api/devices/${bergen.id}/events`)).status).toBe(404);
      expect((await as(token)('GET', `/api/residents/${bergen.residentId}`)).status).toBe(404);
      const devices = (await as(token)('GET', '/api/devices')).body;
      expect(devices.length).toBeGreaterThan(0);
      expect(devices.every((d: { tenantId: string }) => d.tenantId === '0301')).toBe(true);
      const residents = (await as(token)('GET', '/api/residents')).body;
      expect(residents.every((r: { tenantId: string }) => r.tenantId === '0301')).toBe(true);
      expect((await as(token)('GET', '/api/devices?tenantId=4601')).status).toBe(403);
      expect((await as(token)('GET', '/api/tenants')).body).toEqual([{ id: '0301', name: 'Oslo' }]);
    }
    expect((await as(tech)('DELETE', `/api/devices/${bergen.id}`)).status).toBe(404);

    // Operators read but do not register or decommission.
    expect((await as(operator)('GET', `/api/devices/${osloDevice.body.id}`)).status).toBe(200);
    expect((await as(operator)('POST', '/api/devices', { tenantId: '0301', kind: 'safety_alarm', serial: 'OSL-2' })).status).toBe(403);
    expect((await as(operator)('DELETE', `/api/devices/${osloDevice.body.id}`)).status).toBe(403);
    // Leaders read statistics, not residents or devices.
    expect((await as(leader)('GET', '/api/residents')).status).toBe(403);
    expect((await as(leader)('GET', '/api/devices')).status).toBe(403);
    // Only administrators add municipalities and users.
    for (const token of [operator, tech, leader]) {
      expect((await as(token)('POST', '/api/tenants', { id: '1103', name: 'Stavanger' })).status).toBe(403);
      expect((await as(token)('POST', '/api/users', { username: 'sneaky', password: 'Nattevakt-Kaffe-7', role: 'admin', tenantIds: [] })).status).toBe(403);
    }
  });

  it('refuses a taken username and a taken municipality id', async () => {
    expect((await t.api('POST', '/api/users', { username: 'admin', password: 'Nattevakt-Kaffe-7', role: 'admin', tenantIds: [], allTenants: true })).status).toBe(409);
    expect((await t.api('POST', '/api/tenants', { id: '0301', name: 'Oslo igjen' })).status).toBe(409);
  });

  it('writes every read of a resident to the audit log, with who and why', async () => {
    const dev = await registerDevice(t.api, 'safety_alarm', '5001');
    const res = await t.api('GET', `/api/residents/${dev.residentId}?reason=alarm-123`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: dev.residentId, tenantId: '5001', name: 'Kari Nordmann' });
    const log = t.hub.ctx.audit.forTarget('resident', dev.residentId);
    expect(log.map((e) => [e.username, e.role, e.action, e.reason])).toEqual([
      ['admin', 'admin', 'create', null],
      ['admin', 'admin', 'read', 'alarm-123'],
    ]);
    expect(() => t.hub.ctx.db.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
  });
});

describe('documentation', () => {
  it('serves the OpenAPI document with every route and its schemas', async () => {
    const res = await fetch(`${t.httpUrl}/docs/json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as any;
    for (const path of ['/api/health', '/api/auth/login', '/api/users', '/api/tenants', '/api/residents', '/api/devices', '/api/devices/{id}', '/api/devices/{id}/events']) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(doc.paths['/api/devices'].post.requestBody.content['application/json'].schema.properties.kind).toBeDefined();
    expect((await fetch(`${t.httpUrl}/docs`)).status).toBe(200);
  });
});

describe('security headers', () => {
  it('are on every response: a strict content security policy with the map tiles only from the configured server, no framing, no sniffing', async () => {
    for (const path of ['/api/health', '/', '/api/tenants']) {
      const res = await fetch(`${t.httpUrl}${path}`);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("default-src 'self'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain('img-src \'self\' data: https://tile.openstreetmap.org');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), path).toBe('same-origin');
    }
  });
  it('allow a tile server with subdomains as a wildcard, and nothing for a bad URL', () => {
    expect(tileSources('https://{s}.tile.example.no/{z}/{x}/{y}.png')).toEqual(['https://*.tile.example.no']);
    expect(tileSources('http://127.0.0.1:9/{z}/{x}/{y}.png')).toEqual(['http://127.0.0.1:9']);
    expect(tileSources('not a url')).toEqual([]);
  });
});
