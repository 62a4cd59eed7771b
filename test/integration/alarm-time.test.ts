/**
 * What time decides, end to end: silent devices, outages, geofence dwell, dose windows,
 * escalation, maintenance; and the rules and residents they read, through the API.
 * The hub's clock is a TestClock the test moves forward; everything else is real.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../hub/core/alarms.ts';
import type { Rule } from '../../hub/core/rules.ts';
import { DEFAULT_SILENCE_POLICY } from '../../hub/core/silence.ts';
import { topics } from '../../hub/core/topics.ts';
import { connectDevice, eventually, nextEventId, type Registered, registerDevice, startTestHub, TestClock, type TestHub } from '../helpers/hub.ts';
import { connectLive } from '../helpers/live.ts';

const clock = new TestClock();
let t: TestHub;

beforeAll(async () => {
  t = await startTestHub({
    clock,
    config: {
      scheduler: { tickMs: 50, silenceEveryMs: 100 },
      silence: { ...DEFAULT_SILENCE_POLICY, holdSeconds: 30, windowSeconds: 300, outageMinDevices: 5 },
      alarms: { ackDeadlineSeconds: [60, 120, 300, 900, 3600], escalationRepeatSeconds: 30, cancelGraceSeconds: 60 },
    },
  });
});
afterAll(async () => { await t.close(); });

async function send(client: MqttClient, dev: Registered, event: Record<string, unknown>): Promise<void> {
  await client.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: clock.now().toISOString(), ...event }), { qos: 1 });
}

async function alarmsOf(tenantId: string): Promise<Alarm[]> {
  const res = await t.api('GET', `/api/alarms?tenantId=${tenantId}&limit=500`);
  expect(res.status).toBe(200);
  return res.body;
}
const active = (list: Alarm[], type: string, deviceId?: string) => list.find((a) => a.type === type && a.state !== 'resolved' && (!deviceId || a.deviceId === deviceId));
const heartbeat = { type: 'heartbeat', battery: 90, signal: -70, firmware: '1.0' };

/** Moves the hub's clock and waits for the scheduler to have looked. */
async function advance(seconds: number): Promise<void> {
  clock.advance(seconds);
  await new Promise((r) => setTimeout(r, 150));
  await t.hub.scheduler.tick();
}

describe('rules through the API', () => {
  it('gives a new municipality the defaults, keeps a disabled rule visible, and validates rules', async () => {
    expect((await t.api('POST', '/api/tenants', { id: '1103', name: 'Stavanger' })).status).toBe(201);
    const rules: Rule[] = (await t.api('GET', '/api/rules?tenantId=1103')).body;
    expect(rules.length).toBeGreaterThanOrEqual(10);
    expect(new Set(rules.map((r) => r.kind))).toEqual(new Set(['instant', 'time_window', 'geofence', 'absence', 'threshold']));
    const night = rules.find((r) => r.alarmType === 'night_door_open')!;
    const { id, tenantId: _t, ...body } = night;
    const off = await t.api('PUT', `/api/rules/${id}`, { ...body, enabled: false });
    expect(off.status).toBe(200);
    const listed = (await t.api('GET', '/api/rules?tenantId=1103')).body.find((r: Rule) => r.id === id);
    expect(listed).toMatchObject({ enabled: false, alarmType: 'night_door_open' });
    const bad = await t.api('POST', '/api/rules', { tenantId: '1103', kind: 'geofence', name: 'x', enabled: true, alarmType: 'x_y', priority: 9, category: 'care', dwellSeconds: 10 });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('priority');
    const added = await t.api('POST', '/api/rules', { tenantId: '1103', kind: 'instant', name: 'Test', enabled: true, alarmType: 'closed_door', priority: 5, category: 'technical', eventTypes: ['closed'] });
    expect(added.status).toBe(201);
    expect((await t.api('DELETE', `/api/rules/${added.body.id}`)).status).toBe(200);
    expect((await t.api('GET', `/api/rules/${added.body.id}`)).status).toBe(404);
  });
});

