/**
 * Alarm latency: from a device's publish to the operator's screen, while other devices send
 * background heartbeats. Through the hub (its own process, as `npm start`): publish → alarm on the
 * operator's WebSocket (/api/live). The reference, on the same generator in the same run:
 * Debian's Mosquitto with one subscriber on every device's events (publish → that subscriber).
 *
 *   npm run bench:live -- --background 5000 --rate 2000 --presses 500
 */
import mqtt, { type MqttClient } from 'mqtt';
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { topics } from '../hub/core/topics.ts';
import { HubApi } from '../simulators/hub-api.ts';
import { percentile } from '../simulators/stats.ts';
import { spawnHub } from '../simulators/spawn-hub.ts';
import { ADMIN_PASSWORD, tempDir } from '../test/helpers/hub.ts';
import { connectLive } from '../test/helpers/live.ts';
import { MOSQUITTO_MISSING, startMosquitto } from './mosquitto.ts';

const { values } = parseArgs({
  options: {
    background: { type: 'string', default: '5000' },
    rate: { type: 'string', default: '2000' },
    presses: { type: 'string', default: '500' },
    alarmDevices: { type: 'string', default: '50' },
  },
});
const background = Number(values.background);
const rate = Number(values.rate);
const presses = Number(values.presses);
const alarmDevices = Number(values.alarmDevices);

type Cred = { id: string; password?: string };
/** A server with its devices connected, and a way to wait until the operator's side has seen a press. */
type Side = {
  bg: { id: string; client: MqttClient }[];
  al: { id: string; client: MqttClient }[];
  /** Resolves when the `n`-th press of `deviceId` (its press `pressId`) reached the operator. */
  seen(deviceId: string, pressId: string, n: number): Promise<unknown>;
  stop(): Promise<void>;
};
type Result = { latencies: number[]; bgRate: number; bgErrors: number };

async function connectAll(url: string, creds: Cred[]): Promise<{ id: string; client: MqttClient }[]> {
  const out: { id: string; client: MqttClient }[] = [];
  for (let i = 0; i < creds.length; i += 200) {
    out.push(...await Promise.all(creds.slice(i, i + 200).map(async (c) => ({
      id: c.id,
      client: await mqtt.connectAsync(url, { clientId: c.id, username: c.id, password: c.password, clean: true, reconnectPeriod: 0, keepalive: 600 }),
    }))));
  }
  return out;
}

