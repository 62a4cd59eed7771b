/**
 * The path of an event from a real MQTT device through the real broker and hub into storage,
 * and everything the broker refuses on the way.
 */
import mqtt from 'mqtt';
import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_BYTES } from '../../hub/core/decode.ts';
import { DEVICE_KINDS, eventTypesOf } from '../../hub/core/events.ts';
import { topics } from '../../hub/core/topics.ts';
import { sampleEvent } from '../../simulators/payloads.ts';
import { connectDevice, eventually, nextEventId, registerDevice, startTestHub, type TestHub } from '../helpers/hub.ts';

let t: TestHub;
beforeAll(async () => { t = await startTestHub(); });
afterAll(async () => { await t.close(); });

const now = () => new Date().toISOString();

function closed(client: mqtt.MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected) resolve();
    client.once('close', () => resolve());
  });
}

describe('a registered device', () => {
  for (const kind of DEVICE_KINDS) {
    it(`has every ${kind} event type accepted and stored`, async () => {
      const dev = await registerDevice(t.api, kind);
      const client = await connectDevice(t.mqttUrl, dev);
      const sent = [];
      for (const [i, type] of eventTypesOf(kind).entries()) {
        const e = sampleEvent(kind, type, { id: `${type}-${i}`, ts: new Date(Date.now() - 60_000 + i * 1000).toISOString() });
        await client.publishAsync(topics.events(dev.id), JSON.stringify(e), { qos: 1 });
        sent.push(e);
      }
      await client.endAsync();
      await t.hub.ctx.series.flush();
      const res = await t.api('GET', `/api/devices/${dev.id}/events`);
      expect(res.status).toBe(200);
      const got = res.body.map((r: { event: { id: string } }) => r.event);
      expect(got).toHaveLength(sent.length);
      for (const e of sent) {
        const stored = got.find((g: { id: string }) => g.id === e.id);
        expect(stored, `${e.type} stored`).toBeDefined();
        expect({ ...stored, ts: Date.parse(stored.ts) }).toEqual({ ...e, ts: Date.parse(e.ts) });
      }
      // Newest first.
      const times = got.map((g: { ts: string }) => Date.parse(g.ts));
      expect(times).toEqual([...times].sort((a, b) => b - a));
      const health = (await t.api('GET', `/api/devices/${dev.id}`)).body;
      expect(health.acceptedCount).toBe(sent.length);
      expect(health.rejectedCount).toBe(0);
      expect(health.lastSeenAt).not.toBeNull();
    });
  }

  it('shows battery, signal, firmware and position from telemetry in its health', async () => {
    const dev = await registerDevice(t.api, 'gps_tracker');
    const client = await connectDevice(t.mqttUrl, dev);
    await client.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: now(), type: 'heartbeat', battery: 55, signal: -88, firmware: '3.1.0' }), { qos: 1 });
    await client.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: now(), type: 'position', lat: 63.4305, lon: 10.3951, accuracy: 12 }), { qos: 1 });
    const h = (await t.api('GET', `/api/devices/${dev.id}`)).body;
    expect(h).toMatchObject({ online: true, battery: 55, signal: -88, firmware: '3.1.0', position: { lat: 63.4305, lon: 10.3951, accuracy: 12 } });
    await client.endAsync();
    await eventually(async () => (await t.api('GET', `/api/devices/${dev.id}`)).body.online === false, 'device offline after disconnect');
  });

  it('stores the same event delivered twice only once', async () => {
    const dev = await registerDevice(t.api, 'safety_alarm');
    const client = await connectDevice(t.mqttUrl, dev);
    const e = { id: nextEventId(), ts: now(), type: 'button_pressed' };
    await client.publishAsync(topics.events(dev.id), JSON.stringify(e), { qos: 1 });
    await client.publishAsync(topics.events(dev.id), JSON.stringify(e), { qos: 1 });
    // A reconnecting device resends with another client id; still the same event.
    const again = await connectDevice(t.mqttUrl, dev, { clientId: `${dev.id}-second-connection` });
    await again.publishAsync(topics.events(dev.id), JSON.stringify(e), { qos: 1 });
    await Promise.all([client.endAsync(), again.endAsync()]);
    const events = (await t.api('GET', `/api/devices/${dev.id}/events`)).body;
    expect(events.filter((r: { event: { id: string } }) => r.event.id === e.id)).toHaveLength(1);
    expect((await t.api('GET', `/api/devices/${dev.id}`)).body.acceptedCount).toBe(1);
  });
});