describe('a silent device', () => {
  it('gets an offline alarm after N × its interval, which clears itself when it reports again', async () => {
    const dev = await registerDevice(t.api, 'safety_alarm', '0301', { heartbeatIntervalSeconds: 60 });
    const client = await connectDevice(t.mqttUrl, dev);
    await send(client, dev, heartbeat);
    await advance(170); // 3 × 60 s not yet passed
    expect(active(await alarmsOf('0301'), 'device_offline', dev.id)).toBeUndefined();
    await advance(20 + 30); // past 3 intervals, and past the hold
    const alarm = await eventually(async () => active(await alarmsOf('0301'), 'device_offline', dev.id), 'offline alarm');
    expect(alarm).toMatchObject({ category: 'technical', priority: 2, state: 'open', residentId: dev.residentId });
    await send(client, dev, heartbeat);
    const after = (await t.api('GET', `/api/alarms/${alarm.id}`)).body;
    expect(after).toMatchObject({ state: 'resolved', resolvedBy: { name: 'system' }, resolution: { reason: 'condition_cleared' } });
    expect(after.transitions.map((x: { action: string }) => x.action)).toEqual(['raised', 'cleared']);
    await client.endAsync();

    // Silent again; this time it only reconnects, which is a sign of life too.
    await advance(240);
    const again = await eventually(async () => active(await alarmsOf('0301'), 'device_offline', dev.id), 'second offline alarm');
    expect(again.id).not.toBe(alarm.id);
    const back = await connectDevice(t.mqttUrl, dev);
    await eventually(async () => (await t.api('GET', `/api/alarms/${again.id}`)).body.state === 'resolved', 'cleared on reconnect');
    await back.endAsync();
  });

  it('raises from heartbeats the rules count (weak signal three in a row, low battery), and clears on a good one', async () => {
    const dev = await registerDevice(t.api, 'safety_alarm', '0301');
    const client = await connectDevice(t.mqttUrl, dev);
    const activeOf = async (type: string) => active(await alarmsOf('0301'), type, dev.id);
    // Heartbeats are acknowledged before their commit: each is looked for, not assumed.
    const counted = async (n: number) => eventually(async () => (await t.api('GET', `/api/devices/${dev.id}`)).body.acceptedCount === n, `${n} heartbeats`);
    await send(client, dev, { ...heartbeat, signal: -110 });
    await send(client, dev, { ...heartbeat, signal: -111 });
    await counted(2);
    expect(await activeOf('signal_low')).toBeUndefined();
    await send(client, dev, { ...heartbeat, signal: -112 });
    const weak = await eventually(() => activeOf('signal_low'), 'weak signal alarm');
    expect(weak).toMatchObject({ category: 'technical', state: 'open' });
    await send(client, dev, { ...heartbeat, signal: -80 });
    await eventually(async () => (await t.api('GET', `/api/alarms/${weak.id}`)).body.state === 'resolved', 'cleared by a good signal');
    // The streak starts again from nothing after a good heartbeat.
    await send(client, dev, { ...heartbeat, signal: -110 });
    await send(client, dev, { ...heartbeat, battery: 9 });
    const low = await eventually(() => activeOf('battery_low'), 'low battery alarm');
    await counted(6);
    expect(await activeOf('signal_low')).toBeUndefined();
    await send(client, dev, { ...heartbeat, battery: 25 });
    await eventually(async () => (await t.api('GET', `/api/alarms/${low.id}`)).body.state === 'resolved', 'cleared by a charged battery');
    await client.endAsync();
  });

  it('many silent together in one municipality make one outage alarm; when it ends, those still silent get their own', async () => {
    await t.api('POST', '/api/tenants', { id: '5001', name: 'Trondheim' });
    const devs = await Promise.all(Array.from({ length: 6 }, () => registerDevice(t.api, 'safety_alarm', '5001', { heartbeatIntervalSeconds: 60 })));
    const clients = await Promise.all(devs.map((d) => connectDevice(t.mqttUrl, d)));
    await Promise.all(clients.map((c, i) => send(c, devs[i]!, heartbeat)));
    const live = await connectLive(t.httpUrl, t.adminToken);
    await advance(185);
    const outage = await eventually(async () => active(await alarmsOf('5001'), 'outage'), 'outage alarm');
    expect([...outage.devices].sort()).toEqual(devs.map((d) => d.id).sort());
    await advance(60); // well past the hold: still no flood
    const during = await alarmsOf('5001');
    expect(during.filter((a) => a.type === 'device_offline')).toEqual([]);
    expect(live.messages.filter((m) => m.type === 'alarm' && m.alarm.tenantId === '5001' && m.change === 'raised')).toHaveLength(1);

    // Four of six come back: the outage ends, the two still silent get their own alarms.
    await Promise.all(clients.slice(0, 4).map((c, i) => send(c, devs[i]!, heartbeat)));
    await advance(1);
    const after = await eventually(async () => {
      const list = await alarmsOf('5001');
      return list.filter((a) => a.type === 'device_offline' && a.state === 'open').length === 2 ? list : null;
    }, 'own alarms for the two still silent');
    expect(after.find((a) => a.id === outage.id)?.state).toBe('resolved');
    expect(after.filter((a) => a.type === 'device_offline' && a.state === 'open').map((a) => a.deviceId).sort()).toEqual([devs[4]!.id, devs[5]!.id].sort());
    live.close();
    await Promise.all(clients.map((c) => c.endAsync()));
  });

  it('in maintenance raises no technical alarm, but care alarms still come; maintenance ends by itself', async () => {
    const dev = await registerDevice(t.api, 'safety_alarm', '0301', { heartbeatIntervalSeconds: 60 });
    const until = new Date(clock.now().getTime() + 3600_000).toISOString();
    expect((await t.api('PUT', `/api/devices/${dev.id}/maintenance`, { until: new Date(clock.now().getTime() + 30 * 86_400_000).toISOString() })).status).toBe(400);
    const m = await t.api('PUT', `/api/devices/${dev.id}/maintenance`, { until, note: 'bytter batteri' });
    expect(m.status).toBe(200);
    expect(m.body.maintenanceUntil).toBe(until);
    const client = await connectDevice(t.mqttUrl, dev);
    await send(client, dev, { type: 'mains_lost' });
    await send(client, dev, { type: 'button_pressed' });
    await client.endAsync();
    await advance(600);
    let list = await alarmsOf('0301');
    expect(active(list, 'mains_lost', dev.id)).toBeUndefined();
    expect(active(list, 'device_offline', dev.id)).toBeUndefined();
    expect(active(list, 'button_pressed', dev.id)).toBeDefined();
    await advance(3600); // maintenance over: the silence is an alarm again
    list = await eventually(async () => {
      const l = await alarmsOf('0301');
      return active(l, 'device_offline', dev.id) ? l : null;
    }, 'offline after maintenance');
    expect(active(list, 'device_offline', dev.id)).toBeDefined();
  });

  it('held back for a resident in maintenance: technical alarms of every device of theirs, never care alarms', async () => {
    const dev = await registerDevice(t.api, 'door_lock', '0301');
    const until = new Date(clock.now().getTime() + 2 * 3600_000).toISOString();
    const m = await t.api('PUT', `/api/residents/${dev.residentId}/maintenance`, { until, note: 'flytter' });
    expect(m.status).toBe(200);
    expect(m.body.maintenanceUntil).toBe(until);
    const client = await connectDevice(t.mqttUrl, dev);
    await send(client, dev, { type: 'battery_low', battery: 5 });
    await send(client, dev, { type: 'forced' });
    await client.endAsync();
    const list = await alarmsOf('0301');
    expect(active(list, 'battery_low', dev.id)).toBeUndefined();
    expect(active(list, 'door_forced', dev.id)).toBeDefined();
  });
});

