/**
 * An acknowledged event is never lost: the hub is killed with SIGKILL right after PUBACKs and
 * every acknowledged event is there when it comes back.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import type { MqttClient } from 'mqtt';
import { topics } from '../../hub/core/topics.ts';
import { STATE_SLICE } from '../../hub/ingest/ingest.ts';
import { HubApi } from '../../simulators/hub-api.ts';
import { startChildHub, type ChildHub } from '../helpers/child-hub.ts';
import { ADMIN_PASSWORD, apiClient, connectDevice, eventually, registerDevice, tempDir } from '../helpers/hub.ts';

const dataDir = tempDir('hub-durability-');
let child: ChildHub | null = null;
afterAll(async () => {
  await child?.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

async function signIn(httpPort: number) {
  let token = '';
  const api = apiClient(`http://127.0.0.1:${httpPort}`, () => token);
  token = (await api('POST', '/api/auth/login', { username: 'admin', password: ADMIN_PASSWORD }, null)).body.token;
  return api;
}

describe('SIGKILL after PUBACK', () => {
  it('loses no acknowledged care event', async () => {
    // Commits are held back 250 ms, so an acknowledgement sent before its commit would be lost.
    child = await startChildHub(dataDir, { COMMIT_WINDOW_MS: '250' });
    const api = await signIn(child.httpPort);
    const dev = await registerDevice(api, 'safety_alarm');
    const client = await connectDevice(`mqtt://127.0.0.1:${child.mqttPort}`, dev);
    client.on('error', () => { /* the broker vanishes mid-test, on purpose */ });

    const acked: string[] = [];
    const killAt = 150;
    let killed!: () => void;
    const killing = new Promise<void>((r) => { killed = r; });
    const publishes = Array.from({ length: 400 }, (_, i) => {
      const id = `fall-${i}`;
      return client.publishAsync(topics.events(dev.id), JSON.stringify({ id, ts: new Date().toISOString(), type: 'fall_detected' }), { qos: 1 })
        .then(() => {
          acked.push(id);
          // Kill the moment the PUBACK arrives, while later events are still in flight.
          if (acked.length === killAt) void child!.kill('SIGKILL').then(killed);
        }, () => { /* not acknowledged: the device would resend it */ });
    });
    await Promise.race([Promise.all(publishes), killing]);
    await killing;
    client.end(true);
    expect(acked.length).toBeGreaterThanOrEqual(killAt);
    const ackedAtKill = [...acked];

    child = await startChildHub(dataDir);
    const after = await signIn(child.httpPort);
    const stored = (await after('GET', `/api/devices/${dev.id}/events?limit=1000`)).body.map((r: { event: { id: string } }) => r.event.id);
    const missing = ackedAtKill.filter((id) => !stored.includes(id));
    expect(missing).toEqual([]);
    // And the restarted hub takes the device again.
    const again = await connectDevice(`mqtt://127.0.0.1:${child.mqttPort}`, dev);
    await again.publishAsync(topics.events(dev.id), JSON.stringify({ id: 'after-restart', ts: new Date().toISOString(), type: 'button_pressed' }), { qos: 1 });
    await again.endAsync();
    const later = (await after('GET', `/api/devices/${dev.id}/events?limit=1000`)).body.map((r: { event: { id: string } }) => r.event.id);
    expect(later).toContain('after-restart');
  });
});

