/**
 * Heartbeat fan-in: N devices, each its own MQTT connection, publish heartbeats back to back at
 * QoS 1 (the next after the PUBACK of the last). Through the hub (as `npm start` runs it), and
 * through Debian's Mosquitto with a bare QoS 1 subscriber on the same generator, in one run.
 * Both servers are up, their devices connected, for the whole run; after a round not counted
 * (both hot), measured windows alternate between them (Mosquitto, hub, Mosquitto, hub, …), so a
 * shared machine's drift falls on both.
 * Each window's CPU includes what the server does after it for its messages (the hub writes its
 * time series a moment later): the next window starts only when that is done. Prints each
 * window, then the medians: messages per second and CPU per message of the server side (hub;
 * Mosquitto plus its subscriber), and their ratios.
 *
 *   npm run bench:fanin -- --devices 50 --seconds 5 --rounds 5
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { topics } from '../hub/core/topics.ts';
import { HubApi } from '../simulators/hub-api.ts';
import { spawnHub } from '../simulators/spawn-hub.ts';
import { percentile } from '../simulators/stats.ts';
import { tempDir } from '../test/helpers/hub.ts';
import { MOSQUITTO_MISSING, startMosquitto } from './mosquitto.ts';

const { values } = parseArgs({ options: {
  devices: { type: 'string', default: '50' },
  seconds: { type: 'string', default: '5' },
  rounds: { type: 'string', default: '5' },
} });
const DEVICES = Number(values.devices);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TICK = 100; // clock ticks per second (getconf CLK_TCK on Linux)
/** After each window: longer than the hub's time-series flush (1 s) and device-state write (0.5 s). */
const SETTLE_MS = 2500;

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

type Cred = { id: string; password?: string };
type Result = { messages: number; perSecond: number; cpuMicrosPerMessage: number };
/** A server with its devices connected: measured a window at a time, closed at the end. */
type Side = { name: string; clients: MqttClient[]; ids: string[]; pids: number[]; close(): Promise<void> };

async function connect(url: string, creds: Cred[]): Promise<MqttClient[]> {
  return Promise.all(creds.map((c) => mqtt.connectAsync(url, { clientId: c.id, username: c.id, password: c.password, clean: true, reconnectPeriod: 0 })));
}

let seq = 0;
const hb = (i: number) => JSON.stringify({ id: `fan-${i}-${++seq}-${Date.now().toString(36)}`, ts: new Date().toISOString(), type: 'heartbeat', battery: 90, signal: -70, firmware: '2.4.1' });