describe('a GPS tracker', () => {
  it('outside the safe zone for longer than the dwell raises one alarm; coming back is recorded on it', async () => {
    const dev = await registerDevice(t.api, 'gps_tracker', '0301');
    const put = await t.api('PUT', `/api/residents/${dev.residentId}`, {
      name: 'Per Hansen', address: 'Thereses gate 10, 0168 Oslo', riskFlags: ['wandering_risk', 'cognitive_impairment'],
      safeZone: { type: 'circle', center: { lat: 59.9270, lon: 10.7370 }, radiusMetres: 250 },
    });
    expect(put.status).toBe(200);
    expect(put.body.safeZone.radiusMetres).toBe(250);
    expect((await t.api('PUT', `/api/residents/${dev.residentId}`, { name: 'Per', address: 'x', safeZone: { type: 'circle', center: { lat: 99, lon: 0 }, radiusMetres: 5 } })).status).toBe(400);
    const client = await connectDevice(t.mqttUrl, dev);
    await send(client, dev, { type: 'position', lat: 59.9271, lon: 10.7371, accuracy: 8 });
    await send(client, dev, { type: 'position', lat: 59.9400, lon: 10.7370, accuracy: 8 }); // ~1.4 km away
    await advance(60);
    expect(active(await alarmsOf('0301'), 'left_safe_zone', dev.id)).toBeUndefined();
    await send(client, dev, { type: 'position', lat: 59.9420, lon: 10.7380, accuracy: 8 });
    await advance(70); // 130 s outside: past the 120 s dwell
    const alarm = await eventually(async () => active(await alarmsOf('0301'), 'left_safe_zone', dev.id), 'geofence alarm');
    expect(alarm).toMatchObject({ priority: 1, category: 'care', count: 1 });
    await advance(60);
    await send(client, dev, { type: 'position', lat: 59.9271, lon: 10.7369, accuracy: 8 });
    const detail = (await t.api('GET', `/api/alarms/${alarm.id}`)).body;
    expect(detail.state).toBe('open');
    expect(detail.transitions.find((x: { action: string }) => x.action === 'note').detail).toContain('back inside');
    await client.endAsync();
  });
});

