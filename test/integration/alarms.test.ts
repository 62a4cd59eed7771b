/**
 * Alarms end to end: real broker, hub, MQTT devices and `ws` clients. Time-driven behaviour
 * (silence, dwell, dose windows, escalation) runs on a clock the test moves forward.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../hub/core/alarms.ts';
import { topics } from '../../hub/core/topics.ts';
import { DEFAULT_SILENCE_POLICY } from '../../hub/core/silence.ts';
import type { LiveMessage } from '../../hub/live/live.ts';
import { apiClient, connectDevice, eventually, nextEventId, type Registered, registerDevice, startTestHub, TestClock, type TestHub } from '../helpers/hub.ts';
import { connectLive } from '../helpers/live.ts';

const clock = new TestClock();
let t: TestHub;
let operatorA: string;
let operatorB: string;

beforeAll(async () => {
  t = await startTestHub({
    clock,
    config: {
      scheduler: { tickMs: 50, silenceEveryMs: 100 },
      silence: { ...DEFAULT_SILENCE_POLICY, holdSeconds: 30 },
      // Pings far enough apart that the slow-reader test ends before a ping could drop its client.
      live: { pingIntervalMs: 3000, maxBufferedBytes: 64 * 1024, sessionCheckMs: 200 },
    },
  });
  await t.api('POST', '/api/tenants', { id: '0301', name: 'Oslo' });
  await t.api('POST', '/api/tenants', { id: '4601', name: 'Bergen' });
  for (const u of ['ola', 'kari']) {
    await t.api('POST', '/api/users', { username: u, password: 'Nattevakt-Kaffe-7', role: 'operator', tenantIds: ['0301'] });
  }
  operatorA = (await t.api('POST', '/api/auth/login', { username: 'ola', password: 'Nattevakt-Kaffe-7' }, null)).body.token;
  operatorB = (await t.api('POST', '/api/auth/login', { username: 'kari', password: 'Nattevakt-Kaffe-7' }, null)).body.token;
});
afterAll(async () => { await t.close(); });

const isAlarm = (type: string, change?: string) => (m: LiveMessage): m is Extract<LiveMessage, { type: 'alarm' }> =>
  m.type === 'alarm' && m.alarm.type === type && (!change || m.change === change);

async function send(client: MqttClient, dev: Registered, event: Record<string, unknown>): Promise<string> {
  const id = nextEventId();
  await client.publishAsync(topics.events(dev.id), JSON.stringify({ id, ts: clock.now().toISOString(), ...event }), { qos: 1 });
  return id;
}

const activeOf = async (deviceId: string, type: string): Promise<Alarm | undefined> =>
  ((await t.api('GET', '/api/alarms?limit=500')).body as Alarm[]).find((a) => a.deviceId === deviceId && a.type === type && a.state !== 'resolved');

describe('a button press', () => {
  it('reaches two operators live; one claims it, both see it, the other gets 409; the device hears help is coming; resolve', async () => {
    const dev = await registerDevice(t.api, 'safety_alarm');
    const a = await connectLive(t.httpUrl, operatorA);
    const b = await connectLive(t.httpUrl, operatorB);
    expect(a.messages[0]?.type).toBe('snapshot');
    const device = await connectDevice(t.mqttUrl, dev);
    await device.subscribeAsync(topics.commands(dev.id), { qos: 1 });
    const commands: Record<string, unknown>[] = [];
    device.on('message', (_topic, payload) => commands.push(JSON.parse(payload.toString())));

    const eventId = await send(device, dev, { type: 'button_pressed' });
    const [seenA, seenB] = await Promise.all([
      a.waitFor(isAlarm('button_pressed', 'raised'), 'raised at A'),
      b.waitFor(isAlarm('button_pressed', 'raised'), 'raised at B'),
    ]);
    expect(seenA.alarm).toMatchObject({ deviceId: dev.id, residentId: dev.residentId, tenantId: '0301', state: 'open', priority: 1, category: 'care', count: 1 });
    expect(seenB.alarm.id).toBe(seenA.alarm.id);
    const id = seenA.alarm.id;

    const asA = apiClient(t.httpUrl, () => operatorA);
    const asB = apiClient(t.httpUrl, () => operatorB);
    const ack = await asA('POST', `/api/alarms/${id}/acknowledge`);
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ state: 'acknowledged', acknowledgedBy: { name: 'ola' } });
    await Promise.all([a, b].map((c) => c.waitFor((m) => m.type === 'alarm' && m.alarm.id === id && m.change === 'acknowledged', 'ack seen')));
    const second = await asB('POST', `/api/alarms/${id}/acknowledge`);
    expect(second.status).toBe(409);
    expect(second.body.message).toContain('ola');
    expect(second.body.alarm.acknowledgedBy.name).toBe('ola');
    await eventually(() => commands.length > 0, 'alarm_received at the device');
    expect(commands[0]).toMatchObject({ type: 'alarm_received', alarmId: id });

    expect((await asB('POST', `/api/alarms/${id}/resolve`, { reason: 'staff_sent', note: 'x' })).status).toBe(409);
    expect((await asA('POST', `/api/alarms/${id}/resolve`, { reason: 'maybe', note: 'x' })).status).toBe(400);
    expect((await asA('POST', `/api/alarms/${id}/resolve`, { reason: 'staff_sent' })).status).toBe(400);
    const done = await asA('POST', `/api/alarms/${id}/resolve`, { reason: 'staff_sent', note: 'Hjemmetjenesten var der 02:14' });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ state: 'resolved', resolution: { reason: 'staff_sent', note: 'Hjemmetjenesten var der 02:14' } });
    await b.waitFor((m) => m.type === 'alarm' && m.alarm.id === id && m.change === 'resolved', 'resolve seen');

    const detail = (await asA('GET', `/api/alarms/${id}`)).body;
    expect(detail.events.map((e: { event: { id: string } }) => e.event.id)).toEqual([eventId]);
    expect(detail.transitions.map((x: { action: string; actor: { name: string } }) => `${x.action}:${x.actor.name}`)).toEqual(['raised:system', 'acknowledged:ola', 'resolved:ola']);
    expect((await asA('GET', '/api/alarms?state=resolved')).body.map((x: Alarm) => x.id)).toContain(id);
    a.close(); b.close();
    await device.endAsync();
  });

  it('repeats count on one alarm; a cancel within the grace period closes it as cancelled by the resident', async () => {
    const dev = await registerDevice(t.api, 'safety_alarm');
    const device = await connectDevice(t.mqttUrl, dev);
    await send(device, dev, { type: 'fall_detected' });
    await send(device, dev, { type: 'fall_detected' });
    await send(device, dev, { type: 'fall_detected' });
    const alarm = await activeOf(dev.id, 'fall_detected');
    expect(alarm).toMatchObject({ count: 3, state: 'open' });
    const all = (await t.api('GET', '/api/alarms?limit=500')).body.filter((a: Alarm) => a.deviceId === dev.id);
    expect(all).toHaveLength(1);
    await send(device, dev, { type: 'alarm_cancelled' });
    const after = (await t.api('GET', `/api/alarms/${alarm!.id}`)).body;
    expect(after).toMatchObject({ state: 'resolved', resolution: { reason: 'cancelled_by_resident' } });
    expect(after.events).toHaveLength(4);

    // A cancel after the grace period is recorded, and the alarm stays.
    await send(device, dev, { type: 'button_pressed' });
    clock.advance(90);
    await send(device, dev, { type: 'alarm_cancelled' });
    const late = (await activeOf(dev.id, 'button_pressed'))!;
    expect(late.state).toBe('open');
    const trail = (await t.api('GET', `/api/alarms/${late.id}`)).body.transitions.map((x: { action: string }) => x.action);
    expect(trail).toContain('resident_cancelled_late');
    await device.endAsync();
  });
});

describe('the live channel', () => {
  it('refuses a connection without a valid token', async () => {
    await expect(connectLive(t.httpUrl, 'forged')).rejects.toThrow(/401/);
  });

  it('lets a client that reconnects catch up with what it missed, and gives a snapshot when it cannot', async () => {
    const dev = await registerDevice(t.api, 'door_lock');
    const device = await connectDevice(t.mqttUrl, dev);
    const first = await connectLive(t.httpUrl, operatorA);
    const snap = first.messages[0] as Extract<LiveMessage, { type: 'snapshot' }>;
    await send(device, dev, { type: 'forced' });
    await first.waitFor(isAlarm('door_forced', 'raised'), 'forced');
    const seq = first.lastSeq();
    first.close();
    await first.closed;

    // Missed while away: a repeat and an open-too-long.
    await send(device, dev, { type: 'forced' });
    await send(device, dev, { type: 'open_too_long', openSeconds: 900 });
    const back = await connectLive(t.httpUrl, operatorA, { since: String(seq), epoch: snap.epoch });
    expect(back.messages[0]).toMatchObject({ type: 'resume', epoch: snap.epoch, seq });
    await back.waitFor(isAlarm('door_forced', 'repeated'), 'missed repeat');
    await back.waitFor(isAlarm('door_open_too_long', 'raised'), 'missed raise');
    const seqs = back.messages.filter((m) => m.type === 'alarm').map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(seqs.every((s) => s > seq)).toBe(true);
    back.close();

    const stale = await connectLive(t.httpUrl, operatorA, { since: String(seq), epoch: 'an-earlier-run' });
    const fresh = stale.messages[0] as Extract<LiveMessage, { type: 'snapshot' }>;
    expect(fresh.type).toBe('snapshot');
    expect(fresh.alarms.map((a) => a.type)).toEqual(expect.arrayContaining(['door_forced', 'door_open_too_long']));
    const prios = fresh.alarms.map((a) => a.priority);
    expect(prios).toEqual([...prios].sort((x, y) => x - y));
    stale.close();
    await device.endAsync();
  });

  it('shows a municipality\'s alarms only to those who serve it', async () => {
    const bergen = await registerDevice(t.api, 'safety_alarm', '4601');
    const oslo = await connectLive(t.httpUrl, operatorA);
    const admin = await connectLive(t.httpUrl, t.adminToken);
    const device = await connectDevice(t.mqttUrl, bergen);
    await send(device, bergen, { type: 'button_pressed' });
    const seen = await admin.waitFor((m) => m.type === 'alarm' && m.alarm.deviceId === bergen.id, 'admin sees Bergen');
    await new Promise((r) => setTimeout(r, 200));
    expect(oslo.messages.some((m) => m.type === 'alarm' && m.alarm.tenantId === '4601')).toBe(false);
    const asA = apiClient(t.httpUrl, () => operatorA);
    if (seen.type !== 'alarm') throw new Error('unexpected');
    expect((await asA('GET', `/api/alarms/${seen.alarm.id}`)).status).toBe(404);
    expect((await asA('POST', `/api/alarms/${seen.alarm.id}/acknowledge`)).status).toBe(404);
    expect((await asA('GET', '/api/alarms?tenantId=4601')).status).toBe(403);
    oslo.close(); admin.close();
    await device.endAsync();
  });

  it('drops a client that stops answering pings', async () => {
    const mute = await connectLive(t.httpUrl, operatorA, {}, { autoPong: false });
    const code = await Promise.race([mute.closed, new Promise<number>((r) => setTimeout(() => r(-1), 8000))]);
    expect(code).not.toBe(-1);
    expect(t.hub.live.stats.dropped).toBeGreaterThan(0);
  });

  it('drops a client too slow to read, and goes on serving the others', async () => {
    const slow = await connectLive(t.httpUrl, t.adminToken);
    const fast = await connectLive(t.httpUrl, t.adminToken);
    // The slow client stops reading its socket; the hub's sends pile up behind it.
    slow.ws.pause();
    const dev = await registerDevice(t.api, 'safety_alarm');
    const device = await connectDevice(t.mqttUrl, dev);
    const n = 8000;
    for (let i = 0; i < n; i += 200) {
      await Promise.all(Array.from({ length: 200 }, (_, k) =>
        device.publishAsync(topics.events(dev.id), JSON.stringify({ id: `flood-${i + k}`, ts: clock.now().toISOString(), type: 'button_pressed' }), { qos: 1 })));
    }
    await fast.waitFor((m) => m.type === 'alarm' && m.alarm.deviceId === dev.id && m.alarm.count === n, 'the last repeat at the fast client');
    expect(t.hub.live.stats.slow).toBeGreaterThan(0);
    expect(fast.messages.filter((m) => m.type === 'alarm' && m.alarm.deviceId === dev.id)).toHaveLength(n);
    fast.close();
    await device.endAsync();
  });
});