async function hubSide(): Promise<Side> {
  const dir = tempDir('bench-live-');
  // The production build when there is one (npm run build), as the hub runs in its image.
  const hub = await spawnHub({ DATA_DIR: dir, MQTT_PORT: '0', HTTP_PORT: '0', HOST: '127.0.0.1', HUB_ADMIN_PASSWORD: ADMIN_PASSWORD, MQTT_MAX_PENDING_PER_ADDRESS: '100000' },
    undefined, { compiled: 'if-built' });
  const base = `http://127.0.0.1:${hub.httpPort}`;
  const api = new HubApi(base);
  await api.login('admin', ADMIN_PASSWORD);
  await api.ensureTenant('9904', 'Live');
  const creds: Cred[] = await api.importDevices('9904', 'safety_alarm', background + alarmDevices, 'LIVE');
  const url = `mqtt://127.0.0.1:${hub.mqttPort}`;
  const bg = await connectAll(url, creds.slice(0, background));
  const al = await connectAll(url, creds.slice(background));
  const { token } = await api.call<{ token: string }>('POST', '/api/auth/login', { username: 'admin', password: ADMIN_PASSWORD });
  const live = await connectLive(base, token);
  return {
    bg, al,
    seen: (deviceId, _pressId, n) => live.waitFor((m) => m.type === 'alarm' && m.alarm.deviceId === deviceId && m.alarm.count === n, `press ${n} of ${deviceId}`, 10_000),
    async stop() {
      live.close();
      await Promise.all([...bg, ...al].map((d) => d.client.endAsync(true)));
      await hub.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function mosquittoSide(): Promise<Side | null> {
  const m = await startMosquitto(['max_connections -1', 'max_inflight_messages 0', 'max_queued_messages 100000']);
  if (!m) return null;
  const operator = await mqtt.connectAsync(m.url, { clientId: 'operator', clean: true });
  const waiting = new Map<string, () => void>();
  operator.on('message', (_topic, payload) => {
    const id = (JSON.parse(payload.toString()) as { id: string }).id;
    waiting.get(id)?.();
    waiting.delete(id);
  });
  await operator.subscribeAsync('devices/+/events', { qos: 1 });
  const bg = await connectAll(m.url, Array.from({ length: background }, (_, i) => ({ id: `bg-${i}` })));
  const al = await connectAll(m.url, Array.from({ length: alarmDevices }, (_, i) => ({ id: `al-${i}` })));
  return {
    bg, al,
    seen: (_deviceId, pressId) => new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${pressId} not seen`)), 10_000);
      waiting.set(pressId, () => { clearTimeout(timer); resolve(); });
    }),
    async stop() {
      await Promise.all([...bg, ...al, { client: operator }].map((d) => d.client.endAsync(true)));
      await m.stop();
    },
  };
}

/** Background heartbeats at `rate` per second over the background devices; presses one after another. */
async function measure(side: Side): Promise<Result> {
  let sent = 0;
  let bgErrors = 0;
  const tick = 20;
  const perTick = Math.max(1, Math.round((rate * tick) / 1000));
  const bgLoop = setInterval(() => {
    for (let k = 0; k < perTick; k++) {
      const d = side.bg[sent++ % side.bg.length]!;
      d.client.publishAsync(topics.events(d.id), JSON.stringify({ id: `hb-${sent}`, ts: new Date().toISOString(), type: 'heartbeat', battery: 80, signal: -70, firmware: '1' }), { qos: 1 })
        .catch(() => { bgErrors++; });
    }
  }, tick);
  await new Promise((r) => setTimeout(r, 2000)); // let the background settle
  const latencies: number[] = [];
  const counts = new Map<string, number>();
  const bgStart = sent;
  const t0 = performance.now();
  for (let p = 0; p < presses; p++) {
    const d = side.al[p % side.al.length]!;
    const n = (counts.get(d.id) ?? 0) + 1;
    counts.set(d.id, n);
    const pressId = `press-${p}`;
    const start = performance.now();
    const seen = side.seen(d.id, pressId, n);
    await d.client.publishAsync(topics.events(d.id), JSON.stringify({ id: pressId, ts: new Date().toISOString(), type: 'button_pressed' }), { qos: 1 });
    await seen;
    latencies.push(performance.now() - start);
    await new Promise((r) => setTimeout(r, 10));
  }
  const bgRate = (sent - bgStart) / ((performance.now() - t0) / 1000);
  clearInterval(bgLoop);
  return { latencies, bgRate, bgErrors };
}

const stats = (r: Result) => ({ p50: percentile(r.latencies, 50), p99: percentile(r.latencies, 99), max: Math.max(...r.latencies) });

const m = await mosquittoSide();
let mosq: Result | null = null;
if (m) {
  mosq = await measure(m);
  await m.stop();
} else {
  console.log(MOSQUITTO_MISSING);
}
const h = await hubSide();
const hub = await measure(h);
await h.stop();

console.log(`\nalarm latency, ${presses} presses on ${alarmDevices} devices while ${background} devices send heartbeats (target ${rate}/s)`);
console.log(`${'path'.padEnd(46)} ${'bg msg/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}`);
const row = (name: string, r: Result) => {
  const s = stats(r);
  console.log(`${name.padEnd(46)} ${r.bgRate.toFixed(0).padStart(9)} ${s.p50.toFixed(1).padStart(8)} ${s.p99.toFixed(1).padStart(8)} ${s.max.toFixed(1).padStart(8)}${r.bgErrors ? `  (${r.bgErrors} background errors)` : ''}`);
};
row('hub: publish → alarm on the live WebSocket', hub);
if (mosq) {
  row('mosquitto: publish → a subscriber', mosq);
  console.log(`ratio hub / mosquitto: p50 ${(stats(hub).p50 / stats(mosq).p50).toFixed(2)}×, p99 ${(stats(hub).p99 / stats(mosq).p99).toFixed(2)}×`);
}
process.exit(0);
