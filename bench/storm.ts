/**
 * Connection density, the care-event storm and the restart storm, through the hub (as its own
 * process) and through Debian's Mosquitto on the same generator in the same run.
 *
 * 1. Density: 10,000, then 20,000 idle devices, each its own MQTT connection subscribed to its
 *    command topic; the server's resident memory before and after, at rest (the hub after a full
 *    collection, asked for through its inspector; also shown 5 s after the burst, before one):
 *    connections per GB.
 * 2. Care-event storm: 2,000 of them send `mains_lost` at the same moment (a power cut); time
 *    until every one is acknowledged, PUBACK p50/p99, and the hub's group-commit batch sizes.
 * 3. Restart storm: the server is killed (SIGKILL) while all are connected; 2,000 other devices
 *    publish `mains_lost` while it is down (their client holds the message); the server starts
 *    again and every device reconnects on its own schedule (1 to 3 s, like devices' back-off).
 *    Time from "ready" until all are back, the acceptance rate, refusals, and (the hub) every
 *    `mains_lost` of both storms has its alarm afterwards.
 *
 *   npm run bench:storm -- --devices 20000 --care 2000
 *
 * All devices connect from 127.0.0.1 here, so the hub's cap on unauthenticated connections per
 * address is lifted for the run (`MQTT_MAX_PENDING_PER_ADDRESS`); in the field they come from
 * many addresses. The devices are spread over processes of 5,000 each (bench/storm-devices.ts).
 * The server holds every device's socket: with an open-file limit of 20,000 (`ulimit -n`), run
 * with `--devices 19900`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { HubApi } from '../simulators/hub-api.ts';
import { type HubProcess, spawnHub } from '../simulators/spawn-hub.ts';
import { percentile } from '../simulators/stats.ts';
import { tempDir } from '../test/helpers/hub.ts';
import { freePort } from '../test/helpers/influxd.ts';
import { MOSQUITTO_MISSING, startMosquitto } from './mosquitto.ts';

const { values } = parseArgs({ options: {
  devices: { type: 'string', default: '20000' },
  care: { type: 'string', default: '2000' },
  hubOnly: { type: 'boolean', default: false },
} });
const DEVICES = Number(values.devices);
const CARE = Math.min(Number(values.care), Math.floor(DEVICES / 2));
const STEPS = DEVICES > 10_000 ? [10_000, DEVICES] : [DEVICES];
const TENANT = '9903';
const GB = 1024 ** 3;


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
const mb = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
const out = (s: string) => process.stdout.write(`${s}\n`);


type Cred = { id: string; password?: string };

/** A server under test: where it listens, its process, and how to kill and start it again. */
type Server = {
  name: string; url: string; pid(): number; kill(): Promise<void>; restart(): Promise<number>; stop(): Promise<void>;
  heap?(): Promise<string>;
  /** A full garbage collection, where the server has a collector. */
  collect?(): Promise<void>;
};

/** Devices per generator process: one process may hold only so many sockets. */
const PER_PROCESS = 5000;

/** The devices, spread over generator processes (bench/storm-devices.ts); device i lives in process ⌊i / PER_PROCESS⌋. */
class Fleet {
  private readonly procs: { proc: ChildProcess; calls: Map<number, (r: unknown) => void> }[] = [];
  private seq = 0;

  constructor(private readonly url: string, private readonly creds: Cred[]) {}

  private async proc(k: number) {
    while (this.procs.length <= k) {
      const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/storm-devices.ts'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const calls = new Map<number, (r: unknown) => void>();
      const ready = new Promise<void>((resolve) => calls.set(0, () => resolve()));
      proc.on('message', (m: { id: number; result: unknown }) => { calls.get(m.id)?.(m.result); calls.delete(m.id); });
      this.procs.push({ proc, calls });
      await ready;
    }
    return this.procs[k] as { proc: ChildProcess; calls: Map<number, (r: unknown) => void> };
  }

  private async call<T>(k: number, req: Record<string, unknown>): Promise<T> {
    const p = await this.proc(k);
    const id = ++this.seq;
    return new Promise<T>((resolve) => {
      p.calls.set(id, resolve as (r: unknown) => void);
      p.proc.send({ id, ...req });
    });
  }