describe('the broker refuses', () => {
  it('a wrong password and an unknown device', async () => {
    const dev = await registerDevice(t.api, 'safety_alarm');
    await expect(connectDevice(t.mqttUrl, { id: dev.id, password: 'not-the-password' })).rejects.toThrow(/Bad username or password/i);
    await expect(connectDevice(t.mqttUrl, { id: 'sa-doesnotexist', password: dev.password })).rejects.toThrow(/Bad username or password/i);
  });

  it('a client without credentials', async () => {
    await expect(mqtt.connectAsync(t.mqttUrl, { reconnectPeriod: 0, connectTimeout: 5000 })).rejects.toThrow(/Bad username or password/i);
  });

  it('publishing to another device\'s topic, and nothing is stored for the other device', async () => {
    const a = await registerDevice(t.api, 'safety_alarm');
    const b = await registerDevice(t.api, 'safety_alarm');
    const client = await connectDevice(t.mqttUrl, a);
    const gone = closed(client);
    client.publish(topics.events(b.id), JSON.stringify({ id: nextEventId(), ts: now(), type: 'button_pressed' }), { qos: 1 });
    await gone;
    expect((await t.api('GET', `/api/devices/${b.id}/events`)).body).toEqual([]);
    client.end(true);
  });

  it('publishing to its own command topic or outside the device tree', async () => {
    const a = await registerDevice(t.api, 'door_lock');
    for (const topic of [topics.commands(a.id), 'alarms/all', `devices/${a.id}/events/extra`]) {
      const client = await connectDevice(t.mqttUrl, a);
      const gone = closed(client);
      client.publish(topic, '{}', { qos: 1 });
      await gone;
      client.end(true);
    }
    expect((await t.api('GET', `/api/devices/${a.id}`)).body.acceptedCount).toBe(0);
  });

  it('subscribing to anything but its own commands, and delivers its own commands', async () => {
    const a = await registerDevice(t.api, 'door_lock');
    const b = await registerDevice(t.api, 'door_lock');
    const client = await connectDevice(t.mqttUrl, a);
    for (const topic of [topics.commands(b.id), 'devices/#', topics.events(a.id), '#']) {
      await expect(client.subscribeAsync(topic, { qos: 1 }), topic).rejects.toThrow(/Subscribe error/);
    }
    expect(client.connected).toBe(true);
    const granted = await client.subscribeAsync(topics.commands(a.id), { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1]);
    const received: string[] = [];
    client.on('message', (topic, payload) => received.push(`${topic} ${payload.toString()}`));
    await t.hub.broker.publishCommand(b.id, Buffer.from('{"type":"unlock"}'), 'c1');
    await t.hub.broker.publishCommand(a.id, Buffer.from('{"type":"alarm_received"}'), 'c2');
    await eventually(() => received.length > 0, 'command delivered');
    await new Promise((r) => setTimeout(r, 200));
    expect(received).toEqual([`${topics.commands(a.id)} {"type":"alarm_received"}`]);
    await client.endAsync();
  });
});

