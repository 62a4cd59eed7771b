/**
 * Ingest benchmark: many devices publish at once over real MQTT connections to a real hub;
 * measures the time from publish to PUBACK (which, for care events, includes the fsynced
 * commit) and the throughput.
 *
 *   npm run bench:ingest -- --devices 500 --messages 20 --care 0.2
 */
import { parseArgs } from 'node:util';
import type { MqttClient } from 'mqtt';
import { topics } from '../hub/core/topics.ts';
import { connectDevice, type Registered, registerDevice, startTestHub } from '../test/helpers/hub.ts';
import { percentile } from '../simulators/stats.ts';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '500' },
    messages: { type: 'string', default: '20' },
    care: { type: 'string', default: '0.2' },
  },
});
const devices = Number(values.devices);
const perDevice = Number(values.messages);
const careShare = Number(values.care);

const t = await startTestHub();
const t0 = performance.now();
const regs: Registered[] = [];
for (let i = 0; i < devices; i++) regs.push(await registerDevice(t.api, 'safety_alarm'));
const tRegistered = performance.now();
const clients: MqttClient[] = await Promise.all(regs.map((d) => connectDevice(t.mqttUrl, d)));
const tConnected = performance.now();

const careLatency: number[] = [];
const telemetryLatency: number[] = [];
const startMem = process.memoryUsage().rss;
const tStart = performance.now();
await Promise.all(clients.map(async (c, i) => {
  const id = regs[i]!.id;
  for (let m = 0; m < perDevice; m++) {
    const care = (m + i) % Math.round(1 / careShare) === 0;
    const ev = care
      ? { id: `b-${m}`, ts: new Date().toISOString(), type: 'button_pressed' }
      : { id: `h-${m}`, ts: new Date().toISOString(), type: 'heartbeat', battery: 90, signal: -70, firmware: '1.0' };
    const s = performance.now();
    await c.publishAsync(topics.events(id), JSON.stringify(ev), { qos: 1 });
    (care ? careLatency : telemetryLatency).push(performance.now() - s);
  }
}));
const elapsed = (performance.now() - tStart) / 1000;
const total = devices * perDevice;
await Promise.all(clients.map((c) => c.endAsync()));
await t.hub.ctx.series.flush();
const stored = (t.hub.ctx.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;

const fmt = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(1)} ms, p99 ${percentile(xs, 99).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`;
console.log(`devices: ${devices} (registered in ${((tRegistered - t0) / 1000).toFixed(1)} s, connected in ${((tConnected - tRegistered) / 1000).toFixed(2)} s)`);
console.log(`messages: ${total} in ${elapsed.toFixed(2)} s = ${Math.round(total / elapsed)} msg/s, each device waiting for its PUBACK before the next`);
console.log(`care events (stored and fsynced before PUBACK): ${careLatency.length}, ${fmt(careLatency)}`);
console.log(`telemetry: ${telemetryLatency.length}, ${fmt(telemetryLatency)}`);
console.log(`care events in the store: ${stored} (expected ${careLatency.length})`);
console.log(`rss growth during the run: ${((process.memoryUsage().rss - startMem) / 1e6).toFixed(0)} MB`);
await t.close();
if (stored !== careLatency.length) process.exit(1);