  /** Calls each process that holds part of devices from..to with its own part. */
  private spread<T>(from: number, to: number, req: (k: number, lo: number, hi: number) => Record<string, unknown>): Promise<T[]> {
    const calls: Promise<T>[] = [];
    for (let k = Math.floor(from / PER_PROCESS); k * PER_PROCESS < to; k++) {
      const lo = Math.max(from, k * PER_PROCESS);
      const hi = Math.min(to, (k + 1) * PER_PROCESS);
      calls.push(this.call<T>(k, req(k, lo, hi)));
    }
    return Promise.all(calls);
  }

  /** Connects devices from..to (in order, after those already connected); each subscribes to its commands. */
  async connect(from: number, to: number): Promise<void> {
    await this.spread(from, to, (_k, lo, hi) => ({ op: 'connect', url: this.url, creds: this.creds.slice(lo, hi), parallel: 100 }));
  }

  /** Devices from..from+n publish `mains_lost` now; resolves with every PUBACK's latency. */
  async publish(from: number, n: number, tag: string): Promise<number[]> {
    return (await this.spread<number[]>(from, from + n, (k, lo, hi) => ({ op: 'publish', from: lo - k * PER_PROCESS, n: hi - lo, tag }))).flat();
  }

  async status(): Promise<{ connected: number; connects: number[]; refusals: number; causes: Record<string, number> }> {
    const all = await Promise.all(this.procs.map((_, k) => this.call<{ connected: number; connects: number[]; refusals: number; causes: Record<string, number> }>(k, { op: 'status' })));
    const causes: Record<string, number> = {};
    for (const x of all) for (const [c, n] of Object.entries(x.causes)) causes[c] = (causes[c] ?? 0) + n;
    return { connected: all.reduce((s, x) => s + x.connected, 0), connects: all.flatMap((x) => x.connects), refusals: all.reduce((s, x) => s + x.refusals, 0), causes };
  }

  async reset(): Promise<void> {
    await Promise.all(this.procs.map((_, k) => this.call(k, { op: 'reset' })));
  }

  async end(): Promise<void> {
    await Promise.all(this.procs.map((_, k) => this.call(k, { op: 'end' })));
  }
}

type Burst = { ms: number; p50: number; p99: number; acked: number };

const summarize = (lat: number[], ms: number): Burst => ({ ms, p50: percentile(lat, 50), p99: percentile(lat, 99), acked: lat.length });

type Result = {
  density: { devices: number; bytes: number; perGb: number }[];
  storm: Burst;
  restart: { backMs: number; peakPerSecond: number; meanPerSecond: number; refusals: number; queued: Burst };
};

type Batches = { count: number; sum: number; buckets: { le: string; n: number }[] };

async function run(server: Server, creds: Cred[], batches?: () => Promise<Batches>): Promise<Result> {
  const fleet = new Fleet(server.url, creds);
  await sleep(2000);
  // Resident memory of the server at rest: after a full collection where the server has a
  // collector (the hub, through its inspector), so that what a burst left behind (starting up,
  // thousands connecting), which V8 gives back only when it gets round to it, is not counted.
  const atRest = async () => {
    await server.collect?.();
    await sleep(1000);
    return rss(server.pid());
  };
  const base = await atRest();
  const density: Result['density'] = [];
  let done = 0;
  for (const n of STEPS) {
    await fleet.connect(done, n);
    done = n;
    await sleep(5000);
    const early = rss(server.pid()) - base;
    const bytes = (await atRest()) - base;
    density.push({ devices: n, bytes, perGb: n / (bytes / GB) });
    out(`  ${server.name}: ${n} idle connections, ${mb(bytes)} more resident memory at rest (${mb(early)} 5 s after the last connected, before a collection; ${mb(base)} before)${server.heap ? `; ${await server.heap()}` : ''}`);
  }

  const before = batches ? await batches() : null;
  const t0 = performance.now();
  const storm = summarize(await fleet.publish(0, CARE, 'storm'), performance.now() - t0);
  out(`  ${server.name}: ${CARE} × mains_lost acknowledged in ${storm.ms.toFixed(0)} ms`);
  if (batches && before) {
    await sleep(200);
    const after = await batches();
    const commits = after.count - before.count;
    const writes = after.sum - before.sum;
    const sizes = after.buckets.map((b, i) => ({ le: b.le, n: b.n - (before.buckets[i]?.n ?? 0) }))
      .map((b, i, all) => ({ le: b.le, n: b.n - (i > 0 ? (all[i - 1] as { n: number }).n : 0) })).filter((b) => b.n > 0);
    out(`  ${server.name}: the storm in ${commits} group commits, ${writes} writes, mean ${(writes / Math.max(1, commits)).toFixed(1)} per commit; commits by size (up to): ${sizes.map((b) => `≤${b.le}: ${b.n}`).join(', ')}`);
  }

  await server.kill();
  // While the server is down, more devices lose mains power: their clients hold the events.
  const down = performance.now();
  const queued = fleet.publish(CARE, CARE, 'down');
  await sleep(1000);
  await fleet.reset();
  const startedIn = await server.restart();
  const ready = Date.now();
  let status = await fleet.status();
  while (status.connected < DEVICES && Date.now() - ready < 120_000) {
    await sleep(100);
    status = await fleet.status();
  }
  const backMs = Date.now() - ready;
  const queuedBurst = summarize(await queued, performance.now() - down);
  const perSecond = new Map<number, number>();
  for (const t of status.connects) perSecond.set(Math.floor((t - ready) / 1000), (perSecond.get(Math.floor((t - ready) / 1000)) ?? 0) + 1);
  const peak = Math.max(0, ...perSecond.values());
  out(`  ${server.name}: restarted in ${startedIn.toFixed(0)} ms; ${status.connected}/${DEVICES} back ${(backMs / 1000).toFixed(1)} s after ready; peak ${peak}/s; ${status.refusals} refusals${status.refusals ? ` (${Object.entries(status.causes).map(([c, n]) => `${c}: ${n}`).join(', ')})` : ''}`);
  const restart = { backMs, peakPerSecond: peak, meanPerSecond: DEVICES / (backMs / 1000), refusals: status.refusals, queued: queuedBurst };
  await fleet.end();
  return { density, storm, restart };
}