/** One window: every device publishes back to back for SECONDS; the servers' CPU over it. */
async function measure(side: Side): Promise<Result> {
  const { clients, ids, pids } = side;
  // A short warm-up, so the side is measured hot.
  await Promise.all(clients.map((c, i) => c.publishAsync(topics.events(ids[i]!), hb(i), { qos: 1 })));
  const cpu0 = pids.reduce((s, p) => s + cpuSeconds(p), 0);
  const t0 = performance.now();
  const until = t0 + SECONDS * 1000;
  let acked = 0;
  await Promise.all(clients.map(async (c, i) => {
    while (performance.now() < until) {
      await c.publishAsync(topics.events(ids[i]!), hb(i), { qos: 1 });
      acked++;
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  // The work a window leaves behind (the hub writes its time series and device state a moment
  // later) is done before the next window, and counted in this one's CPU.
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const cpu = pids.reduce((s, p) => s + cpuSeconds(p), 0) - cpu0;
  return { messages: acked, perSecond: acked / seconds, cpuMicrosPerMessage: (cpu * 1e6) / acked };
}

async function hubSide(): Promise<Side> {
  const dir = tempDir('bench-fanin-');
  const password = 'bench-admin-password';
  // The production build when there is one (npm run build), as the hub runs in its image.
  const hub = await spawnHub({ DATA_DIR: dir, MQTT_PORT: '0', HTTP_PORT: '0', HOST: '127.0.0.1', HUB_ADMIN_PASSWORD: password }, undefined, { compiled: 'if-built' });
  const api = new HubApi(`http://127.0.0.1:${hub.httpPort}`);
  await api.login('admin', password);
  await api.ensureTenant('9902', 'Fan-in');
  const creds: Cred[] = [];
  for (let i = 0; i < DEVICES; i++) {
    const d = await api.createDevice({ tenantId: '9902', kind: 'safety_alarm', serial: `FAN-${i}`, heartbeatIntervalSeconds: 3600 });
    creds.push({ id: d.mqtt.username, password: d.mqtt.password });
  }
  const clients = await connect(`mqtt://127.0.0.1:${hub.mqttPort}`, creds);
  return {
    name: 'hub', clients, ids: creds.map((c) => c.id), pids: [hub.proc.pid!],
    async close() {
      await Promise.all(clients.map((c) => c.endAsync()));
      await hub.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function mosquittoSide(): Promise<Side | null> {
  const m = await startMosquitto(['max_inflight_messages 0', 'max_queued_messages 0']);
  if (!m) return null;
  // The bare subscriber: receives every message at QoS 1 and does nothing with it.
  const sub: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', `
    import mqtt from 'mqtt';
    const c = await mqtt.connectAsync('${m.url}', { clientId: 'bare-subscriber', clean: true });
    let n = 0; c.on('message', () => { n++; });
    await c.subscribeAsync('devices/+/events', { qos: 1 });
    process.stdout.write('ready\\n');
    process.on('SIGTERM', () => { process.stdout.write(n + '\\n'); process.exit(0); });
  `], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => sub.stdout!.once('data', () => resolve()));
  const ids = Array.from({ length: DEVICES }, (_, i) => `fan-${i}`);
  const clients = await connect(m.url, ids.map((id) => ({ id })));
  return {
    name: 'mosquitto + bare subscriber', clients, ids, pids: [m.pid(), sub.pid!],
    async close() {
      await Promise.all(clients.map((c) => c.endAsync()));
      sub.kill('SIGTERM');
      await m.stop();
    },
  };
}

const mosq = await mosquittoSide();
if (!mosq) process.stdout.write(`${MOSQUITTO_MISSING}\n`);
const hub = await hubSide();
const sides = mosq ? [mosq, hub] : [hub];
const results = new Map<Side, Result[]>(sides.map((s) => [s, []]));
const row = (name: string, r: Pick<Result, 'perSecond' | 'cpuMicrosPerMessage'>, messages: string) =>
  `${name.padEnd(36)} ${messages.padStart(8)} ${r.perSecond.toFixed(0).padStart(10)} ${r.cpuMicrosPerMessage.toFixed(0).padStart(10)}`;
process.stdout.write(`\nheartbeat fan-in, ${DEVICES} devices back to back at QoS 1, ${ROUNDS} rounds of ${SECONDS} s each, alternating\n`);
process.stdout.write(`${'server (window)'.padEnd(36)} ${'messages'.padStart(8)} ${'msg/s'.padStart(10)} ${'µs CPU/msg'.padStart(10)}\n`);
try {
  // A first round not counted: both sides hot (compiled code, caches, the hub's first commits).
  for (const side of sides) await measure(side);
  for (let r = 1; r <= ROUNDS; r++) {
    for (const side of sides) {
      const res = await measure(side);
      results.get(side)!.push(res);
      process.stdout.write(`${row(`${side.name} (${r})`, res, String(res.messages))}\n`);
    }
  }
} finally {
  for (const side of sides) await side.close();
}
const median = (side: Side) => {
  const list = results.get(side)!;
  return { perSecond: percentile(list.map((x) => x.perSecond), 50), cpuMicrosPerMessage: percentile(list.map((x) => x.cpuMicrosPerMessage), 50) };
};
const h = median(hub);
process.stdout.write(`${row('hub, median', h, '')}\n`);
if (mosq) {
  const m = median(mosq);
  process.stdout.write(`${row('mosquitto + bare subscriber, median', m, '')}\n`);
  const ratios = results.get(hub)!.map((x, i) => x.perSecond / results.get(mosq)![i]!.perSecond);
  process.stdout.write(`ratio hub / mosquitto (medians): ${(h.perSecond / m.perSecond).toFixed(2)}× the rate, ${(h.cpuMicrosPerMessage / m.cpuMicrosPerMessage).toFixed(2)}× the CPU per message; rate by round: ${ratios.map((x) => x.toFixed(2)).join(', ')}\n`);
}
process.exit(0);