describe('a medicine dispenser', () => {
  it('raises when a due dose is not taken within the window, and not when it is', async () => {
    const dev = await registerDevice(t.api, 'medicine_dispenser', '0301');
    const client = await connectDevice(t.mqttUrl, dev);
    const morning = clock.now().toISOString();
    await send(client, dev, { type: 'dose_due', doseId: 'morgen', scheduledAt: morning });
    await advance(20 * 60);
    await send(client, dev, { type: 'dose_taken', doseId: 'morgen', scheduledAt: morning });
    const evening = clock.now().toISOString();
    await send(client, dev, { type: 'dose_due', doseId: 'kveld', scheduledAt: evening });
    await advance(59 * 60);
    expect(active(await alarmsOf('0301'), 'dose_not_taken', dev.id)).toBeUndefined();
    await advance(2 * 60);
    const alarm = await eventually(async () => active(await alarmsOf('0301'), 'dose_not_taken', dev.id), 'dose alarm');
    expect(alarm.detail).toContain('kveld');
    expect(alarm.count).toBe(1);
    await client.endAsync();
  });
});

describe('escalation', () => {
  it('raises the priority of an unanswered alarm at its deadline and repeats until someone acknowledges', async () => {
    const dev = await registerDevice(t.api, 'door_lock', '0301');
    const client = await connectDevice(t.mqttUrl, dev);
    await send(client, dev, { type: 'open_too_long', openSeconds: 1200 }); // priority 3: 300 s to answer
    await client.endAsync();
    const live = await connectLive(t.httpUrl, t.adminToken);
    const alarm = active(await alarmsOf('0301'), 'door_open_too_long', dev.id)!;
    expect(alarm.priority).toBe(3);
    await advance(290);
    expect((await t.api('GET', `/api/alarms/${alarm.id}`)).body.priority).toBe(3);
    await advance(15);
    await live.waitFor((m) => m.type === 'alarm' && m.alarm.id === alarm.id && m.change === 'escalated' && m.alarm.priority === 2, 'first escalation');
    await advance(31);
    await live.waitFor((m) => m.type === 'alarm' && m.alarm.id === alarm.id && m.change === 'escalated' && m.alarm.priority === 1, 'second escalation');
    expect((await t.api('POST', `/api/alarms/${alarm.id}/acknowledge`)).status).toBe(200);
    await advance(300);
    const detail = (await t.api('GET', `/api/alarms/${alarm.id}`)).body;
    expect(detail.transitions.map((x: { action: string }) => x.action)).toEqual(['raised', 'escalated', 'escalated', 'acknowledged']);
    expect(detail.escalationLevel).toBe(2);
    live.close();
  });
});
