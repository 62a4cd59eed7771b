/**
 * What an attacker or a careless device maker can do to the device path and the live channel,
 * tried against the real broker and hub with real MQTT and WebSocket clients: another device's
 * client id, idle connections by the thousand, impossible and far-off timestamps, QoS 0 care
 * events, reused event ids, a rule that throws, commands to a device that is away, and the live
 * channel after logout, expiry, a disabled user or a changed role.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { createConnection, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../hub/core/alarms.ts';
import { topics } from '../../hub/core/topics.ts';
import { CLOSE_PERMISSIONS_CHANGED, CLOSE_SESSION_ENDED } from '../../hub/live/live.ts';
import { apiClient, connectDevice, eventually, nextEventId, type Registered, registerDevice, startTestHub, TestClock, type TestHub } from '../helpers/hub.ts';
import { connectLive, liveTicket, openLive } from '../helpers/live.ts';

const clock = new TestClock();
let t: TestHub;

beforeAll(async () => {
  t = await startTestHub({
    clock,
    config: {
      mqtt: { maxPendingPerAddress: 5, connectTimeoutMs: 1000 },
      live: { pingIntervalMs: 15_000, maxBufferedBytes: 1024 * 1024, sessionCheckMs: 200 },
    },
  });
  await t.api('POST', '/api/tenants', { id: '0301', name: 'Oslo' });
  await t.api('POST', '/api/tenants', { id: '4601', name: 'Bergen' });
});
afterAll(async () => { await t.close(); });

const iso = (offsetSeconds = 0) => new Date(clock.now().getTime() + offsetSeconds * 1000).toISOString();
const device = async (id: string) => (await t.api('GET', `/api/devices/${id}`)).body;
const alarmsOf = async (deviceId: string): Promise<Alarm[]> =>
  ((await t.api('GET', '/api/alarms?limit=500')).body as Alarm[]).filter((a) => a.deviceId === deviceId);

async function publish(client: MqttClient, dev: Registered, event: Record<string, unknown>, qos: 0 | 1 = 1): Promise<string> {
  const id = (event.id as string | undefined) ?? nextEventId();
  await client.publishAsync(topics.events(dev.id), JSON.stringify({ id, ts: iso(), ...event }), { qos });
  return id;
}

function closedWithin(client: MqttClient, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    client.once('close', () => { clearTimeout(timer); resolve(true); });
  });
}

async function user(username: string, role: string, tenantIds: string[]): Promise<{ id: string; token: string }> {
  const created = await t.api('POST', '/api/users', { username, password: 'Nattevakt-Kaffe-7', role, tenantIds });
  expect(created.status).toBe(201);
  const login = await t.api('POST', '/api/auth/login', { username, password: 'Nattevakt-Kaffe-7' }, null);
  return { id: created.body.id, token: login.body.token };
}

describe('device sessions', () => {
  it('refuses a device that uses another device\'s id as client id, with CONNACK 2; the other device is not disturbed', async () => {
    const victim = await registerDevice(t.api, 'safety_alarm', '0301');
    const attacker = await registerDevice(t.api, 'safety_alarm', '4601');
    const v = await connectDevice(t.mqttUrl, victim);
    const disturbed = closedWithin(v, 3000);
    for (const clientId of [victim.id, `${victim.id}-base`, `${victim.id}-`]) {
      for (let i = 0; i < 3; i++) {
        const err = await connectDevice(t.mqttUrl, attacker, { clientId }).then(() => null, (e: unknown) => e as { code?: number; message: string });
        expect(err, clientId).not.toBeNull();
        expect(err?.code).toBe(2);
        expect(err?.message).toMatch(/identifier rejected/i);
      }
    }
    expect(await disturbed).toBe(false);
    expect(v.connected).toBe(true);
    await publish(v, victim, { type: 'heartbeat', battery: 90, signal: -60, firmware: '1.0' });
    const health = await device(attacker.id);
    expect(health.refusedConnections).toBe(9);
    expect(health.lastRefusedConnection.reason).toContain(victim.id);
    expect(health.flags).toContain('refused_connections');
    expect((await device(victim.id)).refusedConnections).toBe(0);
    await v.endAsync();
  });

  it('lets a device use its own id with a suffix, and take over its own stale session', async () => {
    const dev = await registerDevice(t.api, 'door_lock', '0301');
    const base = await connectDevice(t.mqttUrl, dev, { clientId: `${dev.id}-base` });
    const first = await connectDevice(t.mqttUrl, dev);
    const replaced = closedWithin(first, 3000);
    const second = await connectDevice(t.mqttUrl, dev);
    expect(await replaced).toBe(true);
    await publish(second, dev, { type: 'opened' });
    expect(base.connected).toBe(true);
    expect((await device(dev.id)).refusedConnections).toBe(0);
    await Promise.all([base.endAsync(), second.endAsync()]);
  });

  it('closes idle sockets that never send CONNECT, caps them per address, and does not cap devices that authenticate', async () => {
    const open = (): Promise<{ socket: Socket; closed: Promise<number> }> => new Promise((resolve, reject) => {
      const socket = createConnection(t.hub.mqttPort, '127.0.0.1');
      const started = Date.now();
      const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - started)));
      socket.once('connect', () => resolve({ socket, closed }));
      socket.once('error', reject);
    });
    const idle = [];
    for (let i = 0; i < 5; i++) idle.push(await open());
    await new Promise((r) => setTimeout(r, 100));
    const extra = await open();
    // The sixth is closed at once; the five are closed by the connect timeout (1 s here).
    expect(await extra.closed).toBeLessThan(500);
    expect(t.hub.broker.refusals.pendingPerAddress).toBeGreaterThanOrEqual(1);
    const times = await Promise.all(idle.map((s) => s.closed));
    for (const ms of times) expect(ms).toBeGreaterThanOrEqual(900);
    await eventually(() => t.hub.broker.pendingConnections() === 0, 'no connection left waiting');

    // Twelve devices from the same address, more than the cap: each authenticates and is not counted.
    const devs = await Promise.all(Array.from({ length: 12 }, () => registerDevice(t.api, 'safety_alarm', '0301')));
    const clients = [];
    for (const d of devs) clients.push(await connectDevice(t.mqttUrl, d));
    expect(clients.every((c) => c.connected)).toBe(true);
    await Promise.all(clients.map((c) => c.endAsync()));
  });
});

describe('timestamps', () => {
  it('rejects dates that do not exist, counts them on the device, and raises nothing', async () => {
    const dev = await registerDevice(t.api, 'safety_alarm', '0301');
    const client = await connectDevice(t.mqttUrl, dev);
    for (const ts of ['2023-02-30T10:00:00Z', '2023-04-31T10:00:00Z', '2023-02-29T10:00:00Z', '2024-13-01T10:00:00Z', '2024-01-01T24:00:00Z']) {
      await publish(client, dev, { type: 'button_pressed', ts });
    }
    await publish(client, dev, { type: 'test_alarm', ts: '2024-02-29T10:00:00Z' }); // a leap day exists
    const h = await device(dev.id);
    expect(h.rejectedCount).toBe(5);
    expect(h.lastRejection.reason).toMatch(/ts/);
    expect(h.acceptedCount).toBe(1);
    expect((await alarmsOf(dev.id)).filter((a) => a.type === 'button_pressed')).toHaveLength(0);
    const events = await t.api('GET', `/api/devices/${dev.id}/events`);
    expect(events.status).toBe(200);
    expect(events.body.map((e: { event: { type: string } }) => e.event.type)).toEqual(['test_alarm']);
    await client.endAsync();
  });

  it('answers every route for rows stored with an impossible date before the check was strict', async () => {
    const dev = await registerDevice(t.api, 'medicine_dispenser', '0301');
    const client = await connectDevice(t.mqttUrl, dev);
    await publish(client, dev, { type: 'malfunction', code: 'JAM' });
    await client.endAsync();
    const [alarm] = await eventually(async () => (await alarmsOf(dev.id)).filter((a) => a.type === 'dispenser_malfunction'), 'malfunction alarm');
    if (!alarm) throw new Error('no alarm');
    // As an older hub stored them: the same row, with 30 February in it.
    const db = t.hub.ctx.db;
    const bad = (payload: string) => payload.replace(/"ts":"[^"]+"/, '"ts":"2023-02-30T10:00:00Z"');
    const row = db.prepare('SELECT event_id, payload FROM events WHERE device_id = ?').get(dev.id) as { event_id: string; payload: string };
    db.prepare('UPDATE events SET payload = ? WHERE device_id = ? AND event_id = ?').run(bad(row.payload), dev.id, row.event_id);
    const ae = db.prepare('SELECT seq, event FROM alarm_events WHERE alarm_id = ?').get(alarm.id) as { seq: number; event: string };
    db.prepare('UPDATE alarm_events SET event = ? WHERE seq = ?').run(bad(ae.event), ae.seq);
    db.prepare("INSERT INTO events (device_id, event_id, content_hash, tenant_id, type, ts, received_at, payload) VALUES (?, 'old-dose', 'h', '0301', 'dose_due', '2023-03-02T10:00:00.000Z', ?, ?)")
      .run(dev.id, iso(), JSON.stringify({ id: 'old-dose', ts: '2023-02-30T10:00:00Z', type: 'dose_due', doseId: 'd1', scheduledAt: '2023-02-31T08:00:00Z' }));

    const events = await t.api('GET', `/api/devices/${dev.id}/events`);
    expect(events.status).toBe(200);
    const dose = events.body.find((e: { event: { id: string } }) => e.event.id === 'old-dose');
    expect(dose.repaired).toHaveLength(2);
    expect(dose.repaired[0]).toContain('2023-02-30T10:00:00Z');
    expect(dose.event.ts).toBe(dose.receivedAt);
    const detail = await t.api('GET', `/api/alarms/${alarm.id}`);
    expect(detail.status).toBe(200);
    expect(detail.body.events[0].repaired[0]).toContain('2023-02-30');
    expect((await t.api('GET', `/api/alarms?limit=500`)).status).toBe(200);
  });

  it('keeps the newest position by the hub\'s time when one fix is dated 2099, and shows the clock skew', async () => {
    const dev = await registerDevice(t.api, 'gps_tracker', '0301');
    await t.api('PUT', `/api/residents/${dev.residentId}`, {
      name: 'Per Hansen', address: 'Thereses gate 10, 0168 Oslo',
      safeZone: { type: 'circle', center: { lat: 59.9270, lon: 10.7370 }, radiusMetres: 250 },
    });
    const client = await connectDevice(t.mqttUrl, dev);
    await publish(client, dev, { type: 'position', lat: 59.9271, lon: 10.7371, accuracy: 8, ts: '2099-01-01T00:00:00Z' });
    const first = await device(dev.id);
    expect(first.flags).toContain('clock_skew');
    expect(first.clockSkewSeconds).toBeGreaterThan(365 * 24 * 3600);
    expect(first.position.deviceTs).toBe('2099-01-01T00:00:00Z');
    // The clock is fixed; the resident walks out of the safe zone.
    clock.advance(5);
    await publish(client, dev, { type: 'position', lat: 59.9400, lon: 10.7370, accuracy: 8 });
    const now = await device(dev.id);
    expect(now.position).toMatchObject({ lat: 59.94, lon: 10.737 });
    expect(Math.abs(now.clockSkewSeconds)).toBeLessThan(5);
    expect(now.flags).not.toContain('clock_skew');
    // Newest first by the hub's clock, not the device's.
    await t.hub.ctx.series.flush();
    const events = (await t.api('GET', `/api/devices/${dev.id}/events`)).body;
    expect(events[0].event.lat).toBe(59.94);
    expect(events[0].receivedAt).not.toBeNull();
    // The geofence works on the hub's time too.
    clock.advance(130);
    await publish(client, dev, { type: 'position', lat: 59.9410, lon: 10.7370, accuracy: 8 });
    const alarm = await eventually(async () => (await alarmsOf(dev.id)).find((a) => a.type === 'left_safe_zone'), 'geofence alarm');
    expect(alarm.state).toBe('open');
    expect((await device(dev.id)).position.lat).toBe(59.941);
    await client.endAsync();
  });

  it('accepts a device clock far behind, flags it, and still counts silence and last seen by the hub', async () => {
    const dev = await registerDevice(t.api, 'door_lock', '0301');
    const client = await connectDevice(t.mqttUrl, dev);
    await publish(client, dev, { type: 'heartbeat', battery: 80, signal: -70, firmware: '2.0', ts: '2001-09-09T01:46:40Z' });
    const h = await device(dev.id);
    expect(h.acceptedCount).toBe(1);
    expect(h.flags).toContain('clock_skew');
    expect(h.clockSkewSeconds).toBeLessThan(-300);
    expect(Math.abs(Date.parse(h.lastSeenAt) - clock.now().getTime())).toBeLessThan(5000);
    await client.endAsync();
  });
});

describe('ingest', () => {
  it('stores a care event sent at QoS 0 and raises its alarm, and flags the device for its technician', async () => {
    const dev = await registerDevice(t.api, 'safety_alarm', '0301');
    const client = await connectDevice(t.mqttUrl, dev);
    await publish(client, dev, { type: 'button_pressed' }, 0);
    const alarm = await eventually(async () => (await alarmsOf(dev.id)).find((a) => a.type === 'button_pressed'), 'alarm from a QoS 0 press');
    expect(alarm.state).toBe('open');
    const h = await eventually(async () => { const d = await device(dev.id); return d.qos0CareEvents === 1 && d; }, 'QoS 0 counted');
    expect(h.flags).toContain('qos0_care_events');
    // Heartbeats at QoS 0 are telemetry and fine.
    await publish(client, dev, { type: 'heartbeat', battery: 90, signal: -60, firmware: '1' }, 0);
    await new Promise((r) => setTimeout(r, 200));
    expect((await device(dev.id)).qos0CareEvents).toBe(1);
    await client.endAsync();
  });

  it('stores a true retry once, and a reused id with other content as a new event, counted as a conflict', async () => {
    const dev = await registerDevice(t.api, 'safety_alarm', '0301');
    const client = await connectDevice(t.mqttUrl, dev);
    const press = { id: 'e-1', ts: iso(), type: 'button_pressed' };
    await publish(client, dev, press);
    await publish(client, dev, press);
    expect((await device(dev.id)).idConflicts).toBe(0);
    // The device rebooted and its counter started again at 1.
    const fall = { id: 'e-1', ts: iso(60), type: 'fall_detected' };
    await publish(client, dev, fall);
    await publish(client, dev, fall);
    const events = (await t.api('GET', `/api/devices/${dev.id}/events`)).body.map((e: { event: { type: string } }) => e.event.type);
    expect(events.sort()).toEqual(['button_pressed', 'fall_detected']);
    const types = (await alarmsOf(dev.id)).map((a) => a.type).sort();
    expect(types).toEqual(['button_pressed', 'fall_detected']);
    const h = await device(dev.id);
    expect(h.idConflicts).toBe(1);
    expect(h.flags).toContain('id_conflicts');
    await client.endAsync();
  });

  it('stores and acknowledges an event whose rule throws, and raises a technical alarm that names the rule', async () => {
    await t.api('POST', '/api/tenants', { id: '1103', name: 'Stavanger' });
    const dev = await registerDevice(t.api, 'safety_alarm', '1103');
    // A rule stored with data the code does not expect (no event types), as a bad migration or
    // a hand edit could leave it; the municipality's rules are read at its first event.
    t.hub.ctx.db.prepare("INSERT INTO rules (id, tenant_id, body, created_at, updated_at) VALUES ('rule-broken', '1103', ?, ?, ?)")
      .run(JSON.stringify({ kind: 'instant', enabled: true, alarmType: 'broken', priority: 2, category: 'care' }), iso(), iso());
    const client = await connectDevice(t.mqttUrl, dev);
    const id = await publish(client, dev, { type: 'button_pressed' }); // resolves only on PUBACK
    const events = (await t.api('GET', `/api/devices/${dev.id}/events`)).body;
    expect(events.map((e: { event: { id: string } }) => e.event.id)).toEqual([id]);
    const all = ((await t.api('GET', '/api/alarms?tenantId=1103')).body as Alarm[]);
    // The other rules still acted on the event.
    expect(all.find((a) => a.type === 'button_pressed')).toBeDefined();
    const failed = all.find((a) => a.type === 'rule_failed');
    expect(failed).toMatchObject({ category: 'technical', tenantId: '1103', ruleId: 'rule-broken' });
    expect(failed?.detail).toContain('rule-broken');
    expect(failed?.detail).toContain(id);
    await client.endAsync();
  });

  it('stores the event when the alarm code fails in the store, and says so in a technical alarm', async () => {
    await t.api('POST', '/api/tenants', { id: '5001', name: 'Trondheim' });
    const dev = await registerDevice(t.api, 'safety_alarm', '5001');
    const db = t.hub.ctx.db;
    db.exec("CREATE TRIGGER refuse_falls BEFORE INSERT ON alarms WHEN NEW.dedupe_key LIKE '%|fall_detected' BEGIN SELECT RAISE(ABORT, 'no room for falls'); END");
    try {
      const client = await connectDevice(t.mqttUrl, dev);
      const id = await publish(client, dev, { type: 'fall_detected' });
      expect((await t.api('GET', `/api/devices/${dev.id}/events`)).body[0].event.id).toBe(id);
      const failed = ((await t.api('GET', '/api/alarms?tenantId=5001')).body as Alarm[]).find((a) => a.type === 'rule_failed');
      expect(failed?.detail).toContain('no room for falls');
      expect(client.connected).toBe(true);
      await client.endAsync();
    } finally {
      db.exec('DROP TRIGGER refuse_falls');
    }
  });
});

describe('the live channel', () => {
  it('is refused to a role that may not read alarms, exactly as GET /api/alarms is', async () => {
    const leader = await user('leder-1', 'leader', ['0301']);
    const asLeader = apiClient(t.httpUrl, () => leader.token);
    expect((await asLeader('GET', '/api/alarms')).status).toBe(403);
    expect((await asLeader('POST', '/api/live/ticket')).status).toBe(403);
    // A ticket issued while the user could read alarms is refused once the role changed.
    const op = await user('operator-turned-leader', 'operator', ['0301']);
    const ticket = await liveTicket(t.httpUrl, op.token);
    t.hub.ctx.users.setAccess(op.id, 'leader', ['0301']);
    await expect(openLive(t.httpUrl, { ticket })).rejects.toThrow(/403/);
  });

  it('takes no token in the URL, and a ticket only once and only for seconds', async () => {
    const op = await user('op-ticket', 'operator', ['0301']);
    await expect(openLive(t.httpUrl, { token: op.token })).rejects.toThrow(/401/);
    const ticket = await liveTicket(t.httpUrl, op.token);
    const live = await openLive(t.httpUrl, { ticket });
    expect(live.messages[0]?.type ?? (await live.waitFor((m) => m.type === 'snapshot', 'snapshot')).type).toBe('snapshot');
    await expect(openLive(t.httpUrl, { ticket })).rejects.toThrow(/401/);
    const late = await liveTicket(t.httpUrl, op.token);
    clock.advance(31);
    await expect(openLive(t.httpUrl, { ticket: late })).rejects.toThrow(/401/);
    live.close();
  });

  it('closes a session\'s sockets at logout, expiry, when the user is disabled, and when the role changes', async () => {
    const a = await user('op-logout', 'operator', ['0301']);
    const b = await user('op-expiry', 'operator', ['0301']);
    const c = await user('op-disabled', 'operator', ['0301']);
    const d = await user('op-moved', 'operator', ['0301']);
    const [la, lb, lc, ld] = await Promise.all([a, b, c, d].map((u) => connectLive(t.httpUrl, u.token)));
    if (!la || !lb || !lc || !ld) throw new Error('not connected');

    expect((await apiClient(t.httpUrl, () => a.token)('POST', '/api/auth/logout')).status).toBe(204);
    expect(await la.closed).toBe(CLOSE_SESSION_ENDED);

    t.hub.ctx.users.setDisabled(c.id, true, clock.now());
    expect(await lc.closed).toBe(CLOSE_SESSION_ENDED);
    expect((await t.api('POST', '/api/auth/login', { username: 'op-disabled', password: 'Nattevakt-Kaffe-7' }, null)).status).toBe(401);

    t.hub.ctx.users.setAccess(d.id, 'operator', ['4601']);
    expect(await ld.closed).toBe(CLOSE_PERMISSIONS_CHANGED);

    expect(lb.ws.readyState).toBe(lb.ws.OPEN);
    const before = clock.offsetMs;
    clock.advance(13 * 3600); // past the 12 h session
    try {
      expect(await lb.closed).toBe(CLOSE_SESSION_ENDED);
    } finally {
      clock.offsetMs = before;
    }
  });

  it('after a role change, a new connection sees only the new municipalities', async () => {
    const u = await user('op-bergen', 'operator', ['0301']);
    t.hub.ctx.users.setAccess(u.id, 'operator', ['4601']);
    const oslo = await registerDevice(t.api, 'safety_alarm', '0301');
    const bergen = await registerDevice(t.api, 'safety_alarm', '4601');
    const live = await connectLive(t.httpUrl, u.token);
    const admin = await connectLive(t.httpUrl, t.adminToken);
    for (const dev of [oslo, bergen]) {
      const c = await connectDevice(t.mqttUrl, dev);
      await publish(c, dev, { type: 'button_pressed' });
      await c.endAsync();
    }
    await admin.waitFor((m) => m.type === 'alarm' && m.alarm.deviceId === oslo.id, 'admin sees Oslo');
    await live.waitFor((m) => m.type === 'alarm' && m.alarm.deviceId === bergen.id, 'Bergen seen');
    expect(live.messages.some((m) => m.type === 'alarm' && m.alarm.tenantId === '0301')).toBe(false);
    const snap = live.messages[0];
    expect(snap?.type === 'snapshot' && snap.alarms.every((a) => a.tenantId === '4601')).toBe(true);
    live.close(); admin.close();
  });
});

describe('commands to devices', () => {
  it('are kept in the outbox until the device acknowledges them, across a restart of the hub', async () => {
    const dataDir = t.dataDir;
    const dev = await registerDevice(t.api, 'safety_alarm', '0301');
    const c = await connectDevice(t.mqttUrl, dev);
    await publish(c, dev, { type: 'button_pressed' });
    await c.endAsync(); // the device is away when the operator takes the alarm
    const alarm = (await alarmsOf(dev.id)).find((a) => a.type === 'button_pressed');
    expect((await t.api('POST', `/api/alarms/${alarm?.id}/acknowledge`)).status).toBe(200);
    const pending = t.hub.ctx.outbox.pending(dev.id, clock.now());
    expect(pending.map((p) => p.type)).toEqual(['alarm_received']);

    // The hub restarts before the device is back.
    await t.close({ keepData: true });
    t = await startTestHub({ dataDir, clock, config: { live: { pingIntervalMs: 15_000, maxBufferedBytes: 1024 * 1024, sessionCheckMs: 200 } } });
    const back = await connectDevice(t.mqttUrl, dev);
    const got: Record<string, unknown>[] = [];
    back.on('message', (_topic, payload) => got.push(JSON.parse(payload.toString())));
    await back.subscribeAsync(topics.commands(dev.id), { qos: 1 });
    await eventually(() => got.length > 0, 'alarm_received after the restart');
    expect(got[0]).toMatchObject({ type: 'alarm_received', alarmId: alarm?.id, id: pending[0]?.id });
    await eventually(() => t.hub.ctx.outbox.pending(dev.id, clock.now()).length === 0, 'acknowledged in the outbox');
    const [entry] = t.hub.ctx.outbox.listForDevice(dev.id, 10);
    expect(entry?.ackedAt).not.toBeNull();
    // Acknowledged commands are not sent again on the next connection.
    await back.endAsync();
    const again = await connectDevice(t.mqttUrl, dev);
    const more: unknown[] = [];
    again.on('message', (_t, p) => more.push(p.toString()));
    await again.subscribeAsync(topics.commands(dev.id), { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect(more).toEqual([]);
    await again.endAsync();
  });

  it('reach a device with a persistent session when it comes back without subscribing again', async () => {
    const dev = await registerDevice(t.api, 'safety_alarm', '0301');
    const first = await connectDevice(t.mqttUrl, dev, { clean: false });
    await first.subscribeAsync(topics.commands(dev.id), { qos: 1 });
    await publish(first, dev, { type: 'button_pressed' });
    await first.endAsync();
    const alarm = (await alarmsOf(dev.id)).find((a) => a.type === 'button_pressed');
    expect((await t.api('POST', `/api/alarms/${alarm?.id}/acknowledge`)).status).toBe(200);
    const got: Record<string, unknown>[] = [];
    const back = mqtt.connect(t.mqttUrl, { clientId: dev.id, username: dev.id, password: dev.password, clean: false, reconnectPeriod: 0 });
    back.on('message', (_topic, payload) => got.push(JSON.parse(payload.toString())));
    await eventually(() => got.length > 0, 'alarm_received on the resumed session');
    expect(got[0]).toMatchObject({ type: 'alarm_received', alarmId: alarm?.id });
    await back.endAsync();
  });

  it('expire when the device does not come back in time', async () => {
    const dev = await registerDevice(t.api, 'safety_alarm', '0301');
    const c = await connectDevice(t.mqttUrl, dev);
    await publish(c, dev, { type: 'button_pressed' });
    await c.endAsync();
    const alarm = (await alarmsOf(dev.id)).find((a) => a.type === 'button_pressed');
    await t.api('POST', `/api/alarms/${alarm?.id}/acknowledge`);
    const before = clock.offsetMs;
    clock.advance(3601);
    try {
      const back = await connectDevice(t.mqttUrl, dev);
      const got: unknown[] = [];
      back.on('message', (_t, p) => got.push(p.toString()));
      await back.subscribeAsync(topics.commands(dev.id), { qos: 1 });
      await new Promise((r) => setTimeout(r, 300));
      expect(got).toEqual([]);
      expect(t.hub.ctx.outbox.listForDevice(dev.id, 10)[0]?.ackedAt).toBeNull();
      await back.endAsync();
    } finally {
      clock.offsetMs = before;
    }
  });
});
