/**
 * One contract, two stores: the embedded store and a real InfluxDB (Debian's influxd, started
 * here on a temporary directory and a free port) give the same answers. Then InfluxDB is
 * stopped in the middle of a run and started again, and no point is lost.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../hub/core/topics.ts';
import { EmbeddedTimeSeries, seriesKey } from '../../hub/timeseries/embedded.ts';
import { InfluxTimeSeries } from '../../hub/timeseries/influx.ts';
import type { Point, TimeSeriesStore } from '../../hub/timeseries/types.ts';
import { TimeSeriesWriter } from '../../hub/timeseries/writer.ts';
import { connectDevice, eventually, registerDevice, startTestHub, tempDir } from '../helpers/hub.ts';
import { type Influxd, startInfluxd } from '../helpers/influxd.ts';

const silent = pino({ level: 'silent' });
let influxd: Influxd;
const dirs: string[] = [];
let dbSeq = 0;

beforeAll(async () => { influxd = await startInfluxd(); });
afterAll(async () => {
  await influxd?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dir(): string {
  const d = tempDir('ts-');
  dirs.push(d);
  return d;
}

type Factory = () => { store: TimeSeriesStore; settle: () => Promise<void> };
const stores: Record<string, Factory> = {
  embedded: () => {
    const store = new EmbeddedTimeSeries(dir());
    return { store, settle: async () => {} };
  },
  influxdb: () => {
    const store = new InfluxTimeSeries({ url: influxd.url, database: `contract_${process.pid}_${++dbSeq}`, bufferMaxPoints: 100_000, dataDir: dir(), logger: silent });
    return { store, settle: async () => { expect(await store.drain(10_000)).toBe(0); } };
  },
};

const t0 = Date.UTC(2026, 10, 16, 8, 0, 0);
const at = (minutes: number) => new Date(t0 + minutes * 60_000);

function fixture(): Point[] {
  const points: Point[] = [];
  const kinds = ['safety_alarm', 'door_lock'];
  for (let i = 0; i < 60; i++) {
    points.push({
      measurement: 'device_events',
      tags: { tenant: i % 3 === 0 ? '4601' : '0301', kind: kinds[i % 2]!, type: i % 5 === 0 ? 'button_pressed' : 'heartbeat' },
      fields: { count: (i % 4) + 1 },
      ts: at(i),
    });
    points.push({
      measurement: 'device_telemetry',
      tags: { tenant: '0301', kind: 'gps_tracker', device: `gps-${i % 2}`, type: i % 2 ? 'position' : 'heartbeat' },
      fields: i % 2
        ? { event_id: `p${i}`, lat: 59.9 + i / 1000, lon: 10.7, accuracy: 5 }
        : { event_id: `h${i}`, battery: 100 - i, signal: -60 - (i % 10), firmware: '1.0.0' },
      ts: at(i),
    });
  }
  return points;
}

for (const [name, make] of Object.entries(stores)) {
  describe(`time-series contract: ${name}`, () => {
    let store: TimeSeriesStore;
    beforeAll(async () => {
      const s = make();
      store = s.store;
      await store.write(fixture());
      await s.settle();
    });
    afterAll(async () => { await store.close(); });

    it('sums a field by tags over a time range', async () => {
      const rows = await store.sum({ measurement: 'device_events', field: 'count', from: at(0), to: at(60), groupBy: ['tenant', 'type'] });
      const expected = new Map<string, number>();
      for (const p of fixture().filter((p) => p.measurement === 'device_events')) {
        const k = `${p.tags.tenant}|${p.tags.type}`;
        expected.set(k, (expected.get(k) ?? 0) + Number(p.fields.count));
      }
      expect(rows).toEqual([...expected.entries()].sort().map(([k, v]) => {
        const [tenant, type] = k.split('|');
        return { tags: { tenant, type }, value: v };
      }));
    });

    it('filters by tags and time, end exclusive', async () => {
      const rows = await store.sum({ measurement: 'device_events', field: 'count', from: at(10), to: at(20), tags: { tenant: '0301', kind: 'door_lock' }, groupBy: [] });
      const expected = fixture().filter((p) => p.measurement === 'device_events' && p.tags.tenant === '0301' && p.tags.kind === 'door_lock' && p.ts >= at(10) && p.ts < at(20))
        .reduce((s, p) => s + Number(p.fields.count), 0);
      expect(rows).toEqual([{ tags: {}, value: expected }]);
      expect(await store.sum({ measurement: 'device_events', field: 'count', from: at(1000), to: at(1001), groupBy: ['tenant'] })).toEqual([]);
    });

    it('returns points newest first with their tags and fields, limited', async () => {
      const got = await store.query({ measurement: 'device_telemetry', from: at(0), to: at(100), tags: { device: 'gps-1' }, order: 'desc', limit: 3 });
      expect(got).toEqual([59, 57, 55].map((i) => ({
        measurement: 'device_telemetry',
        tags: { tenant: '0301', kind: 'gps_tracker', device: 'gps-1', type: 'position' },
        fields: { event_id: `p${i}`, lat: 59.9 + i / 1000, lon: 10.7, accuracy: 5 },
        ts: at(i),
      })));
      const asc = await store.query({ measurement: 'device_telemetry', from: at(0), to: at(4), tags: { device: 'gps-0' } });
      expect(asc.map((p) => p.fields.event_id)).toEqual(['h0', 'h2']);
    });

    it('replaces a point written again with the same identity', async () => {
      const p: Point = { measurement: 'device_events', tags: { tenant: '5001', kind: 'door_lock', type: 'forced' }, fields: { count: 1 }, ts: at(500) };
      await store.write([p, p]);
      await store.write([{ ...p, fields: { count: 2 } }]);
      await (store instanceof InfluxTimeSeries ? store.drain(10_000) : Promise.resolve());
      expect(await store.sum({ measurement: 'device_events', field: 'count', from: at(499), to: at(501), groupBy: [] })).toEqual([{ tags: {}, value: 2 }]);
    });
  });
}

describe('the embedded store in its worker', () => {
  it('commits writes handed over together in their order, and a call after them sees them', async () => {
    const store = new EmbeddedTimeSeries(dir());
    try {
      const p: Point = { measurement: 'device_events', tags: { tenant: '5002', kind: 'door_lock', type: 'forced' }, fields: { count: 1 }, ts: at(700) };
      const writes = [store.write([p]), store.write([{ ...p, fields: { count: 5 } }]), store.write([{ ...p, ts: at(701), fields: { count: 7 } }])];
      // Not waiting for the writes: the sum is asked after them, so it sees them.
      const sum = store.sum({ measurement: 'device_events', field: 'count', from: at(699), to: at(702), groupBy: [] });
      await Promise.all(writes);
      expect(await sum).toEqual([{ tags: {}, value: 12 }]);
    } finally {
      await store.close();
    }
  });

  it('moves a file of the earlier layout (one table keyed by text) to the current one, and answers from it', async () => {
    const d = dir();
    const old = new Database(join(d, 'timeseries.db'));
    old.exec(`CREATE TABLE points (measurement TEXT NOT NULL, series TEXT NOT NULL, ts INTEGER NOT NULL, tags TEXT NOT NULL, fields TEXT NOT NULL,
      PRIMARY KEY (measurement, series, ts)) WITHOUT ROWID; CREATE INDEX points_by_time ON points (measurement, ts);`);
    const insert = old.prepare('INSERT INTO points VALUES (?, ?, ?, ?, ?)');
    for (const p of fixture()) insert.run(p.measurement, seriesKey(p.tags), p.ts.getTime(), JSON.stringify(p.tags), JSON.stringify(p.fields));
    old.close();
    const store = new EmbeddedTimeSeries(d);
    const fresh = new EmbeddedTimeSeries(dir());
    try {
      await fresh.write(fixture());
      const ask = (s: TimeSeriesStore) => Promise.all([
        s.sum({ measurement: 'device_events', field: 'count', from: at(0), to: at(60), groupBy: ['tenant', 'type'] }),
        s.query({ measurement: 'device_telemetry', tags: { device: 'gps-1' }, from: at(0), to: at(60), order: 'desc', limit: 5 }),
      ]);
      const [sums, points] = await ask(store);
      expect(points).toHaveLength(5);
      expect([sums, points]).toEqual(await ask(fresh));
      // Written again after the move: the same identity is replaced, not doubled.
      await store.write([{ measurement: 'device_events', tags: { tenant: '4601', kind: 'safety_alarm', type: 'button_pressed' }, fields: { count: 100 }, ts: at(0) }]);
      expect(await store.sum({ measurement: 'device_events', field: 'count', from: at(0), to: at(1), groupBy: [] })).toEqual([{ tags: {}, value: 100 }]);
    } finally {
      await store.close();
      await fresh.close();
    }
  });

  it('after a failed write, gives no series the id of one that was rolled back', async () => {
    const store = new EmbeddedTimeSeries(dir());
    try {
      const point = (device: string, fields: Point['fields']): Point => ({ measurement: 'device_telemetry', tags: { tenant: '5004', kind: 'gps_tracker', device, type: 'heartbeat' }, fields, ts: at(800) });
      // A field no store can hold fails the write after its series was added, in the same transaction.
      await expect(store.write([point('gps-x', { battery: 50 }), point('gps-bad', { battery: 10n as unknown as number })])).rejects.toThrow();
      await store.write([point('gps-y', { battery: 60 })]);
      await store.write([point('gps-x', { battery: 70 })]);
      const all = await store.query({ measurement: 'device_telemetry', tags: { tenant: '5004' }, from: at(799), to: at(801) });
      expect(all.map((p) => [p.tags.device, p.fields.battery]).sort()).toEqual([['gps-x', 70], ['gps-y', 60]]);
    } finally {
      await store.close();
    }
  });

  it('takes a flush of many slices from the writer whole', async () => {
    const store = new EmbeddedTimeSeries(dir());
    const writer = new TimeSeriesWriter(store, silent, { flushIntervalMs: 60_000, maxBatch: 100_000 });
    try {
      for (let i = 0; i < 2_345; i++) {
        writer.addPoint({ measurement: 'device_telemetry', tags: { tenant: '5003', kind: 'safety_alarm', device: `sa-${i % 7}`, type: 'heartbeat' }, fields: { battery: 50 + (i % 50) }, ts: new Date(t0 + i) });
      }
      await writer.flush();
      const points = await store.query({ measurement: 'device_telemetry', tags: { tenant: '5003' }, from: new Date(t0), to: new Date(t0 + 10_000) });
      expect(points).toHaveLength(2_345);
      expect(points.at(-1)).toMatchObject({ tags: { device: `sa-${2_344 % 7}` }, fields: { battery: 50 + (2_344 % 50) } });
    } finally {
      await writer.close();
      await store.close();
    }
  });
});

/**
 * Each step of the outage tests under its own bound, so a step that hangs fails with its name
 * (a test's timeout alone says only that something, somewhere, did not finish).
 */