describe('bad payloads', () => {
  it('are rejected and counted against their device while another device goes on being served', async () => {
    const bad = await registerDevice(t.api, 'safety_alarm');
    const good = await registerDevice(t.api, 'medicine_dispenser');
    const badClient = await connectDevice(t.mqttUrl, bad);
    const goodClient = await connectDevice(t.mqttUrl, good);
    const garbage = [
      Buffer.alloc(MAX_PAYLOAD_BYTES + 100, 0x7b), // oversized
      Buffer.from('{"id": "1", "ts":'), // malformed JSON
      JSON.stringify({ id: nextEventId(), ts: now(), type: 'heartbeat', battery: 250, signal: -60, firmware: '1' }), // out of range
      JSON.stringify({ id: nextEventId(), ts: now(), type: 'dose_due', doseId: 'x', scheduledAt: now() }), // wrong kind
      JSON.stringify({ id: nextEventId(), ts: now(), type: 'selfdestruct' }), // unknown type
    ];
    const goodIds: string[] = [];
    for (const g of garbage) {
      await badClient.publishAsync(topics.events(bad.id), g, { qos: 1 });
      const id = nextEventId();
      goodIds.push(id);
      await goodClient.publishAsync(topics.events(good.id), JSON.stringify({ id, ts: now(), type: 'dose_taken', doseId: 'kveld', scheduledAt: now() }), { qos: 1 });
    }
    // The offending device is still connected and still served.
    expect(badClient.connected).toBe(true);
    const fine = { id: nextEventId(), ts: now(), type: 'button_pressed' };
    await badClient.publishAsync(topics.events(bad.id), JSON.stringify(fine), { qos: 1 });

    const badHealth = (await t.api('GET', `/api/devices/${bad.id}`)).body;
    expect(badHealth.rejectedCount).toBe(garbage.length);
    expect(badHealth.acceptedCount).toBe(1);
    expect(badHealth.lastRejection.reason).toContain('selfdestruct');
    const goodHealth = (await t.api('GET', `/api/devices/${good.id}`)).body;
    expect(goodHealth.rejectedCount).toBe(0);
    const goodEvents = (await t.api('GET', `/api/devices/${good.id}/events`)).body.map((r: { event: { id: string } }) => r.event.id);
    expect(goodEvents.sort()).toEqual([...goodIds].sort());
    const badEvents = (await t.api('GET', `/api/devices/${bad.id}/events`)).body.map((r: { event: { id: string } }) => r.event.id);
    expect(badEvents).toEqual([fine.id]);
    expect((await t.api('GET', '/api/health')).body.ingest.rejected).toBeGreaterThanOrEqual(garbage.length);
    await Promise.all([badClient.endAsync(), goodClient.endAsync()]);
  });

  it('on the status topic are rejected too; online/offline are taken', async () => {
    const dev = await registerDevice(t.api, 'door_lock');
    const client = await connectDevice(t.mqttUrl, dev, { will: { topic: topics.status(dev.id), payload: Buffer.from('offline'), qos: 1, retain: true } });
    await client.publishAsync(topics.status(dev.id), 'online', { qos: 1, retain: true });
    await client.publishAsync(topics.status(dev.id), 'dancing', { qos: 1 });
    const h = (await t.api('GET', `/api/devices/${dev.id}`)).body;
    expect(h.online).toBe(true);
    expect(h.rejectedCount).toBe(1);
    // Dropping the connection without DISCONNECT publishes the will.
    client.stream.destroy();
    await eventually(async () => (await t.api('GET', `/api/devices/${dev.id}`)).body.online === false, 'offline after the will');
    client.end(true);
  });
});

describe('oversized packets', () => {
  it('close the connection at the socket, even before authentication, and everyone else is served', async () => {
    const other = await registerDevice(t.api, 'safety_alarm');
    const otherClient = await connectDevice(t.mqttUrl, other);
    // A client that declares a 10 MB CONNECT and sends its bytes slowly: closed at the header.
    const raw = createConnection({ host: '127.0.0.1', port: t.hub.mqttPort });
    await new Promise<void>((r) => raw.once('connect', () => r()));
    const closedAt = new Promise<number>((r) => raw.once('close', () => r(Date.now())));
    const sentAt = Date.now();
    raw.write(Buffer.from([0x10, 0x80, 0x80, 0x80, 0x05]));
    expect((await closedAt) - sentAt).toBeLessThan(2000);

    // A device's own 100 KiB publish closes its connection; nothing of it is stored.
    const dev = await registerDevice(t.api, 'safety_alarm');
    const client = await connectDevice(t.mqttUrl, dev);
    const gone = closed(client);
    client.publish(topics.events(dev.id), Buffer.alloc(100 * 1024, 0x7b), { qos: 1 });
    await gone;
    client.end(true);
    expect((await t.api('GET', `/api/devices/${dev.id}/events`)).body).toEqual([]);

    await otherClient.publishAsync(topics.events(other.id), JSON.stringify({ id: nextEventId(), ts: now(), type: 'button_pressed' }), { qos: 1 });
    expect((await t.api('GET', `/api/devices/${other.id}`)).body.acceptedCount).toBe(1);
    await otherClient.endAsync();
  });
});

describe('decommissioning', () => {
  it('disconnects the device at once and refuses its credentials afterwards', async () => {
    const dev = await registerDevice(t.api, 'gps_tracker');
    const client = await connectDevice(t.mqttUrl, dev);
    const gone = closed(client);
    const res = await t.api('DELETE', `/api/devices/${dev.id}`);
    expect(res.status).toBe(200);
    expect(res.body.decommissionedAt).not.toBeNull();
    await gone;
    client.end(true);
    await expect(connectDevice(t.mqttUrl, dev)).rejects.toThrow(/Bad username or password/i);
    expect((await t.api('DELETE', `/api/devices/${dev.id}`)).status).toBe(409);
    const listed = (await t.api('GET', '/api/devices')).body.map((d: { id: string }) => d.id);
    expect(listed).not.toContain(dev.id);
    const all = (await t.api('GET', '/api/devices?includeDecommissioned=true')).body.map((d: { id: string }) => d.id);
    expect(all).toContain(dev.id);
  });
});
