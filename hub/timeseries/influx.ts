/**
 * Time series in InfluxDB 1.x through the `influx` package.
 *
 * Every batch goes first to a buffer on disk (SQLite) and from there to InfluxDB. While InfluxDB
 * cannot be reached the buffer grows, up to its bound; the sender retries with back-off and
 * empties it, oldest first, when InfluxDB is back. A batch that reached InfluxDB but was not yet
 * removed from the buffer (a crash in between) is simply written again: same identity, same point.
 */
import Database from 'better-sqlite3';
import { FieldType, InfluxDB, escape, type IPoint, type IResults, type ISchemaOptions } from 'influx';
import { ConstantBackoff } from 'influx/lib/src/backoff/constant.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type FieldKind, MEASUREMENTS } from './measurements.ts';
import type { BucketSumQuery, BucketSumRow, FieldValue, Point, PointQuery, SumQuery, SumRow, Tags, TimeSeriesStore } from './types.ts';

export type InfluxOptions = {
  url: string;
  database: string;
  /** Points the on-disk buffer holds at most; beyond it new points are dropped and logged. */
  bufferMaxPoints: number;
  dataDir: string;
  logger: Logger;
  /** Points per write request. */
  batchSize?: number;
  /** Longest pause between retries while InfluxDB is unreachable. */
  maxRetryMs?: number;
};

const FIELD_TYPES: Record<FieldKind, FieldType> = {
  integer: FieldType.INTEGER, float: FieldType.FLOAT, string: FieldType.STRING,
};

function schema(database: string): ISchemaOptions[] {
  return Object.entries(MEASUREMENTS).map(([measurement, m]) => ({
    database,
    measurement,
    tags: [...m.tags],
    fields: Object.fromEntries(Object.entries(m.fields).map(([k, t]) => [k, FIELD_TYPES[t as FieldKind]])),
  }));
}

type StoredPoint = { m: string; t: Tags; f: Record<string, FieldValue>; ts: number };

export class InfluxTimeSeries implements TimeSeriesStore {
  readonly name = 'influxdb';
  private readonly influx: InfluxDB;
  private readonly buffer: Database.Database;
  private readonly log: Logger;
  private readonly stmt;
  private buffered: number;
  private databaseReady = false;
  private sending: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs = 250;
  private down = false;
  private overflowing = false;
  private dropped = 0;
  private closed = false;
  private readonly batchSize: number;
  private readonly maxRetryMs: number;

  constructor(private readonly opts: InfluxOptions) {
    const url = new URL(opts.url);
    this.influx = new InfluxDB({
      host: url.hostname,
      port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
      protocol: url.protocol === 'https:' ? 'https' : 'http',
      database: opts.database,
      schema: schema(opts.database),
      // The buffer does the retrying, with its own back-off: the client fails fast and does not
      // put the host aside on its own schedule, which would delay the catch-up after an outage.
      pool: { maxRetries: 0, requestTimeout: 5_000, backoff: new ConstantBackoff({ delay: 50, jitter: 0 }) },
    });
    this.log = opts.logger;
    this.batchSize = opts.batchSize ?? 5000;
    this.maxRetryMs = opts.maxRetryMs ?? 10_000;
    mkdirSync(opts.dataDir, { recursive: true });
    this.buffer = new Database(join(opts.dataDir, 'influx-buffer.db'));
    this.buffer.pragma('journal_mode = WAL');
    this.buffer.pragma('synchronous = NORMAL');
    this.buffer.exec('CREATE TABLE IF NOT EXISTS buffer (seq INTEGER PRIMARY KEY AUTOINCREMENT, point TEXT NOT NULL)');
    const insert = this.buffer.prepare('INSERT INTO buffer (point) VALUES (?)');
    this.stmt = {
      insert: this.buffer.transaction((rows: string[]) => { for (const r of rows) insert.run(r); }),
      oldest: this.buffer.prepare('SELECT seq, point FROM buffer ORDER BY seq LIMIT ?'),
      remove: this.buffer.prepare('DELETE FROM buffer WHERE seq <= ?'),
    };
    this.buffered = (this.buffer.prepare('SELECT count(*) AS n FROM buffer').get() as { n: number }).n;
    if (this.buffered > 0) {
      this.log.info({ points: this.buffered }, 'time series: points buffered from an earlier run will be sent to InfluxDB');
      this.kick();
    }
  }

