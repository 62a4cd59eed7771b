/**
 * Load mode: N simulated devices from one process, each its own MQTT connection with its own
 * credentials, sending heartbeats at a total rate, with live progress and a summary.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { percentile } from './stats.ts';
import { makeBehaviour } from './behaviours.ts';
import { type DeviceStats, SimDevice } from './device.ts';
import type { HubApi } from './hub-api.ts';
import { Rng } from './rng.ts';

export type LoadOptions = {
  api: HubApi;
  mqttUrl: string;
  tenantId: string;
  devices: number;
  /** Messages per second, all devices together. */
  rate: number;
  durationSeconds: number;
  stateFile: string;
  connectConcurrency?: number;
  progress?: (line: string) => void;
  /** The hub's memory, if it can be read (GET /api/health). */
  hubMemory?: () => Promise<number | null>;
};

export type LoadSummary = {
  devices: number;
  registerSeconds: number;
  connectSeconds: number;
  sent: number;
  acked: number;
  errors: number;
  seconds: number;
  rate: number;
  ackP50Ms: number;
  ackP99Ms: number;
  clientRssMb: number;
  hubRssMb: number | null;
  connectedAtEnd: number;
};

type Cred = { id: string; password: string };

export async function runLoad(o: LoadOptions): Promise<LoadSummary> {
  const log = o.progress ?? (() => {});
  const t0 = performance.now();
  await o.api.ensureTenant(o.tenantId, `Last ${o.tenantId}`);
  const known = new Set((await o.api.devices(o.tenantId)).map((d) => d.id));
  const saved: Cred[] = existsSync(o.stateFile) ? (JSON.parse(readFileSync(o.stateFile, 'utf8')) as Cred[]).filter((c) => known.has(c.id)) : [];
  const creds = saved.slice(0, o.devices);
  for (let i = creds.length; i < o.devices; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, o.devices - i) }, (_, k) =>
      o.api.createDevice({ tenantId: o.tenantId, kind: 'safety_alarm', serial: `LOAD-${o.tenantId}-${Date.now().toString(36)}-${i + k}`, heartbeatIntervalSeconds: 3600 })));
    creds.push(...batch.map((d) => ({ id: d.mqtt.username, password: d.mqtt.password })));
    mkdirSync(dirname(o.stateFile), { recursive: true });
    writeFileSync(o.stateFile, JSON.stringify([...creds, ...saved.slice(o.devices)]));
  }
  const tRegistered = performance.now();
  log(`registered ${creds.length} devices in ${((tRegistered - t0) / 1000).toFixed(1)} s`);

  const stats: DeviceStats = { sent: 0, acked: 0, errors: 0, commands: 0, ackMs: [] };
  const rng = new Rng(1);
  const start = new Date();
  const devices = creds.map((c, i) => new SimDevice(c.id, c.password, makeBehaviour({ kind: 'safety_alarm', rng: rng.fork(i), mode: 'quiet', heartbeatSeconds: 3600, idPrefix: `load-${start.getTime().toString(36)}-${i}`, start }), o.mqttUrl, stats, true));
  let connected = 0;
  const concurrency = o.connectConcurrency ?? 200;
  for (let i = 0; i < devices.length; i += concurrency) {
    await Promise.all(devices.slice(i, i + concurrency).map(async (d) => {
      try {
        await d.connect();
        connected++;
      } catch {
        stats.errors++;
      }
    }));
    log(`connected ${connected}/${devices.length}`);
  }
  const tConnected = performance.now();

  // Heartbeats, round-robin over the devices, at the total rate.
  const tickMs = 50;
  const perTick = o.rate * (tickMs / 1000);
  let owed = 0;
  let next = 0;
  let seq = 0;
  const tStart = performance.now();
  let lastReport = tStart;
  let lastSent = 0;
  const timer = setInterval(() => {
    owed += perTick;
    for (; owed >= 1; owed--) {
      const d = devices[next++ % devices.length] as SimDevice;
      void d.publish({ id: `hb-${++seq}-${start.getTime().toString(36)}`, ts: new Date().toISOString(), type: 'heartbeat', battery: 90, signal: -70, firmware: '2.4.1' });
    }
    const now = performance.now();
    if (now - lastReport >= 1000) {
      const live = devices.filter((d) => d.client?.connected).length;
      log(`connected ${live}  sent ${stats.sent}  acked ${stats.acked}  errors ${stats.errors}  rate ${Math.round(((stats.sent - lastSent) * 1000) / (now - lastReport))} msg/s`);
      lastReport = now;
      lastSent = stats.sent;
    }
  }, tickMs);
  await new Promise((r) => setTimeout(r, o.durationSeconds * 1000));
  clearInterval(timer);
  const until = Date.now() + 10_000;
  while (stats.acked + stats.errors < stats.sent && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - tStart) / 1000;
  const connectedAtEnd = devices.filter((d) => d.client?.connected).length;
  const hubRss = o.hubMemory ? await o.hubMemory() : null;
  await Promise.all(devices.map((d) => d.close()));
  return {
    devices: devices.length,
    registerSeconds: (tRegistered - t0) / 1000,
    connectSeconds: (tConnected - tRegistered) / 1000,
    sent: stats.sent,
    acked: stats.acked,
    errors: stats.errors,
    seconds,
    rate: stats.acked / seconds,
    ackP50Ms: percentile(stats.ackMs, 50),
    ackP99Ms: percentile(stats.ackMs, 99),
    clientRssMb: process.memoryUsage().rss / 1e6,
    hubRssMb: hubRss === null ? null : hubRss / 1e6,
    connectedAtEnd,
  };
}

export function formatSummary(s: LoadSummary): string {
  return [
    `devices: ${s.devices} (registered in ${s.registerSeconds.toFixed(1)} s, connected in ${s.connectSeconds.toFixed(1)} s; ${s.connectedAtEnd} still connected at the end)`,
    `messages: ${s.acked} acknowledged of ${s.sent} sent in ${s.seconds.toFixed(1)} s = ${Math.round(s.rate)} msg/s, ${s.errors} errors`,
    `publish → PUBACK: p50 ${s.ackP50Ms.toFixed(1)} ms, p99 ${s.ackP99Ms.toFixed(1)} ms`,
    `memory: simulator ${s.clientRssMb.toFixed(0)} MB${s.hubRssMb === null ? '' : `, hub ${s.hubRssMb.toFixed(0)} MB`}`,
  ].join('\n');
}
