/**
 * A resident's data exported and erased, and retention pruning old data on schedule: through the
 * real hub, with what is left checked in the API, the statistics and the access log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../hub/core/alarms.ts';
import { topics } from '../../hub/core/topics.ts';
import { ADMIN_PASSWORD, apiClient, connectDevice, nextEventId, type Registered, registerDevice, startTestHub, TestClock, type TestHub } from '../helpers/hub.ts';

const clock = new TestClock();
let t: TestHub;
let gps: Registered;
let alarm: Alarm;

async function send(dev: Registered, event: Record<string, unknown>): Promise<void> {
  const c = await connectDevice(t.mqttUrl, dev);
  await c.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: clock.now().toISOString(), ...event }), { qos: 1 });
  await c.endAsync();
}

beforeAll(async () => {
  t = await startTestHub({ clock });
  await t.api('POST', '/api/tenants', { id: '0301', name: 'Oslo' });
  gps = await registerDevice(t.api, 'gps_tracker', '0301');
  await t.api('PUT', `/api/residents/${gps.residentId}`, { name: 'Per Hansen', address: 'Thereses gate 10', notes: 'Demens; går gjerne mot Bislett', keyInfo: 'Kode 4711' });
  await send(gps, { type: 'position', lat: 59.93, lon: 10.73, accuracy: 10 });
  await send(gps, { type: 'sos_pressed', lat: 59.931, lon: 10.731 });
  await t.hub.ctx.series.flush();
  alarm = ((await t.api('GET', `/api/alarms?deviceId=${gps.id}`)).body as Alarm[])[0] as Alarm;
  await t.api('POST', `/api/alarms/${alarm.id}/resolve`, { reason: 'staff_sent', note: 'Per var forvirret ved Bislett stadion, fulgt hjem' });
});
afterAll(async () => { await t.close(); });

describe('a resident\'s data', () => {
  it('is exported whole as JSON, and the export is logged', async () => {
    const res = await t.api('GET', `/api/residents/${gps.residentId}/export`);
    expect(res.status).toBe(200);
    const x = res.body;
    expect(x.resident).toMatchObject({ name: 'Per Hansen', notes: 'Demens; går gjerne mot Bislett', keyInfo: 'Kode 4711' });
    expect(x.devices[0].device.id).toBe(gps.id);
    expect(x.devices[0].events.map((e: { event: { type: string } }) => e.event.type)).toEqual(['sos_pressed']);
    expect(x.devices[0].telemetry[0].event).toMatchObject({ type: 'position', lat: 59.93 });
    expect(x.alarms[0]).toMatchObject({ id: alarm.id, resolution: { note: 'Per var forvirret ved Bislett stadion, fulgt hjem' } });
    expect(x.alarms[0].transitions.length).toBeGreaterThan(1);
    expect(x.accessLog.some((r: { action: string }) => r.action === 'update')).toBe(true);
    const log = (await t.api('GET', `/api/residents/${gps.residentId}/access-log`)).body;
    expect(log.some((r: { action: string }) => r.action === 'export')).toBe(true);
  });

  it('is erased: name, address, notes, positions and free text go; the counts stay; the erasure is logged', async () => {
    expect((await t.api('POST', `/api/residents/${gps.residentId}/erase`, { confirm: 'someone else', reason: 'krav fra bruker' })).status).toBe(400);
    const before = (await t.api('GET', '/api/stats/summary?tenantId=0301&period=this_month')).body;
    const done = await t.api('POST', `/api/residents/${gps.residentId}/erase`, { confirm: gps.residentId, reason: 'krav fra bruker etter GDPR art. 17' });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ devices: 1, alarms: 1 });

    const r = (await t.api('GET', `/api/residents/${gps.residentId}?reason=kontroll`)).body;
    expect(r).toMatchObject({ name: 'Slettet / Erased', address: '–', erasedAt: expect.any(String) });
    expect(r.notes).toBeUndefined();
    expect(r.keyInfo).toBeUndefined();
    expect((await t.api('GET', `/api/devices/${gps.id}`)).body.position).toBeNull();
    const events = (await t.api('GET', `/api/devices/${gps.id}/events`)).body;
    expect(events.map((e: { event: { type: string } }) => e.event.type)).toEqual(['sos_pressed']);
    expect(events[0].event.lat).toBeUndefined();
    const detail = (await t.api('GET', `/api/alarms/${alarm.id}`)).body;
    expect(detail.resolution).toEqual({ reason: 'staff_sent', note: '' });
    expect(JSON.stringify(detail)).not.toContain('Bislett');
    // The statistics are made of counts, which stay.
    const after = (await t.api('GET', '/api/stats/summary?tenantId=0301&period=this_month')).body;
    expect(after.alarms).toEqual(before.alarms);
    expect(after.users).toEqual(before.users);
    const log = (await t.api('GET', `/api/residents/${gps.residentId}/access-log`)).body;
    expect(log.find((x: { action: string }) => x.action === 'erase')).toMatchObject({ reason: 'krav fra bruker etter GDPR art. 17' });
    expect((await t.api('POST', `/api/residents/${gps.residentId}/erase`, { confirm: gps.residentId, reason: 'igjen' })).status).toBe(409);
    expect((await t.api('GET', '/api/audit/verify')).body.ok).toBe(true);
  });
});

describe('retention', () => {
  it('keeps the access log at least as long as the events', async () => {
    expect((await t.api('PUT', '/api/tenants/0301/retention', { eventsDays: 30, telemetryDays: 10, auditDays: 20 })).status).toBe(400);
  });

  it('prunes events, alarms, positions and the oldest access log rows on schedule, logs the pruning, and the chain still holds', async () => {
    expect((await t.api('PUT', '/api/tenants/0301/retention', { eventsDays: 2, telemetryDays: 1, auditDays: 3 })).body).toEqual({ eventsDays: 2, telemetryDays: 1, auditDays: 3 });
    const dev = await registerDevice(t.api, 'safety_alarm', '0301');
    await send(dev, { type: 'mains_lost' });
    const old = ((await t.api('GET', `/api/alarms?deviceId=${dev.id}`)).body as Alarm[])[0] as Alarm;
    await send(dev, { type: 'mains_restored' }); // clears it: resolved
    await send(dev, { type: 'heartbeat', battery: 80, signal: -70, firmware: '1' });
    await t.hub.ctx.series.flush();
    const telemetry = () => t.hub.ctx.timeseries.query({ measurement: 'device_telemetry', tags: { device: dev.id }, from: new Date(0), to: new Date(Date.UTC(2200, 0, 1)) });
    expect(await telemetry()).toHaveLength(1);
    const rowsBefore = (await t.api('GET', '/api/audit?limit=1')).body.total;
    clock.advance(4 * 86_400);
    // Four days on, the administrator signs in again.
    const token = (await t.api('POST', '/api/auth/login', { username: 'admin', password: ADMIN_PASSWORD }, null)).body.token;
    const api = apiClient(t.httpUrl, () => token);
    const fresh = await registerDevice(api, 'door_lock', '0301');
    await send(fresh, { type: 'forced' });
    const pruned = await t.hub.ctx.retention.prune();
    expect(pruned.events).toBeGreaterThanOrEqual(2);
    expect(pruned.alarms).toBeGreaterThanOrEqual(1);
    expect(pruned.audit).toBeGreaterThan(0);
    expect((await api('GET', `/api/alarms/${old.id}`)).status).toBe(404);
    expect((await api('GET', `/api/devices/${dev.id}/events`)).body).toEqual([]);
    expect(await telemetry()).toEqual([]);
    expect((await api('GET', `/api/devices/${fresh.id}/events`)).body).toHaveLength(1);
    const audit = (await api('GET', '/api/audit?limit=1000')).body;
    expect(audit.total).toBeLessThan(rowsBefore + 50);
    expect(audit.rows.filter((r: { action: string }) => r.action === 'prune').map((r: { targetType: string }) => r.targetType).sort()).toEqual(['audit_log', 'retention']);
    expect((await api('GET', '/api/audit/verify')).body).toMatchObject({ ok: true });
  });
});