  async write(points: Point[]): Promise<void> {
    if (points.length === 0) return;
    const room = Math.max(0, this.opts.bufferMaxPoints - this.buffered);
    const accepted = points.slice(0, room);
    if (accepted.length < points.length) {
      this.dropped += points.length - accepted.length;
      if (!this.overflowing) {
        this.overflowing = true;
        this.log.error({ bound: this.opts.bufferMaxPoints }, 'time series: buffer for InfluxDB is full; new points are dropped until InfluxDB takes the backlog');
      }
    }
    if (accepted.length > 0) {
      this.stmt.insert(accepted.map((p) => JSON.stringify({ m: p.measurement, t: p.tags, f: p.fields, ts: p.ts.getTime() } satisfies StoredPoint)));
      this.buffered += accepted.length;
    }
    this.kick();
  }

  pending(): number {
    return this.buffered;
  }

  /** Starts a send unless one runs or a retry waits. */
  private kick(): void {
    if (this.closed || this.sending || this.retryTimer) return;
    this.sending = this.sendAll().finally(() => { this.sending = null; });
  }

  private async sendAll(): Promise<void> {
    while (!this.closed && this.buffered > 0) {
      const rows = this.stmt.oldest.all(this.batchSize) as { seq: number; point: string }[];
      if (rows.length === 0) { this.buffered = 0; break; }
      try {
        if (!this.databaseReady) {
          await this.influx.createDatabase(this.opts.database);
          this.databaseReady = true;
        }
        await this.influx.writePoints(rows.map((r) => toIPoint(JSON.parse(r.point) as StoredPoint)), { precision: 'ms' });
      } catch (err) {
        this.onFailure(err);
        return;
      }
      const last = rows[rows.length - 1] as { seq: number };
      this.stmt.remove.run(last.seq);
      this.buffered = Math.max(0, this.buffered - rows.length);
      this.onSuccess();
    }
  }

  private onFailure(err: unknown): void {
    if (!this.down) {
      this.down = true;
      this.log.warn({ err: (err as Error).message, buffered: this.buffered }, 'time series: InfluxDB cannot be reached; buffering points on disk');
    }
    if (this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.kick();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, this.maxRetryMs);
  }

  private onSuccess(): void {
    this.retryMs = 250;
    if (this.down) {
      this.down = false;
      this.log.info({ buffered: this.buffered }, 'time series: InfluxDB reachable again; sending the buffer');
    }
    if (this.overflowing && this.buffered < this.opts.bufferMaxPoints) {
      this.overflowing = false;
      this.log.warn({ dropped: this.dropped }, 'time series: buffer has room again');
    }
  }

  async query(q: PointQuery): Promise<Point[]> {
    const order = q.order === 'desc' ? ' ORDER BY time DESC' : '';
    const limit = q.limit ? ` LIMIT ${Math.floor(q.limit)}` : '';
    const rows = await this.influx.query(`SELECT * FROM ${quoted(q.measurement)} WHERE ${where(q)}${order}${limit}`, { precision: 'ms' });
    const tagKeys = new Set<string>((MEASUREMENTS as Record<string, { tags: readonly string[] }>)[q.measurement]?.tags ?? []);
    return rows.map((row) => {
      const r = row as Record<string, unknown> & { time: Date };
      const tags: Tags = {};
      const fields: Record<string, FieldValue> = {};
      for (const [k, v] of Object.entries(r)) {
        if (k === 'time' || v === null || v === undefined) continue;
        if (tagKeys.has(k)) tags[k] = String(v);
        else fields[k] = v as FieldValue;
      }
      return { measurement: q.measurement, tags, fields, ts: new Date(r.time.getTime()) };
    });
  }

