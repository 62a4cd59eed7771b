/**
 * Starts a real hub (broker, API, stores) in this process on ephemeral ports and a temporary
 * directory, and gives the test what a device and a user would have: addresses and credentials.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { type RunningHub, startHub } from '../../hub/app.ts';
import { type Config, loadConfig } from '../../hub/config.ts';
import type { DeviceKind } from '../../hub/core/events.ts';

export const ADMIN_PASSWORD = 'test-admin-password';

export type TestHub = {
  hub: RunningHub;
  dataDir: string;
  httpUrl: string;
  mqttUrl: string;
  adminToken: string;
  api: Api;
  close(opts?: { keepData?: boolean }): Promise<void>;
};

export type ApiResponse<T = any> = { status: number; body: T };
export type Api = (method: string, path: string, body?: unknown, token?: string | null) => Promise<ApiResponse>;

export function tempDir(prefix = 'hub-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Over HTTPS with a CA of the test's own (Node's fetch trusts only the system's). */
function httpsCall(url: string, ca: Buffer, method: string, headers: Record<string, string>, body: string | undefined): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, headers, ca, servername: 'localhost' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function apiClient(httpUrl: string, defaultToken: () => string | null, ca?: Buffer): Api {
  return async (method, path, body, token) => {
    const t = token === undefined ? defaultToken() : token;
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (t) headers.authorization = `Bearer ${t}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const res = ca
      ? await httpsCall(`${httpUrl}${path}`, ca, method, headers, payload)
      : await fetch(`${httpUrl}${path}`, { method, headers, body: payload }).then(async (r) => ({ status: r.status, text: await r.text() }));
    return { status: res.status, body: res.text ? JSON.parse(res.text) : null };
  };
}

/** A clock the test can move forward; the hub reads it wherever it asks for the time. */
export class TestClock {
  offsetMs = 0;
  readonly now = () => new Date(Date.now() + this.offsetMs);
  advance(seconds: number): void { this.offsetMs += seconds * 1000; }
}

export async function startTestHub(opts: { dataDir?: string; influx?: Config['influx']; logLevel?: string; config?: Partial<Config>; clock?: { now: () => Date }; https?: { ca: Buffer } } = {}): Promise<TestHub> {
  const dataDir = opts.dataDir ?? tempDir();
  const base = loadConfig({});
  const config: Config = {
    ...base,
    mqttPort: 0, httpPort: 0, host: '127.0.0.1', dataDir,
    influx: opts.influx ?? null, adminPassword: ADMIN_PASSWORD, logLevel: opts.logLevel ?? 'silent',
    // A lower scrypt cost than a real hub's, so hundreds of sign-ins do not take minutes; the
    // code path is the same, and a test raises it to see hashes made again at sign-in.
    // Sessions as long as a test that moves the hub's clock by hours needs; the idle limit is tested on its own.
    people: { ...base.people, scrypt: { logN: 12, r: 8, p: 1 }, session: { maxMs: 12 * 3_600_000, idleMs: 12 * 3_600_000 } },
    ...opts.config,
  };
  const hub = await startHub(config, pino({ level: config.logLevel }), opts.clock?.now);
  const httpUrl = opts.https ? `https://localhost:${hub.httpPort}` : `http://127.0.0.1:${hub.httpPort}`;
  let adminToken = '';
  const api = apiClient(httpUrl, () => adminToken, opts.https?.ca);
  const login = await api('POST', '/api/auth/login', { username: 'admin', password: config.adminPassword ?? hub.generatedAdminPassword ?? ADMIN_PASSWORD }, null);
  if (login.status !== 200) throw new Error(`admin login failed: ${JSON.stringify(login.body)}`);
  adminToken = login.body.token;
  return {
    hub, dataDir, httpUrl, mqttUrl: `mqtt://127.0.0.1:${hub.mqttPort}`, adminToken, api,
    async close({ keepData = false } = {}) {
      await hub.close();
      if (!keepData && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type Registered = { id: string; tenantId: string; kind: DeviceKind; password: string; residentId: string };

let serial = 0;
/** Creates the municipality if needed, a resident and a device; returns the issued credentials. */
export async function registerDevice(api: Api, kind: DeviceKind, tenantId = '0301', extra: Record<string, unknown> = {}): Promise<Registered> {
  await api('POST', '/api/tenants', { id: tenantId, name: `Kommune ${tenantId}` });
  const r = await api('POST', '/api/residents', { tenantId, name: 'Kari Nordmann', address: 'Storgata 1, 0155 Oslo' });
  if (r.status !== 201) throw new Error(`resident: ${JSON.stringify(r.body)}`);
  const d = await api('POST', '/api/devices', { tenantId, kind, serial: `SN-${process.pid}-${++serial}`, residentId: r.body.id, ...extra });
  if (d.status !== 201) throw new Error(`device: ${JSON.stringify(d.body)}`);
  return { id: d.body.id, tenantId, kind, password: d.body.mqtt.password, residentId: r.body.id };
}

/** Connects as the device, with its issued credentials and its device id as client id. */
export function connectDevice(mqttUrl: string, dev: { id: string; password: string }, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(mqttUrl, { clientId: dev.id, username: dev.id, password: dev.password, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
}

/** Waits until `check` returns a truthy value, polling; throws with `what` when time runs out. */
export async function eventually<T>(check: () => Promise<T> | T, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let eventSeq = 0;
export function nextEventId(): string {
  return `ev-${Date.now().toString(36)}-${++eventSeq}`;
}