// ── the hub ──────────────────────────────────────────────────────────────────────────────────

/** Asks a Node process for a full collection through its inspector (the address it printed). */
async function collectGarbage(output: string): Promise<void> {
  const url = [...output.matchAll(/Debugger listening on (ws:\/\/\S+)/g)].at(-1)?.[1];
  if (!url) throw new Error('the hub printed no inspector address');
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (data) => { if ((JSON.parse(String(data)) as { id?: number }).id === 1) resolve(); });
    ws.once('error', reject);
    ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
  });
  ws.close();
}

async function hubServer(): Promise<{ server: Server; creds: Cred[]; api: HubApi; batches: () => Promise<Batches> }> {
  const dir = tempDir('bench-storm-');
  const password = 'bench-admin-password';
  const mqttPort = await freePort();
  const httpPort = await freePort();
  const env = { DATA_DIR: dir, MQTT_PORT: String(mqttPort), HTTP_PORT: String(httpPort), HOST: '127.0.0.1', HUB_ADMIN_PASSWORD: password, MQTT_MAX_PENDING_PER_ADDRESS: '100000', METRICS_TOKEN: 'bench-metrics-token' };
  // The inspector (on a free port, this machine only) lets the benchmark ask for a full collection
  // in the density step. Not after the restart: the storm needs every file descriptor it can get.
  const start = (inspect: boolean) => spawnHub(env, undefined, { compiled: 'if-built', nodeArgs: inspect ? ['--inspect=127.0.0.1:0'] : [] });
  let hub: HubProcess = await start(true);
  const api = new HubApi(`http://127.0.0.1:${httpPort}`);
  await api.login('admin', password);
  await api.ensureTenant(TENANT, 'Storm');
  const creds: Cred[] = await api.importDevices(TENANT, 'safety_alarm', DEVICES, 'STORM');
  const metrics = async () => (await fetch(`http://127.0.0.1:${httpPort}/metrics`, { headers: { authorization: 'Bearer bench-metrics-token' } })).text();
  const value = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
  const batches = async (): Promise<Batches> => {
    const text = await metrics();
    const buckets = [...text.matchAll(/^hub_commit_batch_size_bucket\{le="([^"]+)"\} (\S+)/gm)].map((m) => ({ le: m[1] as string, n: Number(m[2]) }));
    return { count: value(text, 'hub_commit_batch_size_count'), sum: value(text, 'hub_commit_batch_size_sum'), buckets };
  };
  const heap = async () => {
    const text = await metrics();
    return `heap used ${mb(value(text, 'nodejs_heap_size_used_bytes'))}, external ${mb(value(text, 'nodejs_external_memory_bytes'))}`;
  };
  const server: Server = {
    name: 'hub',
    url: `mqtt://127.0.0.1:${mqttPort}`,
    pid: () => hub.proc.pid as number,
    heap,
    collect: () => collectGarbage(hub.output()),
    kill: () => hub.kill('SIGKILL'),
    async restart() {
      const t = performance.now();
      hub = await start(false);
      return performance.now() - t;
    },
    async stop() {
      await hub.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return { server, creds, api, batches };
}

/** Every device that sent `mains_lost` has its alarm. */
async function alarmsFor(api: HubApi, creds: Cred[], n: number): Promise<number> {
  const ids = new Set<string>();
  for (let offset = 0; ; offset += 500) {
    const page = await api.call<{ deviceId: string; type: string }[]>('GET', `/api/alarms?tenantId=${TENANT}&limit=500&offset=${offset}`);
    for (const a of page) if (a.type === 'mains_lost') ids.add(a.deviceId);
    if (page.length < 500) break;
  }
  return creds.slice(0, n).filter((c) => ids.has(c.id)).length;
}

// ── Mosquitto ────────────────────────────────────────────────────────────────────────────────

async function mosquittoServer(): Promise<Server | null> {
  const m = await startMosquitto(['max_connections -1', 'max_inflight_messages 0', 'max_queued_messages 100000']);
  if (!m) return null;
  // The bare subscriber of the fan-in benchmark: takes every event at QoS 1.
  const sub = await mqtt.connectAsync(m.url, { clientId: 'bare-subscriber', clean: false, reconnectPeriod: 1000 });
  await sub.subscribeAsync('devices/+/events', { qos: 1 });
  return {
    name: 'mosquitto', url: m.url, pid: m.pid, kill: m.kill, restart: m.restart,
    async stop() { await sub.endAsync(true); await m.stop(); },
  };
}

// ── the run ──────────────────────────────────────────────────────────────────────────────────

out(`storm: ${DEVICES} devices, ${CARE} mains_lost at once, then a restart with ${CARE} more held by the devices`);
let mosq: Result | null = null;
if (!values.hubOnly) {
  const m = await mosquittoServer();
  if (!m) out(MOSQUITTO_MISSING);
  else {
    mosq = await run(m, Array.from({ length: DEVICES }, (_, i) => ({ id: `storm-${i}` })));
    await m.stop();
  }
}
const { server, creds, api, batches } = await hubServer();
const hub = await run(server, creds, batches);
const alarms = await alarmsFor(api, creds, 2 * CARE);
await server.stop();

out('');
out(`${'measure'.padEnd(44)} ${'hub'.padStart(16)} ${'mosquitto'.padStart(16)} ${'ratio'.padStart(8)}`);
const line = (what: string, h: number, m: number | undefined, fmt: (v: number) => string) =>
  out(`${what.padEnd(44)} ${fmt(h).padStart(16)} ${(m === undefined ? '–' : fmt(m)).padStart(16)} ${ratio(h, m).padStart(8)}`);
/** No ratio without a reference, or of two zeros (none refused on either side). */
const ratio = (h: number, m: number | undefined) => (m === undefined || (h === 0 && m === 0) ? '–' : `${(h / m).toFixed(2)}×`);
const n0 = (v: number) => v.toFixed(0);
hub.density.forEach((d, i) => {
  line(`memory for ${d.devices} idle connections`, d.bytes, mosq?.density[i]?.bytes, mb);
  line(`connections per GB (${d.devices})`, d.perGb, mosq?.density[i]?.perGb, n0);
});
line(`${CARE} × mains_lost at once: all acked, ms`, hub.storm.ms, mosq?.storm.ms, n0);
line('  PUBACK p50, ms', hub.storm.p50, mosq?.storm.p50, n0);
line('  PUBACK p99, ms', hub.storm.p99, mosq?.storm.p99, n0);
line(`restart: all ${DEVICES} back after ready, s`, hub.restart.backMs / 1000, mosq ? mosq.restart.backMs / 1000 : undefined, (v) => v.toFixed(1));
line('  connections accepted, peak per second', hub.restart.peakPerSecond, mosq?.restart.peakPerSecond, n0);
line('  connections accepted, mean per second', hub.restart.meanPerSecond, mosq?.restart.meanPerSecond, n0);
line('  connection errors seen by devices', hub.restart.refusals, mosq?.restart.refusals, n0);
line(`  ${CARE} mains_lost held while down: acked, ms`, hub.restart.queued.ms, mosq?.restart.queued.ms, n0);
out(`hub: mains_lost alarms present after the restart: ${alarms}/${2 * CARE}`);
process.exit(alarms === 2 * CARE ? 0 : 1);
