/**
 * The embedded time-series store: SQLite in its own file, so `npm start` needs no other server.
 * Same semantics as InfluxDB for what the hub uses: identity = measurement + tags + time (ms),
 * a second write of the same identity replaces the first.
 *
 * The file lives in a worker thread of its own (`EmbeddedTimeSeries` talks to it by messages):
 * SQLite is synchronous, and a second of telemetry from thousands of devices written on the main
 * thread held alarms on their way to operators for tens of milliseconds.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BucketSumQuery, BucketSumRow, Point, PointQuery, SumQuery, SumRow, Tags, TimeSeriesStore } from './types.ts';

const TAG_KEY = /^[a-z_][a-z0-9_]*$/;

export function seriesKey(tags: Tags): string {
  return Object.keys(tags).sort().map((k) => `${k}=${tags[k]}`).join(',');
}

/** What the hub asks of the worker: the calls of the file below. */
export type Method = 'write' | 'query' | 'sum' | 'sumBuckets' | 'deletePoints' | 'close';

/**
 * The production build has the compiled worker beside this file. The sources (`npm start`, the
 * tests) load its TypeScript through tsx, a development dependency.
 */
function startWorker(dataDir: string): Worker {
  const entry = import.meta.url.endsWith('.ts') ? './embedded-worker-dev.mjs' : './embedded-worker.js';
  return new Worker(new URL(entry, import.meta.url), { workerData: { dataDir } });
}

/** The store as the hub sees it: each call goes to the worker that holds the file. */
export class EmbeddedTimeSeries implements TimeSeriesStore {
  readonly name = 'embedded';
  private readonly worker: Worker;
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private seq = 0;
  private failed: Error | null = null;

  constructor(dataDir: string) {
    this.worker = startWorker(dataDir);
    this.worker.unref();
    this.worker.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const call = this.calls.get(m.id);
      this.calls.delete(m.id);
      if (m.error !== undefined) call?.reject(new Error(m.error));
      else call?.resolve(m.result);
    });
    const fail = (err: Error) => {
      this.failed = err;
      for (const c of this.calls.values()) c.reject(err);
      this.calls.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => { if (code !== 0) fail(new Error(`the time-series worker stopped (exit ${code})`)); });
  }

  private call<T>(method: Method, ...args: unknown[]): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, method, args });
    });
  }

  write(points: Point[]): Promise<void> { return this.call('write', points); }
  query(q: PointQuery): Promise<Point[]> { return this.call('query', q); }
  sum(q: SumQuery): Promise<SumRow[]> { return this.call('sum', q); }
  sumBuckets(q: BucketSumQuery): Promise<BucketSumRow[]> { return this.call('sumBuckets', q); }
  deletePoints(q: { measurement: string; tags: Tags; before?: Date }): Promise<void> { return this.call('deletePoints', q); }

  pending(): number {
    return 0;
  }

  async close(): Promise<void> {
    if (!this.failed) await this.call('close');
    await this.worker.terminate();
  }
}

/** The SQLite file itself, in the worker (embedded-worker.ts). */
export class EmbeddedSeriesFile {
  private readonly db: Database.Database;
  private readonly insert;
  private readonly s;
  /** Ids of measurements and series, as in the file (cleared when a write is rolled back). */
  private measurementIds = new Map<string, number>();
  private seriesIds = new Map<string, number>();