async function step<T>(name: string, ms: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`step "${name}" did not finish within ${ms} ms`)), ms); });
  try {
    return await Promise.race([fn(), late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('InfluxDB outage', () => {
  it('buffers on disk while InfluxDB is down and loses no point when it is back', async () => {
    const bufferDir = dir();
    const store = new InfluxTimeSeries({ url: influxd.url, database: `outage_${process.pid}`, bufferMaxPoints: 100_000, dataDir: bufferDir, logger: silent, maxRetryMs: 300 });
    const writer = new TimeSeriesWriter(store, silent, { flushIntervalMs: 50 });
    const total = 3000;
    const point = (i: number): Point => ({
      measurement: 'device_telemetry', tags: { tenant: '0301', kind: 'safety_alarm', device: `sa-${i % 50}`, type: 'heartbeat' },
      fields: { event_id: `e${i}`, battery: i % 101, signal: -70, firmware: '1' }, ts: at(i),
    });
    for (let i = 0; i < 1000; i++) writer.addPoint(point(i));
    await step('first flush', 20_000, () => writer.flush());
    await step('influxd stop', 20_000, () => influxd.stop());
    for (let i = 1000; i < 2000; i++) writer.addPoint(point(i));
    await step('flush while down', 20_000, () => writer.flush());
    await new Promise((r) => setTimeout(r, 500));
    expect(store.pending()).toBeGreaterThan(0);
    await step('close while down', 20_000, () => store.close());

    // The process restarts while InfluxDB is still down: the buffer is on disk.
    const store2 = new InfluxTimeSeries({ url: influxd.url, database: `outage_${process.pid}`, bufferMaxPoints: 100_000, dataDir: bufferDir, logger: silent, maxRetryMs: 300 });
    expect(store2.pending()).toBeGreaterThanOrEqual(1000);
    const writer2 = new TimeSeriesWriter(store2, silent, { flushIntervalMs: 50 });
    for (let i = 2000; i < total; i++) writer2.addPoint(point(i));
    await step('flush after restart', 20_000, () => writer2.flush());
    await step('influxd start', 45_000, () => influxd.start());
    expect(await step('drain', 35_000, () => store2.drain(30_000))).toBe(0);
    const all = await step('query', 20_000, () => store2.query({ measurement: 'device_telemetry', from: at(0), to: at(total) }));
    expect(all).toHaveLength(total);
    expect(new Set(all.map((p) => p.fields.event_id)).size).toBe(total);
    await step('close', 20_000, async () => { await writer2.close(); await store2.close(); });
  }, 240_000); // stops and starts a real server twice; each step has its own bound above

  it('drops only beyond its bound, and says so', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => { lines.push(s); } });
    await influxd.stop();
    const store = new InfluxTimeSeries({ url: influxd.url, database: `bound_${process.pid}`, bufferMaxPoints: 1000, dataDir: dir(), logger, maxRetryMs: 300 });
    const pts = (from: number, n: number): Point[] => Array.from({ length: n }, (_, k) => ({
      measurement: 'device_events', tags: { tenant: '0301', kind: 'door_lock', type: 'opened' }, fields: { count: 1 }, ts: at(from + k),
    }));
    await store.write(pts(0, 800));
    await store.write(pts(800, 800));
    expect(store.pending()).toBe(1000);
    expect(lines.some((l) => l.includes('buffer for InfluxDB is full') && l.includes('"bound":1000'))).toBe(true);
    await influxd.start();
    expect(await store.drain(30_000)).toBe(0);
    expect(await store.sum({ measurement: 'device_events', field: 'count', from: at(0), to: at(2000), groupBy: [] })).toEqual([{ tags: {}, value: 1000 }]);
    await store.close();
  }, 120_000);
});

