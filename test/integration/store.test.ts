/** The operational store's group commit and the device state held between writes, on a real SQLite file. */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_FLEET_POLICY } from '../../hub/core/fleet.ts';
import { openDatabase } from '../../hub/store/db.ts';
import { DeviceStore } from '../../hub/store/devices.ts';
import { TenantStore } from '../../hub/store/tenants.ts';
import { GroupCommitWriter } from '../../hub/store/writer.ts';
import { PossibleIds } from '../../hub/store/possible-ids.ts';
import { tempDir } from '../helpers/hub.ts';

const dir = tempDir('store-');
const db = openDatabase(dir);
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('group commit', () => {
  it('commits a burst in one transaction; a failing write fails alone and leaves nothing behind', async () => {
    db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
    const writer = new GroupCommitWriter(db);
    const insert = db.prepare('INSERT INTO t (k) VALUES (?)');
    const results = await Promise.allSettled([
      writer.run(() => insert.run('a').changes),
      writer.run(() => { insert.run('b'); throw new Error('boom'); }),
      writer.run(() => insert.run('a').changes), // primary key taken
      writer.run(() => insert.run('c').changes),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('boom');
    expect((db.prepare('SELECT k FROM t ORDER BY k').all() as { k: string }[]).map((r) => r.k)).toEqual(['a', 'c']);
  });

  it('resolves only after the commit, and gathers writes for its window', async () => {
    db.exec('CREATE TABLE w (k INTEGER)');
    const writer = new GroupCommitWriter(db, 100);
    const start = Date.now();
    const seen: number[] = [];
    const done = Promise.all([1, 2, 3].map((k) => writer.run(() => db.prepare('INSERT INTO w (k) VALUES (?)').run(k)).then(() => {
      seen.push((db.prepare('SELECT count(*) AS n FROM w').get() as { n: number }).n);
    })));
    expect((db.prepare('SELECT count(*) AS n FROM w').get() as { n: number }).n).toBe(0);
    await done;
    expect(Date.now() - start).toBeGreaterThanOrEqual(90);
    expect(seen).toEqual([3, 3, 3]);
  });

  it('syncs a batch to disk unless every write in it may wait; the connection is back to FULL after', async () => {
    db.exec('CREATE TABLE s (k INTEGER)');
    const writer = new GroupCommitWriter(db);
    const mode = () => db.pragma('synchronous', { simple: true }) as number; // 1 NORMAL, 2 FULL
    const during: number[] = [];
    const seenBy = (k: number, durable: boolean) => writer.run(() => { db.prepare('INSERT INTO s (k) VALUES (?)').run(k); during.push(mode()); }, { durable });
    await Promise.all([seenBy(1, false), seenBy(2, false)]);
    await Promise.all([seenBy(3, false), seenBy(4, true)]);
    await seenBy(5, true);
    expect(during).toEqual([1, 1, 2, 2, 2]);
    expect(mode()).toBe(2);
    expect((db.prepare('SELECT count(*) AS n FROM s').get() as { n: number }).n).toBe(5);
  });

  it('runs a write without a savepoint of its own only when asked: then what it wrote before it threw stays', async () => {
    db.exec('CREATE TABLE p (k TEXT)');
    const writer = new GroupCommitWriter(db);
    const failing = (k: string, savepoint: boolean) => writer.run(() => { db.prepare('INSERT INTO p (k) VALUES (?)').run(k); throw new Error(k); }, { savepoint });
    const results = await Promise.allSettled([failing('kept', false), failing('rolled-back', true)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(db.prepare('SELECT k FROM p').pluck().all()).toEqual(['kept']);
  });
});

describe('device state from telemetry', () => {
  const t0 = new Date('2026-03-01T10:00:00.000Z');
  const at = (s: number) => new Date(t0.getTime() + s * 1000);
  let clock = t0;
  const devices = new DeviceStore(db, { clockSkewSeconds: 120, fleet: DEFAULT_FLEET_POLICY, now: () => clock });
  new TenantStore(db).create({ id: '0301', name: 'Telemetri' }, t0);
  const make = (serial: string) => (devices.create({ tenantId: '0301', kind: 'gps_tracker', serial, heartbeatIntervalSeconds: 60 }, t0) as { device: { id: string } }).device.id;
  type Raw = { last_seen_at: string | null; accepted_count: number; battery: number | null; signal: number | null; lat: number | null; clock_skew_s: number | null };
  const raw = (id: string) => db.prepare('SELECT last_seen_at, accepted_count, battery, signal, lat, clock_skew_s FROM devices WHERE id = ?').get(id) as Raw;
  const hb = (s: number, battery: number, skew = 0) => ({ id: `hb-${s}`, type: 'heartbeat' as const, ts: at(s + skew).toISOString(), battery, signal: -70, firmware: '1.0' });
  const pos = (s: number, lat: number, deviceTs = at(s)) => ({ id: `p-${s}`, type: 'position' as const, ts: deviceTs.toISOString(), lat, lon: 10.7, accuracy: 8 });

  it('holds heartbeats and positions in memory and writes one update per device', () => {
    const a = make('TEL-A');
    const b = make('TEL-B');
    devices.noteTelemetry(a, at(1), hb(1, 90));
    devices.noteTelemetry(a, at(2), hb(2, 80, 30));
    devices.noteTelemetry(a, at(3), pos(3, 59.9));
    // A fix dated by a device clock years ahead is kept, but the hub's time decides which is newest.
    devices.noteTelemetry(a, at(4), pos(4, 60.1, new Date('2031-01-01T00:00:00Z')));
    devices.noteTelemetry(b, at(5), hb(5, 70));
    expect(devices.pendingTelemetry()).toBe(2);
    expect(raw(a)).toMatchObject({ last_seen_at: null, accepted_count: 0, battery: null });
    expect(devices.writeTelemetry()).toBe(2);
    expect(devices.pendingTelemetry()).toBe(0);
    expect(raw(a)).toEqual({ last_seen_at: at(4).toISOString(), accepted_count: 4, battery: 80, signal: -70, lat: 60.1, clock_skew_s: expect.any(Number) });
    expect(raw(b)).toMatchObject({ last_seen_at: at(5).toISOString(), accepted_count: 1, battery: 70 });
    // Nothing held: nothing to write.
    expect(devices.writeTelemetry()).toBe(0);
  });

  it('is what every read sees, at once; a silent device that spoke is no longer a candidate', () => {
    const c = make('TEL-C');
    clock = at(3600);
    expect(devices.silentCandidates(clock, 2).map((x) => x.id)).toContain(c);
    devices.noteTelemetry(c, at(3599), hb(3599, 55));
    expect(devices.silentCandidates(clock, 2).map((x) => x.id)).not.toContain(c);
    devices.noteTelemetry(c, at(3600), hb(3600, 54));
    expect(devices.get(c)).toMatchObject({ lastSeenAt: at(3600).toISOString(), battery: 54, acceptedCount: 2 });
    devices.noteTelemetry(c, at(3601), hb(3601, 53));
    expect(devices.list(['0301']).find((d) => d.id === c)).toMatchObject({ battery: 53, acceptedCount: 3 });
    expect(devices.pendingTelemetry()).toBe(0);
    // Those reads committed the held state without waiting for the disk; every other write on
    // the connection is synced as before.
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('is written before a later care event of the same device, which therefore has the last word', () => {
    const d = make('TEL-D');
    devices.noteTelemetry(d, at(10), hb(10, 60));
    // battery_low after the heartbeat: its value stands, and the heartbeat still counts.
    devices.markEvent(d, at(11), at(11).toISOString());
    devices.setBattery(d, 9);
    expect(raw(d)).toMatchObject({ battery: 9, accepted_count: 2, last_seen_at: at(11).toISOString() });
    expect(devices.pendingTelemetry()).toBe(0);
  });

  it('gives the rules what they read last, and never what a rolled-back write left behind', async () => {
    const f = make('TEL-F');
    const writer = new GroupCommitWriter(db, 0, { storeOk: () => {}, storeFailed: () => {}, rolledBack: () => devices.dropRuleStates() });
    expect(devices.ruleState(f).memory.lowSignalStreak).toBe(0);
    await writer.run(() => devices.setMemory(f, { outsideSince: null, lowSignalStreak: 2 }));
    expect(devices.ruleState(f).memory.lowSignalStreak).toBe(2);
    // Written, read inside the same write (as the alarm code does), then rolled back.
    await expect(writer.run(() => {
      devices.setMemory(f, { outsideSince: null, lowSignalStreak: 3 });
      expect(devices.ruleState(f).memory.lowSignalStreak).toBe(3);
      throw new Error('a rule failed');
    })).rejects.toThrow('a rule failed');
    expect(devices.ruleState(f).memory.lowSignalStreak).toBe(2);
    await writer.run(() => devices.setMaintenance(f, at(7200)));
    expect(devices.ruleState(f).maintenanceUntil).toBe(at(7200).toISOString());
    devices.erasePositions(f);
    expect(devices.ruleState(f).memory).toEqual({ outsideSince: null, lowSignalStreak: 0 });
    // What the rules get cannot be changed behind the store's back.
    expect(() => { (devices.ruleState(f).memory as { lowSignalStreak: number }).lowSignalStreak = 9; }).toThrow(TypeError);
  });

  it('writes the devices held longest first when asked for a slice, and the rest later', () => {
    const ids = ['TEL-S1', 'TEL-S2', 'TEL-S3', 'TEL-S4', 'TEL-S5'].map(make);
    ids.forEach((id, i) => devices.noteTelemetry(id, at(30 + i), hb(30 + i, 50 + i)));
    // Noted again: it keeps its place in the queue, with the newer state.
    devices.noteTelemetry(ids[0] as string, at(40), hb(40, 20));
    expect(devices.writeTelemetry(2)).toBe(2);
    expect(devices.pendingTelemetry()).toBe(3);
    expect(ids.map((id) => raw(id).accepted_count)).toEqual([2, 1, 0, 0, 0]);
    expect(raw(ids[0] as string)).toMatchObject({ battery: 20, last_seen_at: at(40).toISOString() });
    expect(devices.writeTelemetry(2)).toBe(2);
    expect(devices.writeTelemetry(2)).toBe(1);
    expect(devices.writeTelemetry(2)).toBe(0);
    expect(ids.map((id) => raw(id).battery)).toEqual([20, 51, 52, 53, 54]);
  });

  it('is not written for the silence check: a device that spoke since is left out, one silent even so is written first', () => {
    const [quiet, spoke] = ['TEL-Q1', 'TEL-Q2'].map(make) as [string, string];
    clock = at(7200);
    devices.noteTelemetry(quiet, at(100), hb(100, 61));
    devices.noteTelemetry(spoke, at(7190), hb(7190, 62));
    const candidates = devices.silentCandidates(clock, 2).filter((c) => c.id === quiet || c.id === spoke);
    // The database has neither ever seen; held, one spoke 10 s ago, the other two hours ago.
    expect(candidates).toEqual([expect.objectContaining({ id: quiet, lastSeenAt: at(100).toISOString() })]);
    expect(raw(quiet)).toMatchObject({ last_seen_at: at(100).toISOString(), battery: 61 });
    expect(raw(spoke)).toMatchObject({ last_seen_at: null, battery: null });
    expect(devices.pendingTelemetry()).toBe(1);
    expect(devices.writeTelemetry()).toBe(1);
  });

  it('keeps what it could not write, for the next write', () => {
    const e = make('TEL-E');
    devices.noteTelemetry(e, at(20), hb(20, 42));
    db.exec("CREATE TRIGGER no_battery BEFORE UPDATE OF battery ON devices BEGIN SELECT RAISE(ABORT, 'disk says no'); END");
    try {
      expect(() => devices.writeTelemetry()).toThrow('disk says no');
      expect(devices.pendingTelemetry()).toBe(1);
    } finally {
      db.exec('DROP TRIGGER no_battery');
    }
    expect(devices.writeTelemetry()).toBe(1);
    expect(raw(e)).toMatchObject({ battery: 42, accepted_count: 1 });
  });
});

describe('ids that may have a row', () => {
  it('answers no only when certain: written ids count at once, and the table is read whole again only outside a transaction', () => {
    db.exec("CREATE TABLE open_things (device_id TEXT, open INTEGER)");
    db.prepare('INSERT INTO open_things VALUES (?, 1)').run('dev-a');
    const ids = new PossibleIds(db, () => db.prepare('SELECT DISTINCT device_id FROM open_things WHERE open = 1').pluck().all() as string[]);
    expect([ids.has('dev-a'), ids.has('dev-b')]).toEqual([true, false]);
    // A write in a transaction that is rolled back: still "maybe" (the table answers), never a wrong "no".
    expect(() => db.transaction(() => {
      ids.add('dev-b');
      db.prepare('INSERT INTO open_things VALUES (?, 1)').run('dev-b');
      db.prepare("UPDATE open_things SET open = 0 WHERE device_id = 'dev-a'").run();
      // Inside the transaction it would see the closing of dev-a, which the rollback takes back.
      expect(ids.refresh()).toBe(false);
      throw new Error('rolled back');
    })()).toThrow('rolled back');
    expect([ids.has('dev-a'), ids.has('dev-b')]).toEqual([true, true]);
    // Outside: what is committed. dev-b's row never was.
    expect(ids.refresh()).toBe(true);
    expect([ids.has('dev-a'), ids.has('dev-b')]).toEqual([true, false]);
    db.prepare("UPDATE open_things SET open = 0 WHERE device_id = 'dev-a'").run();
    expect(ids.refresh()).toBe(true);
    expect(ids.size).toBe(0);
  });
});
