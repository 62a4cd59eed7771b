/**
 * The technician's day against the real hub and real MQTT devices: import by CSV and connect
 * with the issued credentials, rotate a password, move and decommission a device, prove a device
 * with a chain test (passed through an operator's confirmation, expired without one), and read
 * the fleet by state.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../hub/core/alarms.ts';
import { topics } from '../../hub/core/topics.ts';
import { apiClient, type Api, connectDevice, eventually, nextEventId, registerDevice, startTestHub, TestClock, type TestHub } from '../helpers/hub.ts';
import { connectLive } from '../helpers/live.ts';

const clock = new TestClock();
let t: TestHub;
let tech: Api;
let operator: Api;
let operatorToken: string;

beforeAll(async () => {
  t = await startTestHub({ clock, config: { scheduler: { tickMs: 50, silenceEveryMs: 60_000 } } });
  await t.api('POST', '/api/tenants', { id: '0301', name: 'Oslo' });
  await t.api('POST', '/api/tenants', { id: '4601', name: 'Bergen' });
  for (const [u, role] of [['tekniker', 'technician'], ['operatør', 'operator']] as const) {
    const r = await t.api('POST', '/api/users', { username: u === 'operatør' ? 'operator' : u, password: 'Nattevakt-Kaffe-7', role, tenantIds: ['0301'] });
    expect(r.status).toBe(201);
  }
  const techToken = (await t.api('POST', '/api/auth/login', { username: 'tekniker', password: 'Nattevakt-Kaffe-7' }, null)).body.token;
  operatorToken = (await t.api('POST', '/api/auth/login', { username: 'operator', password: 'Nattevakt-Kaffe-7' }, null)).body.token;
  tech = apiClient(t.httpUrl, () => techToken);
  operator = apiClient(t.httpUrl, () => operatorToken);
});
afterAll(async () => { await t.close(); });

async function csv(text: string, query = '', token?: string): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { 'content-type': 'text/csv; charset=utf-8' };
  const bearer = token ?? (await t.api('POST', '/api/auth/login', { username: 'tekniker', password: 'Nattevakt-Kaffe-7' }, null)).body.token;
  headers.authorization = `Bearer ${bearer}`;
  const res = await fetch(`${t.httpUrl}/api/devices/import${query}`, { method: 'POST', headers, body: text });
  return { status: res.status, body: await res.json() };
}

const resident = async (tenantId: string, name = 'Kari Nordmann') =>
  (await t.api('POST', '/api/residents', { tenantId, name, address: 'Storgata 1, 0155 Oslo' })).body.id as string;
const deviceCount = async () => Number((await fetch(`${t.httpUrl}/api/devices?limit=1&includeDecommissioned=true`, { headers: { authorization: `Bearer ${t.adminToken}` } })).headers.get('x-total-count'));

function closedWithin(client: MqttClient, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    client.once('close', () => { clearTimeout(timer); resolve(true); });
  });
}

describe('onboarding by CSV', () => {
  it('checks a semicolon file with a byte-order mark in a dry run, then imports it whole; the devices connect with the credentials', async () => {
    const r1 = await resident('0301', 'Ola Hansen');
    const file = `\uFEFFtenantId;kind;serial;residentId;heartbeatIntervalSeconds\r\n0301;safety_alarm;IMP-A1;${r1};120\r\n0301;door_lock;IMP-D1;;\r\n0301;medicine_dispenser;"IMP;M1";;600\r\n`;
    const before = await deviceCount();
    const dry = await csv(file, '?dryRun=true');
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ created: [], errors: [] });
    expect(dry.body.preview.map((r: { serial: string }) => r.serial)).toEqual(['IMP-A1', 'IMP-D1', 'IMP;M1']);
    expect(await deviceCount()).toBe(before);

    const done = await csv(file);
    expect(done.status).toBe(201);
    expect(done.body.errors).toEqual([]);
    expect(done.body.created.map((c: { line: number; serial: string; kind: string }) => [c.line, c.serial, c.kind])).toEqual([
      [2, 'IMP-A1', 'safety_alarm'], [3, 'IMP-D1', 'door_lock'], [4, 'IMP;M1', 'medicine_dispenser'],
    ]);
    expect(await deviceCount()).toBe(before + 3);
    const [alarm, door] = done.body.created;
    expect((await tech('GET', `/api/devices/${alarm.id}`)).body).toMatchObject({ residentId: r1, heartbeatIntervalSeconds: 120, states: expect.arrayContaining(['never_tested']) });

    for (const c of [alarm, door]) {
      const client = await connectDevice(t.mqttUrl, { id: c.mqtt.username, password: c.mqtt.password });
      await client.publishAsync(topics.events(c.id), JSON.stringify({ id: nextEventId(), ts: clock.now().toISOString(), type: 'heartbeat', battery: 90, signal: -70, firmware: '2.1.0' }), { qos: 1 });
      await client.endAsync();
      expect((await tech('GET', `/api/devices/${c.id}`)).body.acceptedCount).toBe(1);
    }
  });

  it('reports every bad row by line with a reason, and creates nothing', async () => {
    await registerDevice(t.api, 'safety_alarm', '0301', { serial: 'TAKEN-1' });
    const bergen = await resident('4601');
    const file = [
      'tenantId,kind,serial,residentId,heartbeatIntervalSeconds',
      '0301,safety_alarm,OK-1,,', // line 2: fine
      '9999,safety_alarm,X-1,,', // 3: unknown municipality
      '4601,safety_alarm,X-2,,', // 4: a municipality the technician does not serve
      '0301,toaster,X-3,,', // 5: unknown kind
      '0301,safety_alarm,TAKEN-1,,', // 6: already registered
      '0301,door_lock,DUP-1,,', // 7
      '0301,door_lock,DUP-1,,', // 8: duplicate of line 7
      `0301,door_lock,X-4,${bergen},`, // 9: resident of another municipality
      '0301,door_lock,X-5,,5', // 10: interval too short
      '0301,door_lock,X-6,,ten', // 11: not a number
      '0301,door_lock', // 12: too few fields
      'abc,door_lock,X-7,,', // 13: not a municipality number
    ].join('\n');
    const before = await deviceCount();
    const res = await csv(file);
    expect(res.status).toBe(400);
    expect(res.body.created).toEqual([]);
    const got = res.body.errors.map((e: { line: number; code: string }) => [e.line, e.code]);
    expect(got).toEqual([
      [3, 'unknown_tenant'], [4, 'unknown_tenant'], [5, 'bad_kind'], [6, 'serial_taken'], [8, 'duplicate_serial_in_file'],
      [9, 'unknown_resident'], [10, 'bad_interval'], [11, 'bad_interval'], [12, 'field_count'], [13, 'bad_tenant'],
    ]);
    expect(res.body.errors.find((e: { line: number }) => e.line === 8).reason).toContain('line 7');
    expect(await deviceCount()).toBe(before);
    const dry = await csv(file, '?dryRun=true');
    expect(dry.status).toBe(200);
    expect(dry.body.errors).toEqual(res.body.errors);
  });

  it('says what is wrong with the file itself', async () => {
    expect((await csv('')).body.errors[0].code).toBe('empty_file');
    expect((await csv('tenantId,kind,serial\n')).body.errors[0].code).toBe('empty_file');
    const cols = await csv('tenantId,type,serial\n0301,safety_alarm,Z-1\n');
    expect(cols.status).toBe(400);
    expect(cols.body.errors.map((e: { code: string }) => e.code)).toEqual(['unknown_column', 'missing_column']);
    const json = await fetch(`${t.httpUrl}/api/devices/import`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(415);
    expect((await operator('POST', '/api/devices/import', {})).status).toBe(403);
  });
});

describe('credentials', () => {
  it('rotates a password: the old stops at once, the connected session is closed, the new works; who and when is kept, never the password', async () => {
    const dev = await registerDevice(t.api, 'safety_alarm', '0301');
    const client = await connectDevice(t.mqttUrl, dev);
    const closed = closedWithin(client, 3000);
    const res = await tech('POST', `/api/devices/${dev.id}/credentials`);
    expect(res.status).toBe(200);
    expect(res.body.mqtt.username).toBe(dev.id);
    expect(res.body.mqtt.password).not.toBe(dev.password);
    expect(await closed).toBe(true);
    await expect(connectDevice(t.mqttUrl, dev)).rejects.toThrow(/Bad username or password/i);
    const again = await connectDevice(t.mqttUrl, { id: dev.id, password: res.body.mqtt.password });
    await again.endAsync();
    const changes = (await tech('GET', `/api/devices/${dev.id}/changes`)).body;
    expect(changes.credentialRotations).toEqual([{ at: expect.any(String), by: 'tekniker' }]);
    expect(JSON.stringify(changes)).not.toContain(res.body.mqtt.password);
    expect((await operator('POST', `/api/devices/${dev.id}/credentials`)).status).toBe(403);
  });
});

describe('reassigning and decommissioning', () => {
  it('moves a device between residents of its municipality only, and keeps the history', async () => {
    const dev = await registerDevice(t.api, 'door_lock', '0301');
    const other = await resident('0301', 'Per Olsen');
    const bergen = await resident('4601');
    expect((await tech('PUT', `/api/devices/${dev.id}/resident`, { residentId: bergen })).status).toBe(400);
    expect((await tech('PUT', `/api/devices/${dev.id}/resident`, { residentId: other })).body.residentId).toBe(other);
    expect((await tech('PUT', `/api/devices/${dev.id}/resident`, { residentId: null })).body.residentId).toBeNull();
    const moves = (await tech('GET', `/api/devices/${dev.id}/changes`)).body.assignments;
    expect(moves.map((m: { from: string | null; to: string | null }) => [m.from, m.to])).toEqual([[other, null], [dev.residentId, other]]);
  });

  it('decommissions with the history kept', async () => {
    const dev = await registerDevice(t.api, 'safety_alarm', '0301');
    const c = await connectDevice(t.mqttUrl, dev);
    await c.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: clock.now().toISOString(), type: 'mains_lost' }), { qos: 1 });
    await c.endAsync();
    expect((await tech('DELETE', `/api/devices/${dev.id}`)).status).toBe(200);
    expect((await tech('GET', `/api/devices/${dev.id}/events`)).body).toHaveLength(1);
    const listed = (await tech('GET', '/api/devices?state=decommissioned')).body.map((d: { id: string }) => d.id);
    expect(listed).toContain(dev.id);
    expect((await tech('GET', '/api/devices')).body.map((d: { id: string }) => d.id)).not.toContain(dev.id);
    expect((await tech('POST', `/api/devices/${dev.id}/tests`)).status).toBe(409);
  });
});

describe('the chain test', () => {
  it('passes for a safety alarm when an operator confirms the test alarm; the alarm is marked as a test all the way', async () => {
    const dev = await registerDevice(t.api, 'safety_alarm', '0301');
    const live = await connectLive(t.httpUrl, operatorToken);
    const start = await tech('POST', `/api/devices/${dev.id}/tests`);
    expect(start.status).toBe(201);
    expect(start.body).toMatchObject({ state: 'waiting', deviceId: dev.id, startedBy: 'tekniker' });
    expect(Date.parse(start.body.expiresAt) - clock.now().getTime()).toBeGreaterThan(14 * 60_000);

    const c = await connectDevice(t.mqttUrl, dev);
    await c.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: clock.now().toISOString(), type: 'test_alarm' }), { qos: 1 });
    await c.endAsync();
    const seen = await live.waitFor((m) => m.type === 'alarm' && m.alarm.deviceId === dev.id, 'test alarm in the queue');
    if (seen.type !== 'alarm') throw new Error('unexpected');
    expect(seen.alarm).toMatchObject({ test: true, testId: start.body.id, type: 'test_alarm' });
    expect((await tech('GET', `/api/devices/${dev.id}/tests`)).body[0]).toMatchObject({ state: 'alarm_raised', alarmId: seen.alarm.id });

    // test_ok is only for test alarms.
    const real = await registerDevice(t.api, 'safety_alarm', '0301');
    const rc = await connectDevice(t.mqttUrl, real);
    await rc.publishAsync(topics.events(real.id), JSON.stringify({ id: nextEventId(), ts: clock.now().toISOString(), type: 'button_pressed' }), { qos: 1 });
    await rc.endAsync();
    const realAlarm = ((await operator('GET', `/api/alarms?deviceId=${real.id}`)).body as Alarm[])[0];
    const refused = await operator('POST', `/api/alarms/${realAlarm?.id}/resolve`, { reason: 'test_ok', note: 'prøver' });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toContain('test');

    const ok = await operator('POST', `/api/alarms/${seen.alarm.id}/resolve`, { reason: 'test_ok', note: 'Test mottatt i responssenteret' });
    expect(ok.status).toBe(200);
    const [test] = (await tech('GET', `/api/devices/${dev.id}/tests`)).body;
    expect(test).toMatchObject({ state: 'passed', endedBy: 'operator' });
    const d = (await tech('GET', `/api/devices/${dev.id}`)).body;
    expect(d.lastTest).toMatchObject({ result: 'passed', by: 'operator' });
    expect(d.states).not.toContain('never_tested');
    live.close();
  });

  it('passes for a GPS tracker through its SOS, and fails when the operator resolves it otherwise', async () => {
    const dev = await registerDevice(t.api, 'gps_tracker', '0301');
    await tech('POST', `/api/devices/${dev.id}/tests`);
    const c = await connectDevice(t.mqttUrl, dev);
    await c.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: clock.now().toISOString(), type: 'sos_pressed' }), { qos: 1 });
    const sos = ((await operator('GET', `/api/alarms?deviceId=${dev.id}`)).body as Alarm[])[0];
    expect(sos).toMatchObject({ type: 'sos', test: true });
    await operator('POST', `/api/alarms/${sos?.id}/resolve`, { reason: 'test_ok', note: 'ok' });
    expect((await tech('GET', `/api/devices/${dev.id}`)).body.lastTest.result).toBe('passed');

    await tech('POST', `/api/devices/${dev.id}/tests`);
    await c.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: clock.now().toISOString(), type: 'sos_pressed' }), { qos: 1 });
    await c.endAsync();
    const again = ((await operator('GET', `/api/alarms?deviceId=${dev.id}&state=open`)).body as Alarm[])[0];
    await operator('POST', `/api/alarms/${again?.id}/resolve`, { reason: 'technical_fault', note: 'kom ikke fram med lyd' });
    const d = (await tech('GET', `/api/devices/${dev.id}`)).body;
    expect(d.lastTest.result).toBe('failed');
    expect(d.lastPassedTestAt).not.toBeNull(); // the earlier pass still counts
  });

  it('passes for a door lock with any event in the window', async () => {
    const dev = await registerDevice(t.api, 'door_lock', '0301');
    await tech('POST', `/api/devices/${dev.id}/tests`);
    const c = await connectDevice(t.mqttUrl, dev);
    await c.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: clock.now().toISOString(), type: 'locked' }), { qos: 1 });
    await c.endAsync();
    expect((await tech('GET', `/api/devices/${dev.id}/tests`)).body[0]).toMatchObject({ state: 'passed', endedBy: 'device' });
    expect((await operator('GET', `/api/alarms?deviceId=${dev.id}`)).body).toEqual([]);
  });

  it('expires when nothing comes, and fails when the alarm came but nobody confirmed it', async () => {
    const quiet = await registerDevice(t.api, 'medicine_dispenser', '0301');
    const pressed = await registerDevice(t.api, 'safety_alarm', '0301');
    await tech('POST', `/api/devices/${quiet.id}/tests`);
    await tech('POST', `/api/devices/${pressed.id}/tests`);
    const c = await connectDevice(t.mqttUrl, pressed);
    await c.publishAsync(topics.events(pressed.id), JSON.stringify({ id: nextEventId(), ts: clock.now().toISOString(), type: 'test_alarm' }), { qos: 1 });
    await c.endAsync();
    clock.advance(16 * 60);
    const expired = await eventually(async () => { const [x] = (await tech('GET', `/api/devices/${quiet.id}/tests`)).body; return x.state !== 'waiting' && x; }, 'test ended');
    expect(expired).toMatchObject({ state: 'expired', endedBy: 'system' });
    expect((await tech('GET', `/api/devices/${quiet.id}`)).body).toMatchObject({ lastTest: { result: 'expired' }, states: expect.arrayContaining(['never_tested']) });
    const failed = await eventually(async () => { const [x] = (await tech('GET', `/api/devices/${pressed.id}/tests`)).body; return x.state !== 'alarm_raised' && x; }, 'test ended');
    expect(failed.state).toBe('failed');
  });
});

describe('the fleet', () => {
  it('filters by state, kind, resident and serial, most urgent first, paged; and sums up per municipality', async () => {
    await t.api('POST', '/api/tenants', { id: '1103', name: 'Stavanger' });
    await t.api('POST', '/api/users', { username: 'tekniker-stavanger', password: 'Nattevakt-Kaffe-7', role: 'technician', tenantIds: ['1103'] });
    const token = (await t.api('POST', '/api/auth/login', { username: 'tekniker-stavanger', password: 'Nattevakt-Kaffe-7' }, null)).body.token;
    const st = apiClient(t.httpUrl, () => token);
    const low = await registerDevice(t.api, 'safety_alarm', '1103', { serial: 'STV-LOW-1' });
    const online = await registerDevice(t.api, 'door_lock', '1103', { serial: 'STV-OK-1' });
    const silent = await registerDevice(t.api, 'gps_tracker', '1103', { serial: 'STV-GPS-1' });
    const c1 = await connectDevice(t.mqttUrl, low);
    await c1.publishAsync(topics.events(low.id), JSON.stringify({ id: nextEventId(), ts: clock.now().toISOString(), type: 'heartbeat', battery: 9, signal: -112, firmware: '1.0.0' }), { qos: 1 });
    const c2 = await connectDevice(t.mqttUrl, online);
    await c2.publishAsync(topics.events(online.id), JSON.stringify({ id: nextEventId(), ts: clock.now().toISOString(), type: 'heartbeat', battery: 80, signal: -60, firmware: '3.2.1' }), { qos: 1 });
    await t.api('POST', `/api/devices/${online.id}/tests`);
    await c2.publishAsync(topics.events(online.id), JSON.stringify({ id: nextEventId(), ts: clock.now().toISOString(), type: 'locked' }), { qos: 1 });

    const ids = async (q: string) => (await st('GET', `/api/devices${q}`)).body.map((d: { id: string }) => d.id);
    expect(await ids('?state=low_battery')).toEqual([low.id]);
    expect(await ids('?state=weak_signal')).toEqual([low.id]);
    expect(await ids('?state=offline')).toEqual([silent.id]);
    expect((await ids('?state=online')).sort()).toEqual([low.id, online.id].sort());
    expect((await ids('?state=never_tested')).sort()).toEqual([low.id, silent.id].sort());
    expect(await ids('?kind=door_lock')).toEqual([online.id]);
    expect(await ids(`?residentId=${silent.residentId}`)).toEqual([silent.id]);
    expect(await ids('?q=gps-1')).toEqual([silent.id]);
    // Most urgent first: the silent tracker, then the low battery; the tested, healthy lock last.
    expect(await ids('')).toEqual([silent.id, low.id, online.id]);
    const page = await fetch(`${t.httpUrl}/api/devices?limit=1&offset=1`, { headers: { authorization: `Bearer ${token}` } });
    expect(page.headers.get('x-total-count')).toBe('3');
    expect(((await page.json()) as { id: string }[]).map((d) => d.id)).toEqual([low.id]);
    expect((await st('GET', '/api/devices?state=sleeping')).status).toBe(400);
    // Stavanger's technician sees nothing of Oslo.
    expect((await st('GET', '/api/devices?tenantId=0301')).status).toBe(403);

    const [summary] = (await st('GET', '/api/devices/summary')).body;
    expect(summary).toMatchObject({ tenantId: '1103', total: 3, byKind: { safety_alarm: 1, door_lock: 1, gps_tracker: 1, medicine_dispenser: 0 } });
    expect(summary.byState).toMatchObject({ online: 2, offline: 1, low_battery: 1, never_tested: 2 });
    expect(summary.firmware).toEqual([
      { kind: 'door_lock', firmware: '3.2.1', devices: 1 }, { kind: 'gps_tracker', firmware: 'unknown', devices: 1 }, { kind: 'safety_alarm', firmware: '1.0.0', devices: 1 },
    ]);
    await Promise.all([c1.endAsync(), c2.endAsync()]);
  });

  it('sets and ends maintenance', async () => {
    const dev = await registerDevice(t.api, 'safety_alarm', '0301');
    const until = new Date(clock.now().getTime() + 3600_000).toISOString();
    expect((await tech('PUT', `/api/devices/${dev.id}/maintenance`, { until, note: 'bytter batteri' })).body.states).toContain('maintenance');
    expect((await tech('GET', '/api/devices?state=maintenance')).body.map((d: { id: string }) => d.id)).toContain(dev.id);
    const ended = await tech('DELETE', `/api/devices/${dev.id}/maintenance`);
    expect(ended.status).toBe(200);
    expect(ended.body.maintenanceUntil).toBeNull();
    expect(ended.body.states).not.toContain('maintenance');
  });
});