describe('the hub with INFLUX_URL', () => {
  it('writes device telemetry and event counts to InfluxDB', async () => {
    const database = `hub_${process.pid}`;
    const t = await startTestHub({ influx: { url: influxd.url, database, bufferMaxPoints: 100_000 } });
    try {
      const dev = await registerDevice(t.api, 'safety_alarm');
      const client = await connectDevice(t.mqttUrl, dev);
      const ts = new Date().toISOString();
      await client.publishAsync(topics.events(dev.id), JSON.stringify({ id: 'hb-1', ts, type: 'heartbeat', battery: 64, signal: -77, firmware: '9.9' }), { qos: 1 });
      await client.publishAsync(topics.events(dev.id), JSON.stringify({ id: 'bp-1', ts, type: 'button_pressed' }), { qos: 1 });
      await client.endAsync();
      await t.hub.ctx.series.flush();
      expect((await t.api('GET', '/api/health')).body.timeseries.store).toBe('influxdb');
      const q = encodeURIComponent(`SELECT * FROM device_telemetry WHERE device = '${dev.id}'`);
      const res = await eventually(async () => {
        const r = (await (await fetch(`${influxd.url}/query?db=${database}&q=${q}`)).json()) as any;
        return r.results[0].series ? r : null;
      }, 'telemetry in InfluxDB');
      const s = res.results[0].series[0];
      const row = Object.fromEntries(s.columns.map((c: string, i: number) => [c, s.values[0][i]]));
      expect(row).toMatchObject({ battery: 64, signal: -77, firmware: '9.9', event_id: 'hb-1', tenant: '0301', kind: 'safety_alarm', type: 'heartbeat' });
      const counts = await t.hub.ctx.timeseries.sum({ measurement: 'device_events', field: 'count', from: new Date(Date.now() - 60_000), to: new Date(Date.now() + 60_000), tags: { tenant: '0301' }, groupBy: ['type'] });
      expect(counts).toEqual([{ tags: { type: 'button_pressed' }, value: 1 }, { tags: { type: 'heartbeat' }, value: 1 }]);
      const events = (await t.api('GET', `/api/devices/${dev.id}/events`)).body.map((r: { event: { id: string } }) => r.event.id).sort();
      expect(events).toEqual(['bp-1', 'hb-1']);
    } finally {
      await t.close();
    }
  });
});
