/**
 * Alarm latency: from a device's publish to the operator's WebSocket message, while other
 * devices send background heartbeats. The hub runs as its own process (as `npm start`), the
 * devices and the operator's client in this one.
 *
 *   npm run bench:live -- --background 1000 --rate 2000 --presses 500
 */
import type { MqttClient } from 'mqtt';
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { topics } from '../hub/core/topics.ts';
import { startChildHub } from '../test/helpers/child-hub.ts';
import { ADMIN_PASSWORD, apiClient, connectDevice, type Registered, registerDevice, tempDir } from '../test/helpers/hub.ts';
import { connectLive } from '../test/helpers/live.ts';
import { percentile } from '../simulators/stats.ts';

const { values } = parseArgs({
  options: {
    background: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '2000' },
    presses: { type: 'string', default: '500' },
    alarmDevices: { type: 'string', default: '50' },
  },
});
const background = Number(values.background);
const rate = Number(values.rate);
const presses = Number(values.presses);
const alarmDevices = Number(values.alarmDevices);

const dir = tempDir('bench-live-');
const hub = await startChildHub(dir);
let token = '';
const api = apiClient(`http://127.0.0.1:${hub.httpPort}`, () => token);
token = (await api('POST', '/api/auth/login', { username: 'admin', password: ADMIN_PASSWORD }, null)).body.token;
const mqttUrl = `mqtt://127.0.0.1:${hub.mqttPort}`;

const bg: Registered[] = [];
for (let i = 0; i < background; i++) bg.push(await registerDevice(api, 'safety_alarm'));
const al: Registered[] = [];
for (let i = 0; i < alarmDevices; i++) al.push(await registerDevice(api, 'safety_alarm'));
const bgClients: MqttClient[] = await Promise.all(bg.map((d) => connectDevice(mqttUrl, d)));
const alClients: MqttClient[] = await Promise.all(al.map((d) => connectDevice(mqttUrl, d)));
const live = await connectLive(`http://127.0.0.1:${hub.httpPort}`, token);

// Background heartbeats at `rate` per second, spread over the devices.
let sent = 0;
let bgErrors = 0;
let running = true;
const tick = 20;
const perTick = Math.max(1, Math.round((rate * tick) / 1000));
const bgLoop = setInterval(() => {
  if (!running) return;
  for (let k = 0; k < perTick; k++) {
    const i = sent++ % bg.length;
    bgClients[i]!.publishAsync(topics.events(bg[i]!.id), JSON.stringify({ id: `hb-${sent}`, ts: new Date().toISOString(), type: 'heartbeat', battery: 80, signal: -70, firmware: '1' }), { qos: 1 })
      .catch(() => { bgErrors++; });
  }
}, tick);

await new Promise((r) => setTimeout(r, 2000)); // let the background settle
const latencies: number[] = [];
const counts = new Map<string, number>();
const bgStart = sent;
const t0 = performance.now();
for (let p = 0; p < presses; p++) {
  const i = p % al.length;
  const dev = al[i]!;
  const expected = (counts.get(dev.id) ?? 0) + 1;
  counts.set(dev.id, expected);
  const start = performance.now();
  const seen = live.waitFor((m) => m.type === 'alarm' && m.alarm.deviceId === dev.id && m.alarm.count === expected, `press ${p}`, 10_000);
  await alClients[i]!.publishAsync(topics.events(dev.id), JSON.stringify({ id: `press-${p}`, ts: new Date().toISOString(), type: 'button_pressed' }), { qos: 1 });
  await seen;
  latencies.push(performance.now() - start);
  await new Promise((r) => setTimeout(r, 10));
}
const elapsed = (performance.now() - t0) / 1000;
const bgRate = (sent - bgStart) / elapsed;
running = false;
clearInterval(bgLoop);

console.log(`hub: separate process; ${background} background devices at ~${Math.round(bgRate)} heartbeats/s (target ${rate}), ${bgErrors} errors`);
console.log(`alarm latency, publish → WebSocket, ${presses} presses on ${alarmDevices} devices: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`);
live.close();
await Promise.all([...bgClients, ...alClients].map((c) => c.endAsync()));
await hub.kill('SIGTERM');
rmSync(dir, { recursive: true, force: true });