  /**
   * A point is a row of small integers and its fields: its measurement and series (the tag set)
   * are ids of their own tables. Rows are appended in the order written; the unique (series, ts)
   * keeps the identity (a second write replaces the first) and finds a device's points, the
   * (measurement, ts) index a time range of a measurement. A row keyed by its text (measurement,
   * tags) cost twice as much to write.
   */
  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, 'timeseries.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS measurements (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
      CREATE TABLE IF NOT EXISTS series (
        id INTEGER PRIMARY KEY,
        measurement INTEGER NOT NULL,
        key TEXT NOT NULL,
        tags TEXT NOT NULL,
        UNIQUE (measurement, key)
      );
      CREATE TABLE IF NOT EXISTS samples (
        measurement INTEGER NOT NULL,
        series INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        fields TEXT NOT NULL,
        UNIQUE (series, ts)
      );
      CREATE INDEX IF NOT EXISTS samples_by_time ON samples (measurement, ts);
    `);
    this.s = {
      measurement: this.db.prepare('SELECT id FROM measurements WHERE name = ?').pluck(),
      addMeasurement: this.db.prepare('INSERT INTO measurements (name) VALUES (?)'),
      series: this.db.prepare('SELECT id FROM series WHERE measurement = ? AND key = ?').pluck(),
      addSeries: this.db.prepare('INSERT INTO series (measurement, key, tags) VALUES (?, ?, ?)'),
      sample: this.db.prepare('INSERT OR REPLACE INTO samples (measurement, series, ts, fields) VALUES (?, ?, ?, ?)'),
    };
    this.migrate();
    this.insert = this.db.transaction((batches: Point[][]) => {
      for (const points of batches) {
        for (const p of points) {
          const m = this.measurementId(p.measurement, true) as number;
          this.s.sample.run(m, this.seriesId(m, p.tags), p.ts.getTime(), JSON.stringify(p.fields));
        }
      }
    });
  }

  /** A file of the earlier layout (one table keyed by text) is moved to this one, once. */
  private migrate(): void {
    if (!this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'points'").get()) return;
    this.db.transaction(() => {
      this.db.exec(`
        INSERT OR IGNORE INTO measurements (name) SELECT DISTINCT measurement FROM points;
        INSERT OR IGNORE INTO series (measurement, key, tags)
          SELECT m.id, p.series, min(p.tags) FROM points p JOIN measurements m ON m.name = p.measurement GROUP BY m.id, p.series;
        INSERT OR REPLACE INTO samples (measurement, series, ts, fields)
          SELECT m.id, s.id, p.ts, p.fields FROM points p JOIN measurements m ON m.name = p.measurement JOIN series s ON s.measurement = m.id AND s.key = p.series
          ORDER BY p.ts;
        DROP TABLE points;
      `);
    })();
  }

  private measurementId(name: string, create: boolean): number | undefined {
    let id = this.measurementIds.get(name);
    if (id === undefined) {
      id = this.s.measurement.get(name) as number | undefined;
      if (id === undefined) {
        if (!create) return undefined;
        id = Number(this.s.addMeasurement.run(name).lastInsertRowid);
      }
      this.measurementIds.set(name, id);
    }
    return id;
  }

  private seriesId(measurement: number, tags: Tags): number {
    const key = seriesKey(tags);
    const cacheKey = `${measurement}\0${key}`;
    let id = this.seriesIds.get(cacheKey);
    if (id === undefined) {
      id = (this.s.series.get(measurement, key) as number | undefined) ?? Number(this.s.addSeries.run(measurement, key, JSON.stringify(tags)).lastInsertRowid);
      this.seriesIds.set(cacheKey, id);
    }
    return id;
  }

  async write(points: Point[]): Promise<void> {
    this.writeMany([points]);
  }

  /**
   * Several writes in one transaction. Each commit writes every page it touched to the log, and
   * a slice of telemetry touches a page per device: committing a second's slices together
   * writes each page once instead of once per slice.
   */
  writeMany(batches: Point[][]): void {
    try {
      this.insert(batches);
    } catch (err) {
      // Ids handed out in the rolled-back transaction are not in the file.
      this.measurementIds = new Map();
      this.seriesIds = new Map();
      throw err;
    }
  }

  /**
   * The rows of a measurement in a time range, with their series' tags; null when the
   * measurement has never been written. Tag filters apply to the series.
   */
  private where(q: { measurement: string; from: Date; to: Date; tags?: Tags | undefined }): { sql: string; args: unknown[] } | null {
    const m = this.measurementId(q.measurement, false);
    if (m === undefined) return null;
    let sql = 'p.measurement = ? AND p.ts >= ? AND p.ts < ?';
    const args: unknown[] = [m, q.from.getTime(), q.to.getTime()];
    for (const [k, v] of Object.entries(q.tags ?? {})) {
      if (!TAG_KEY.test(k)) throw new Error(`invalid tag key: ${k}`);
      sql += ` AND json_extract(s.tags, '$.${k}') = ?`;
      args.push(v);
    }
    return { sql, args };
  }

  async query(q: PointQuery): Promise<Point[]> {
    const w = this.where(q);
    if (!w) return [];
    const order = q.order === 'desc' ? 'DESC' : 'ASC';
    const limit = q.limit ? ` LIMIT ${Math.floor(q.limit)}` : '';
    const rows = this.db.prepare(`SELECT p.ts, s.tags, p.fields FROM samples p JOIN series s ON s.id = p.series WHERE ${w.sql} ORDER BY p.ts ${order}${limit}`)
      .all(...w.args) as { ts: number; tags: string; fields: string }[];
    return rows.map((r) => ({ measurement: q.measurement, ts: new Date(r.ts), tags: JSON.parse(r.tags), fields: JSON.parse(r.fields) }));
  }

  async sum(q: SumQuery): Promise<SumRow[]> {
    for (const k of [...q.groupBy, q.field]) if (!TAG_KEY.test(k)) throw new Error(`invalid key: ${k}`);
    const w = this.where(q);
    if (!w) return [];
    const groups = q.groupBy.map((k) => `json_extract(s.tags, '$.${k}') AS "${k}"`);
    const select = [...groups, `total(json_extract(p.fields, '$.${q.field}')) AS value`].join(', ');
    const keys = q.groupBy.map((k) => `"${k}"`).join(', ');
    const grouping = q.groupBy.length ? ` GROUP BY ${keys} HAVING count(*) > 0 ORDER BY ${keys}` : ' HAVING count(*) > 0';
    const rows = this.db.prepare(`SELECT ${select} FROM samples p JOIN series s ON s.id = p.series WHERE ${w.sql} AND json_extract(p.fields, '$.${q.field}') IS NOT NULL${grouping}`)
      .all(...w.args) as Record<string, string | number>[];
    return rows.map((r) => ({ tags: Object.fromEntries(q.groupBy.map((k) => [k, String(r[k])])), value: Number(r.value) }));
  }

  async sumBuckets(q: BucketSumQuery): Promise<BucketSumRow[]> {
    for (const k of [...q.groupBy, q.field]) if (!TAG_KEY.test(k)) throw new Error(`invalid key: ${k}`);
    if (q.edges.length < 2) return [];
    const from = q.edges[0] as Date;
    const to = q.edges[q.edges.length - 1] as Date;
    const w = this.where({ ...q, from, to });
    if (!w) return [];
    const buckets = q.edges.slice(0, -1).map((e, i) => `(${i}, ${e.getTime()}, ${(q.edges[i + 1] as Date).getTime()})`).join(', ');
    const groups = q.groupBy.map((k) => `json_extract(s.tags, '$.${k}') AS "${k}"`);
    const select = ['b.i AS bucket', ...groups, `total(json_extract(p.fields, '$.${q.field}')) AS value`].join(', ');
    const keys = ['bucket', ...q.groupBy.map((k) => `"${k}"`)].join(', ');
    const rows = this.db.prepare(`WITH b(i, a, z) AS (VALUES ${buckets})
      SELECT ${select} FROM samples p JOIN series s ON s.id = p.series JOIN b ON p.ts >= b.a AND p.ts < b.z
      WHERE ${w.sql} AND json_extract(p.fields, '$.${q.field}') IS NOT NULL
      GROUP BY ${keys} ORDER BY ${keys}`).all(...w.args) as Record<string, string | number>[];
    return rows.map((r) => ({ bucket: Number(r.bucket), tags: Object.fromEntries(q.groupBy.map((k) => [k, String(r[k])])), value: Number(r.value) }));
  }

  async deletePoints(q: { measurement: string; tags: Tags; before?: Date }): Promise<void> {
    const w = this.where({ measurement: q.measurement, tags: q.tags, from: new Date(0), to: q.before ?? new Date(8.64e15) });
    if (!w) return;
    this.db.prepare(`DELETE FROM samples WHERE rowid IN (SELECT p.rowid FROM samples p JOIN series s ON s.id = p.series WHERE ${w.sql})`).run(...w.args);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