  async sum(q: SumQuery): Promise<SumRow[]> {
    const group = q.groupBy.length ? ` GROUP BY ${q.groupBy.map(quoted).join(', ')}` : '';
    const result = await this.influx.query(`SELECT sum(${quoted(q.field)}) AS value FROM ${quoted(q.measurement)} WHERE ${where(q)}${group}`);
    const rows: SumRow[] = result.groups().flatMap((g) => g.rows.map((row) => ({
      tags: Object.fromEntries(q.groupBy.map((k) => [k, String(g.tags[k] ?? '')])),
      value: Number((row as unknown as { value: number }).value),
    })));
    const key = (r: SumRow) => q.groupBy.map((k) => r.tags[k]).join('\0');
    return rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }

  async sumBuckets(q: BucketSumQuery): Promise<BucketSumRow[]> {
    if (q.edges.length < 2) return [];
    const group = q.groupBy.length ? ` GROUP BY ${q.groupBy.map(quoted).join(', ')}` : '';
    // One request with a statement per bucket: InfluxQL's GROUP BY time() cannot follow Oslo's
    // calendar (weeks from Monday, days of 23 or 25 hours).
    const statements = q.edges.slice(0, -1).map((e, i) =>
      `SELECT sum(${quoted(q.field)}) AS value FROM ${quoted(q.measurement)} WHERE ${where({ ...q, from: e, to: q.edges[i + 1] as Date })}${group}`);
    const out: BucketSumRow[] = [];
    for (let start = 0; start < statements.length; start += 100) {
      const chunk = statements.slice(start, start + 100);
      const results = (chunk.length === 1 ? [await this.influx.query(chunk[0] as string)] : await this.influx.query(chunk)) as IResults<unknown>[];
      results.forEach((result, j) => {
        for (const g of result.groups()) {
          for (const row of g.rows) {
            out.push({ bucket: start + j, tags: Object.fromEntries(q.groupBy.map((k) => [k, String(g.tags[k] ?? '')])), value: Number((row as unknown as { value: number }).value) });
          }
        }
      });
    }
    const key = (r: BucketSumRow) => `${String(r.bucket).padStart(6, '0')}\0${q.groupBy.map((k) => r.tags[k]).join('\0')}`;
    return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }

  async deletePoints(q: { measurement: string; tags: Tags; before?: Date }): Promise<void> {
    const parts = Object.entries(q.tags).map(([k, v]) => `${quoted(k)} = ${escape.stringLit(v)}`);
    if (q.before) parts.push(`time < ${q.before.getTime()}ms`);
    await this.influx.query(`DELETE FROM ${quoted(q.measurement)}${parts.length ? ` WHERE ${parts.join(' AND ')}` : ''}`);
  }

  /** Waits until the buffer is empty or the time is up; returns the points still buffered. */
  async drain(timeoutMs: number): Promise<number> {
    const until = Date.now() + timeoutMs;
    while (this.buffered > 0 && Date.now() < until) {
      this.kick();
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.buffered;
  }

  async close(): Promise<void> {
    await this.drain(2000);
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.sending;
    if (this.buffered > 0) this.log.warn({ points: this.buffered }, 'time series: points stay buffered on disk for the next start');
    this.buffer.close();
  }
}

function quoted(identifier: string): string {
  return escape.quoted(identifier);
}

function where(q: { from: Date; to: Date; tags?: Tags | undefined }): string {
  const parts = [`time >= ${q.from.getTime()}ms`, `time < ${q.to.getTime()}ms`];
  for (const [k, v] of Object.entries(q.tags ?? {})) parts.push(`${quoted(k)} = ${escape.stringLit(v)}`);
  return parts.join(' AND ');
}

function toIPoint(p: StoredPoint): IPoint {
  return { measurement: p.m, tags: p.t, fields: p.f, timestamp: new Date(p.ts) };
}