describe('SIGKILL a second after heartbeats', () => {
  it('has their device state: held in memory for at most half a second, written without anyone reading it', async () => {
    const dir = tempDir('hub-heartbeat-state-');
    let hub: ChildHub | null = await startChildHub(dir);
    try {
      const api = await signIn(hub.httpPort);
      const dev = await registerDevice(api, 'safety_alarm');
      const client = await connectDevice(`mqtt://127.0.0.1:${hub.mqttPort}`, dev);
      client.on('error', () => { /* the hub is killed, on purpose */ });
      const sentAt = Date.now();
      for (const battery of [44, 43, 41]) {
        await client.publishAsync(topics.events(dev.id), JSON.stringify({ id: `hb-${battery}`, ts: new Date().toISOString(), type: 'heartbeat', battery, signal: -71, firmware: '3.1.0' }), { qos: 1 });
      }
      await new Promise((r) => setTimeout(r, 1200));
      await hub.kill('SIGKILL');
      client.end(true);

      hub = await startChildHub(dir);
      const device = (await (await signIn(hub.httpPort))('GET', `/api/devices/${dev.id}`)).body;
      expect(device).toMatchObject({ battery: 41, signal: -71, firmware: '3.1.0', acceptedCount: 3 });
      expect(Date.parse(device.lastSeenAt)).toBeGreaterThanOrEqual(sentAt - 1000);
    } finally {
      await hub?.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SIGKILL a second after heartbeats of more devices than one write takes', () => {
  it(`has the state of every one of them: written ${STATE_SLICE} devices at a time, all of them`, async () => {
    const dir = tempDir('hub-fleet-state-');
    let hub: ChildHub | null = await startChildHub(dir);
    const clients: MqttClient[] = [];
    try {
      const api = new HubApi(`http://127.0.0.1:${hub.httpPort}`);
      await api.login('admin', ADMIN_PASSWORD);
      await api.ensureTenant('4601', 'Bergen');
      const count = 2 * STATE_SLICE + 100;
      const creds = await api.importDevices('4601', 'safety_alarm', count, 'FLEET');
      for (const c of creds) {
        const client = await connectDevice(`mqtt://127.0.0.1:${hub.mqttPort}`, c);
        client.on('error', () => { /* the hub is killed, on purpose */ });
        clients.push(client);
      }
      await Promise.all(clients.map((client, i) => client.publishAsync(topics.events((creds[i] as { id: string }).id),
        JSON.stringify({ id: `hb-${i}`, ts: new Date().toISOString(), type: 'heartbeat', battery: 30 + (i % 60), signal: -70, firmware: '2.0.1' }), { qos: 1 })));
      await new Promise((r) => setTimeout(r, 1500));
      await hub.kill('SIGKILL');
      for (const client of clients) client.end(true);

      hub = await startChildHub(dir);
      const after = await signIn(hub.httpPort);
      const devices = (await after('GET', '/api/devices?tenantId=4601')).body as { id: string; acceptedCount: number; battery: number | null }[];
      expect(devices).toHaveLength(count);
      const unwritten = devices.filter((d) => d.acceptedCount !== 1 || d.battery === null).map((d) => d.id);
      expect(unwritten).toEqual([]);
    } finally {
      for (const client of clients) client.end(true);
      await hub?.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SIGKILL while an alarm waits for its escalation deadline', () => {
  it('escalates it on time after the restart', async () => {
    const dir = tempDir('hub-escalation-');
    // Priority 1 (a button press) must be acknowledged within 6 s here.
    const env = { ESCALATION_SECONDS: '6,10,20,30,40', ESCALATION_REPEAT_SECONDS: '30' };
    try {
      let hub = await startChildHub(dir, env);
      let api = await signIn(hub.httpPort);
      const dev = await registerDevice(api, 'safety_alarm');
      const client = await connectDevice(`mqtt://127.0.0.1:${hub.mqttPort}`, dev);
      await client.publishAsync(topics.events(dev.id), JSON.stringify({ id: 'press-1', ts: new Date().toISOString(), type: 'button_pressed' }), { qos: 1 });
      client.end(true);
      const [alarm] = (await api('GET', '/api/alarms?state=open')).body;
      expect(alarm).toMatchObject({ type: 'button_pressed', priority: 1, escalationLevel: 0 });
      const deadline = Date.parse(alarm.nextEscalationAt);
      expect(deadline - Date.parse(alarm.createdAt)).toBe(6000);
      await hub.kill('SIGKILL');

      hub = await startChildHub(dir, env);
      api = await signIn(hub.httpPort);
      expect(Date.now()).toBeLessThan(deadline); // back up before the deadline, so on time is testable
      const escalated = await eventually(async () => {
        const d = (await api('GET', `/api/alarms/${alarm.id}`)).body;
        return d.transitions.find((x: { action: string }) => x.action === 'escalated') ? d : null;
      }, 'escalation after restart', 15_000);
      const at = Date.parse(escalated.transitions.find((x: { action: string }) => x.action === 'escalated').at);
      expect(at).toBeGreaterThanOrEqual(deadline);
      expect(at - deadline).toBeLessThan(1000);
      expect(escalated.escalationLevel).toBe(1);
      await hub.kill('SIGKILL');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SIGTERM during a burst', () => {
  it('stops taking connections, acknowledges what it stored, exits 0, and loses no acknowledged care event', async () => {
    const dir = tempDir('hub-sigterm-');
    let hub: ChildHub | null = await startChildHub(dir, { COMMIT_WINDOW_MS: '50' });
    try {
      const api = await signIn(hub.httpPort);
      const devs = await Promise.all(Array.from({ length: 20 }, () => registerDevice(api, 'safety_alarm')));
      const clients = await Promise.all(devs.map((d) => connectDevice(`mqtt://127.0.0.1:${hub!.mqttPort}`, d)));
      for (const c of clients) c.on('error', () => { /* the hub goes away, on purpose */ });
      // A heartbeat of a device outside the burst, just before: its device state is still in
      // memory when the signal comes.
      const quiet = await registerDevice(api, 'safety_alarm');
      const quietClient = await connectDevice(`mqtt://127.0.0.1:${hub.mqttPort}`, quiet);
      quietClient.on('error', () => { /* as above */ });
      await quietClient.publishAsync(topics.events(quiet.id), JSON.stringify({ id: 'hb-before', ts: new Date().toISOString(), type: 'heartbeat', battery: 37, signal: -88, firmware: '2.0.9' }), { qos: 1 });
      const acked: string[] = [];
      let stopping: Promise<void> | null = null;
      const proc = hub.proc;
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
      const burst = clients.flatMap((c, i) => Array.from({ length: 30 }, (_, k) => {
        const id = `mains-${i}-${k}`;
        return c.publishAsync(topics.events(devs[i]!.id), JSON.stringify({ id, ts: new Date().toISOString(), type: 'mains_lost' }), { qos: 1 })
          .then(() => {
            acked.push(`${devs[i]!.id}/${id}`);
            if (acked.length === 100) stopping = hub!.kill('SIGTERM');
          }, () => { /* not acknowledged: the device would resend it */ });
      }));
      await Promise.race([Promise.all(burst), new Promise((r) => setTimeout(r, 15_000))]);
      await stopping;
      expect(await exited).toBe(0);
      expect(hub.output()).toContain('shut down');
      for (const c of [...clients, quietClient]) c.end(true);
      const ackedAtStop = [...acked];
      expect(ackedAtStop.length).toBeGreaterThanOrEqual(100);

      hub = await startChildHub(dir);
      const after = await signIn(hub.httpPort);
      const stored = new Set<string>();
      for (const d of devs) {
        for (const r of (await after('GET', `/api/devices/${d.id}/events?limit=1000`)).body as { event: { id: string } }[]) stored.add(`${d.id}/${r.event.id}`);
      }
      expect(ackedAtStop.filter((k) => !stored.has(k))).toEqual([]);
      expect((await after('GET', `/api/devices/${quiet.id}`)).body).toMatchObject({ battery: 37, signal: -88, firmware: '2.0.9' });
    } finally {
      await hub?.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
