/**
 * When the operational store fails, the hub says so and does not acknowledge what it could not
 * store: the store full, its lock held by another process, its file damaged.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../hub/core/topics.ts';
import { openDatabase, StoreDamagedError } from '../../hub/store/db.ts';
import { eventually, nextEventId, registerDevice, startTestHub, tempDir, type TestHub } from '../helpers/hub.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let t: TestHub;
beforeAll(async () => { t = await startTestHub(); });
afterAll(async () => { await t.close(); });

const health = async () => t.api('GET', '/api/health', undefined, null);
const ready = async () => t.api('GET', '/api/ready', undefined, null);

describe('health', () => {
  it('is ok with its reasons empty when all is well', async () => {
    const h = await health();
    expect(h.status).toBe(200);
    expect(h.body.status).toBe('ok');
    expect(h.body.reasons).toEqual([]);
    expect((await ready()).body).toEqual({ ready: true, reasons: [] });
  });

  it('says failing while the store is full: care events are not acknowledged; and recovers', async () => {
    const dev = await registerDevice(t.api, 'safety_alarm');
    const db = t.hub.ctx.db;
    const pages = db.pragma('page_count', { simple: true }) as number;
    // The database may not grow: the next write that needs a page fails with SQLITE_FULL.
    db.pragma(`max_page_count = ${pages}`);
    const client = mqtt.connect(t.mqttUrl, { clientId: dev.id, username: dev.id, password: dev.password, reconnectPeriod: 200 });
    try {
      await new Promise((r) => client.once('connect', r));
      let acked = false;
      // Enough care events to need new pages; none is acknowledged while the store is full.
      const sends = Array.from({ length: 200 }, (_, i) => client.publishAsync(topics.events(dev.id), JSON.stringify({
        id: `full-${i}`, ts: new Date().toISOString(), type: 'radio_link_lost', accessory: 'x'.repeat(60),
      }), { qos: 1 }));
      const all = Promise.all(sends).then(() => { acked = true; });
      await eventually(async () => (await health()).body.status === 'failing', 'health failing');
      const h = await health();
      expect(h.status).toBe(503);
      expect(h.body.reasons.join(' ')).toMatch(/SQLITE_FULL/);
      expect((await ready()).status).toBe(503);
      expect(acked).toBe(false);

      db.pragma('max_page_count = 1073741823');
      await all; // the device resends, and now every event is stored and acknowledged
      const stored = db.prepare("SELECT count(*) AS n FROM events WHERE device_id = ? AND event_id LIKE 'full-%'").get(dev.id) as { n: number };
      expect(stored.n).toBe(200);
      // Failing while failures are fresh, then degraded: it wrote again, and failed not long ago.
      const after = await eventually(async () => { const b = (await health()).body; return b.status === 'degraded' && b; }, 'health degraded, writing again', 40_000);
      expect(after.reasons.join(' ')).toMatch(/failed in the last 5 minutes/);
      expect((await ready()).status).toBe(200);
    } finally {
      db.pragma('max_page_count = 1073741823');
      client.end(true);
    }
  });

  it('fails fast while another process holds the store\'s lock: no PUBACK, reads still answer, health failing; then recovers', async () => {
    const dev = await registerDevice(t.api, 'safety_alarm');
    const holder = holdLock(join(t.dataDir, 'hub.db'));
    try {
      await holder.locked;
      const client = mqtt.connect(t.mqttUrl, { clientId: dev.id, username: dev.id, password: dev.password, reconnectPeriod: 200 });
      await new Promise((r) => client.once('connect', r));
      const id = nextEventId();
      let acked = false;
      const sent = client.publishAsync(topics.events(dev.id), JSON.stringify({ id, ts: new Date().toISOString(), type: 'button_pressed' }), { qos: 1 })
        .then(() => { acked = true; });
      await eventually(async () => (await health()).body.status === 'failing', 'health failing while locked');
      expect((await health()).body.reasons.join(' ')).toMatch(/SQLITE_BUSY|locked/);
      // A write gives up after a few milliseconds (better-sqlite3 waits synchronously: a long wait
      // would freeze MQTT and HTTP with it). Personal data whose reading cannot be logged is not
      // shown; what needs no log still answers.
      expect((await t.api('GET', `/api/devices/${dev.id}`)).status).toBe(500);
      expect((await t.api('GET', '/api/dashboard-config', undefined, null)).status).toBe(200);
      expect(t.hub.ctx.db.pragma('busy_timeout', { simple: true })).toBeLessThanOrEqual(50);
      expect(acked).toBe(false);
      holder.release();
      await sent;
      expect((await t.api('GET', `/api/devices/${dev.id}/events`)).body.map((e: { event: { id: string } }) => e.event.id)).toEqual([id]);
      await eventually(async () => (await health()).body.status !== 'failing', 'health recovers');
      client.end(true);
    } finally {
      holder.release();
    }
  });
});

describe('a damaged store', () => {
  const dirs: string[] = [];
  afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

  async function damagedStore(): Promise<string> {
    const dataDir = tempDir('hub-damaged-');
    dirs.push(dataDir);
    const h = await startTestHub({ dataDir });
    for (let i = 0; i < 20; i++) await registerDevice(h.api, 'door_lock');
    await h.close({ keepData: true });
    // Scribble over the pages after the first (the header stays readable).
    const file = join(dataDir, 'hub.db');
    const size = statSync(file).size;
    const fd = openSync(file, 'r+');
    const page = Buffer.alloc(4);
    readSync(fd, page, 0, 2, 16);
    const pageSize = page.readUInt16BE(0) || 4096;
    for (let off = pageSize; off < size; off += pageSize) writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, off);
    closeSync(fd);
    return dataDir;
  }

  it('is refused at open with a message that says what to do', async () => {
    const dataDir = await damagedStore();
    expect(() => openDatabase(dataDir)).toThrow(StoreDamagedError);
    expect(() => openDatabase(dataDir)).toThrow(/damaged.*backup/s);
  });

  it('stops `npm start` with that message and a non-zero exit', async () => {
    const dataDir = await damagedStore();
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'hub/main.ts'], {
      cwd: ROOT, encoding: 'utf8', timeout: 30_000,
      env: { ...process.env, DATA_DIR: dataDir, MQTT_PORT: '0', HTTP_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' },
    });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('did not start');
    expect(r.stderr).toContain('damaged');
  });
});

/** Another process that opens the database and holds its write lock until released. */
function holdLock(file: string): { locked: Promise<void>; release(): void } {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked\\n');
    process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.exit(0); });
  `;
  const child: ChildProcess = spawn(process.execPath, ['-e', script, file], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const locked = new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
  });
  let released = false;
  return {
    locked,
    release() {
      if (released) return;
      released = true;
      child.stdin?.write('go\n');
    },
  };
}
