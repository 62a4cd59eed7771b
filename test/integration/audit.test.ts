/**
 * The access log: every read and change of personal data with who, role, whose, what, when,
 * from where and why; lists as the records they returned; sign-ins, failed ones, refusals and
 * live connections; searchable and exportable by an administrator of the municipality; and a
 * hash chain that shows a removed or altered row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../hub/core/topics.ts';
import { apiClient, type Api, connectDevice, nextEventId, type Registered, registerDevice, startTestHub, type TestHub } from '../helpers/hub.ts';
import { connectLive } from '../helpers/live.ts';

const PASSWORD = 'Nattevakt-Kaffe-7';
let t: TestHub;
let operator: Api;
let operatorId: string;
let dev: Registered;
let bergen: Registered;

beforeAll(async () => {
  t = await startTestHub();
  for (const [id, name] of [['0301', 'Oslo'], ['4601', 'Bergen']]) await t.api('POST', '/api/tenants', { id, name });
  operatorId = (await t.api('POST', '/api/users', { username: 'ola', password: PASSWORD, role: 'operator', tenantIds: ['0301'] })).body.id;
  const token = (await t.api('POST', '/api/auth/login', { username: 'ola', password: PASSWORD }, null)).body.token;
  operator = apiClient(t.httpUrl, () => token);
  dev = await registerDevice(t.api, 'safety_alarm', '0301');
  bergen = await registerDevice(t.api, 'safety_alarm', '4601');
});
afterAll(async () => { await t.close(); });

type Row = { username: string; role: string; action: string; targetType: string; targetId: string | null; residentId: string | null; reason: string | null; source: string | null; tenantId: string | null };
const rows = async (q: string): Promise<Row[]> => (await t.api('GET', `/api/audit?${q}&limit=1000`)).body.rows;

describe('the access log', () => {
  it('holds every read of personal data: who, role, whose, why, from where; a list as its records', async () => {
    expect((await operator('GET', `/api/residents/${dev.residentId}?reason=${encodeURIComponent('samtale med pårørende')}`)).status).toBe(200);
    const c = await connectDevice(t.mqttUrl, dev);
    await c.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: new Date().toISOString(), type: 'button_pressed' }), { qos: 1 });
    await c.endAsync();
    const alarms = (await operator('GET', '/api/alarms')).body;
    await operator('GET', `/api/alarms/${alarms[0].id}`);
    await operator('GET', `/api/devices/${dev.id}?reason=${encodeURIComponent('alarm ' + alarms[0].id)}`);
    await operator('GET', `/api/devices/${dev.id}/events`);
    const devices = (await operator('GET', '/api/devices')).body;

    const mine = await rows(`userId=${operatorId}`);
    const find = (action: string, targetType: string, targetId?: string) => mine.find((r) => r.action === action && r.targetType === targetType && (!targetId || r.targetId === targetId));
    expect(find('read', 'resident', dev.residentId)).toMatchObject({ username: 'ola', role: 'operator', residentId: dev.residentId, reason: 'samtale med pårørende', source: '127.0.0.1', tenantId: '0301' });
    expect(find('read', 'alarm', alarms[0].id)).toMatchObject({ residentId: dev.residentId, reason: `alarm ${alarms[0].id}` });
    expect(find('read', 'device', dev.id)).toMatchObject({ residentId: dev.residentId });
    expect(find('read', 'events', dev.id)).toMatchObject({ residentId: dev.residentId });
    // The list of devices: one row for each device it returned.
    const listed = mine.filter((r) => r.action === 'read' && r.targetType === 'device' && r.reason === 'list of devices').map((r) => r.targetId).sort();
    expect(listed).toEqual(devices.map((d: { id: string }) => d.id).sort());
  });

  it('holds sign-ins, failed sign-ins, refused requests and live connections', async () => {
    await t.api('POST', '/api/auth/login', { username: 'ola', password: 'feil-passord-99' }, null);
    await operator('GET', '/api/users'); // an operator may not
    await operator('GET', `/api/devices/${bergen.id}`); // another municipality's
    const token = (await t.api('POST', '/api/auth/login', { username: 'ola', password: PASSWORD }, null)).body.token;
    const live = await connectLive(t.httpUrl, token);
    live.close();
    const all = await rows('');
    expect(all.find((r) => r.action === 'login_failed' && r.username === 'ola')).toMatchObject({ source: '127.0.0.1' });
    expect(all.filter((r) => r.action === 'login' && r.username === 'ola').length).toBeGreaterThanOrEqual(2);
    expect(all.find((r) => r.action === 'refused' && r.username === 'ola' && r.targetId === 'GET /api/users')).toMatchObject({ reason: expect.stringContaining('403') });
    // Another municipality's device: answered as if it did not exist, and logged as an attempt.
    expect(all.find((r) => r.action === 'refused' && r.username === 'ola' && r.targetId === 'GET /api/devices/:id')).toMatchObject({ reason: '404 device not found' });
    expect(all.find((r) => r.action === 'live_connect' && r.username === 'ola')).toBeDefined();
  });

  it('tells a resident who has seen their data, and only an administrator of their municipality', async () => {
    const seen = (await t.api('GET', `/api/residents/${dev.residentId}/access-log`)).body;
    expect(seen.some((r: { username: string; reason: string }) => r.username === 'ola' && r.reason === 'samtale med pårørende')).toBe(true);
    expect((await operator('GET', `/api/residents/${dev.residentId}/access-log`)).status).toBe(403);
    await t.api('POST', '/api/users', { username: 'bergen-admin', password: PASSWORD, role: 'admin', tenantIds: ['4601'] });
    const bt = (await t.api('POST', '/api/auth/login', { username: 'bergen-admin', password: PASSWORD }, null)).body.token;
    const asBergen = apiClient(t.httpUrl, () => bt);
    expect((await asBergen('GET', `/api/residents/${dev.residentId}/access-log`)).status).toBe(404);
    expect((await asBergen('GET', '/api/audit?tenantId=0301')).status).toBe(403);
    const theirs = (await asBergen('GET', '/api/audit?limit=1000')).body.rows as Row[];
    expect(theirs.every((r) => r.tenantId === '4601')).toBe(true);
  });

  it('is searched by period and paged, and exported as CSV', async () => {
    const from = new Date(Date.now() - 60_000).toISOString();
    const page = (await t.api('GET', `/api/audit?from=${encodeURIComponent(from)}&limit=2&offset=1`)).body;
    expect(page.rows).toHaveLength(2);
    expect(page.total).toBeGreaterThan(3);
    expect((await t.api('GET', `/api/audit?to=${encodeURIComponent(new Date(0).toISOString())}`)).body.total).toBe(0);
    const res = await fetch(`${t.httpUrl}/api/audit.csv?residentId=${dev.residentId}`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = bytes.subarray(3).toString('utf8').trim().split('\r\n');
    expect(lines[0]).toBe('id;at;username;role;tenantId;action;targetType;targetId;residentId;reason;source;hash');
    expect(lines.some((l) => l.includes(';ola;operator;0301;read;resident;'))).toBe(true);
  });

  it('cannot be changed through the API or the database, and its chain shows a row removed behind the triggers\' back', async () => {
    expect((await t.api('DELETE', '/api/audit')).status).toBe(404);
    const db = t.hub.ctx.db;
    expect(() => db.prepare('DELETE FROM audit_log WHERE id = 1').run()).toThrow(/append-only/);
    expect(() => db.prepare("UPDATE audit_log SET reason = 'x' WHERE id = 1").run()).toThrow(/append-only/);
    expect((await t.api('GET', '/api/audit/verify')).body).toMatchObject({ ok: true, brokenAt: null });
    // Someone with the database file drops the triggers and removes a row in the middle.
    const middle = db.prepare('SELECT id FROM audit_log ORDER BY id LIMIT 1 OFFSET 5').pluck().get() as number;
    db.exec('DROP TRIGGER audit_log_no_delete');
    db.prepare('DELETE FROM audit_log WHERE id = ?').run(middle);
    const v = (await t.api('GET', '/api/audit/verify')).body;
    expect(v).toMatchObject({ ok: false });
    expect(v.brokenAt).toBeGreaterThan(middle);
    db.exec("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END");
  });
});
