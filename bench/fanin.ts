/**
 * Heartbeat fan-in: N devices, each its own MQTT connection, publish heartbeats back to back at
 * QoS 1 (the next after the PUBACK of the last). Through the hub (as `npm start` runs it), and
 * through Debian's Mosquitto with a bare QoS 1 subscriber on the same generator, in one run.
 * Prints messages per second and CPU per message of the server side (hub; Mosquitto plus its
 * subscriber), and their ratios.
 *
 *   npm run bench:fanin -- --devices 50 --seconds 10
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { topics } from '../hub/core/topics.ts';
import { HubApi } from '../simulators/hub-api.ts';
import { spawnHub } from '../simulators/spawn-hub.ts';
import { tempDir } from '../test/helpers/hub.ts';
import { MOSQUITTO_MISSING, startMosquitto } from './mosquitto.ts';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '50' }, seconds: { type: 'string', default: '10' } } });
const DEVICES = Number(values.devices);
const SECONDS = Number(values.seconds);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TICK = 100; // clock ticks per second (getconf CLK_TCK on Linux)

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

type Cred = { id: string; password?: string };
type Result = { messages: number; perSecond: number; cpuMicrosPerMessage: number };

/** Connects the devices, lets each publish back to back for SECONDS, and measures the servers' CPU. */
async function drive(url: string, creds: Cred[], pids: number[]): Promise<Result> {
  const clients: MqttClient[] = await Promise.all(creds.map((c) => mqtt.connectAsync(url, { clientId: c.id, username: c.id, password: c.password, clean: true, reconnectPeriod: 0 })));
  const hb = (i: number, n: number) => JSON.stringify({ id: `fan-${i}-${n}-${Date.now().toString(36)}`, ts: new Date().toISOString(), type: 'heartbeat', battery: 90, signal: -70, firmware: '2.4.1' });
  // A short warm-up, so both sides are measured hot.
  await Promise.all(clients.map((c, i) => c.publishAsync(topics.events(creds[i]!.id), hb(i, -1), { qos: 1 })));
  const cpu0 = pids.reduce((s, p) => s + cpuSeconds(p), 0);
  const t0 = performance.now();
  const until = t0 + SECONDS * 1000;
  let acked = 0;
  await Promise.all(clients.map(async (c, i) => {
    for (let n = 0; performance.now() < until; n++) {
      await c.publishAsync(topics.events(creds[i]!.id), hb(i, n), { qos: 1 });
      acked++;
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = pids.reduce((s, p) => s + cpuSeconds(p), 0) - cpu0;
  await Promise.all(clients.map((c) => c.endAsync()));
  return { messages: acked, perSecond: acked / seconds, cpuMicrosPerMessage: (cpu * 1e6) / acked };
}

async function viaHub(): Promise<Result> {
  const dir = tempDir('bench-fanin-');
  const password = 'bench-admin-password';
  // The production build when there is one (npm run build), as the hub runs in its image.
  const hub = await spawnHub({ DATA_DIR: dir, MQTT_PORT: '0', HTTP_PORT: '0', HOST: '127.0.0.1', HUB_ADMIN_PASSWORD: password }, undefined, { compiled: 'if-built' });
  try {
    const api = new HubApi(`http://127.0.0.1:${hub.httpPort}`);
    await api.login('admin', password);
    await api.ensureTenant('9902', 'Fan-in');
    const creds: Cred[] = [];
    for (let i = 0; i < DEVICES; i++) {
      const d = await api.createDevice({ tenantId: '9902', kind: 'safety_alarm', serial: `FAN-${i}`, heartbeatIntervalSeconds: 3600 });
      creds.push({ id: d.mqtt.username, password: d.mqtt.password });
    }
    return await drive(`mqtt://127.0.0.1:${hub.mqttPort}`, creds, [hub.proc.pid!]);
  } finally {
    await hub.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function viaMosquitto(): Promise<Result | null> {
  const m = await startMosquitto(['max_inflight_messages 0', 'max_queued_messages 0']);
  if (!m) return null;
  let sub: ChildProcess | null = null;
  try {
    // The bare subscriber: receives every message at QoS 1 and does nothing with it.
    sub = spawn(process.execPath, ['--input-type=module', '-e', `
      import mqtt from 'mqtt';
      const c = await mqtt.connectAsync('${m.url}', { clientId: 'bare-subscriber', clean: true });
      let n = 0; c.on('message', () => { n++; });
      await c.subscribeAsync('devices/+/events', { qos: 1 });
      process.stdout.write('ready\\n');
      process.on('SIGTERM', () => { process.stdout.write(n + '\\n'); process.exit(0); });
    `], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => sub!.stdout!.once('data', () => resolve()));
    const creds = Array.from({ length: DEVICES }, (_, i) => ({ id: `fan-${i}` }));
    return await drive(m.url, creds, [m.pid(), sub.pid!]);
  } finally {
    sub?.kill('SIGTERM');
    await m.stop();
  }
}

const mosq = await viaMosquitto();
if (!mosq) process.stdout.write(`${MOSQUITTO_MISSING}\n`);
const hub = await viaHub();
const row = (name: string, r: Result) => `${name.padEnd(28)} ${String(r.messages).padStart(8)} ${r.perSecond.toFixed(0).padStart(10)} ${r.cpuMicrosPerMessage.toFixed(0).padStart(10)}`;
process.stdout.write(`\nheartbeat fan-in, ${DEVICES} devices back to back at QoS 1, ${SECONDS} s each\n`);
process.stdout.write(`${'server'.padEnd(28)} ${'messages'.padStart(8)} ${'msg/s'.padStart(10)} ${'µs CPU/msg'.padStart(10)}\n`);
process.stdout.write(`${row('hub', hub)}\n`);
if (mosq) {
  process.stdout.write(`${row('mosquitto + bare subscriber', mosq)}\n`);
  process.stdout.write(`ratio hub / mosquitto: ${(hub.perSecond / mosq.perSecond).toFixed(2)}× the rate, ${(hub.cpuMicrosPerMessage / mosq.cpuMicrosPerMessage).toFixed(2)}× the CPU per message\n`);
}
process.exit(0);
