/**
 * Batches telemetry and event counts on their way to the time-series store.
 *
 * Telemetry may wait a moment (the design allows it to be buffered); care events never pass
 * through here on their way to safety: they are in the operational store before the device
 * is acknowledged. Event and alarm counts are summed per (municipality, kind, type) and per
 * second of their own time, and written as one point per flush: at that second, plus the
 * flush's number in its last three digits of milliseconds, so a count lands in the second it
 * happened and no two flushes overwrite each other.
 */
import type { Logger } from 'pino';
import type { DeviceKind } from '../core/events.ts';
import type { Point, TimeSeriesStore } from './types.ts';

export type WriterOptions = { flushIntervalMs?: number; maxBatch?: number };

/** Points handed to the store at a time. */
const WRITE_SLICE = 200;

export class TimeSeriesWriter {
  private points: Point[] = [];
  private counts = new Map<string, { tags: Record<string, string>; second: number; count: number }>();
  private alarmCounts = new Map<string, { tags: Record<string, string>; second: number; count: number }>();
  private flushes = 0;
  /** The last timestamp given to each alarm_response series, so two in one millisecond do not overwrite. */
  private readonly lastResponseTs = new Map<string, number>();
  private timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private readonly maxBatch: number;

  /** Hears a failed write (for metrics). */
  onWriteError: () => void = () => {};

  constructor(private readonly store: TimeSeriesStore, private readonly log: Logger, opts: WriterOptions = {}) {
    this.maxBatch = opts.maxBatch ?? 5000;
    this.timer = setInterval(() => { void this.flush(); }, opts.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  addPoint(p: Point): void {
    this.points.push(p);
    if (this.points.length >= this.maxBatch) void this.flush();
  }

  countEvent(tenant: string, kind: DeviceKind, type: string, at: Date): void {
    // Once per device message: the key is built without the tags, which only a new count needs.
    const second = Math.floor(at.getTime() / 1000);
    const key = `${tenant}\0${kind}\0${type}\0${second}`;
    const c = this.counts.get(key);
    if (c) c.count++;
    else this.counts.set(key, { tags: { tenant, kind, type }, second, count: 1 });
  }

  /** Counts an alarm's step (raised, acknowledged, escalated, resolved, …). */
  countAlarm(tags: { tenant: string; type: string; category: string; action: string; test: boolean }, at: Date): void {
    count(this.alarmCounts, { ...tags, test: String(tags.test) }, at);
  }

  /** An alarm was acknowledged after `seconds`: a point at the acknowledgement. */
  addResponse(tags: { tenant: string; type: string; category: string; priority: number; test: boolean }, alarmId: string, seconds: number, at: Date): void {
    const t = { ...tags, priority: String(tags.priority), test: String(tags.test) };
    const key = Object.values(t).join('\0');
    const ms = Math.max(at.getTime(), (this.lastResponseTs.get(key) ?? 0) + 1);
    this.lastResponseTs.set(key, ms);
    this.addPoint({ measurement: 'alarm_response', tags: t, fields: { alarm_id: alarmId, ack_seconds: seconds }, ts: new Date(ms) });
  }

  /** Hands everything gathered so far to the store. Errors are logged; the batch is kept for the next flush. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow());
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    if (this.points.length === 0 && this.counts.size === 0 && this.alarmCounts.size === 0) return;
    const seq = this.flushes++ % 1000;
    const at = (second: number) => new Date(second * 1000 + seq);
    const batch = this.points;
    const counts = this.counts;
    const alarmCounts = this.alarmCounts;
    this.points = [];
    this.counts = new Map();
    this.alarmCounts = new Map();
    for (const c of counts.values()) batch.push({ measurement: 'device_events', tags: c.tags, fields: { count: c.count }, ts: at(c.second) });
    for (const c of alarmCounts.values()) batch.push({ measurement: 'alarm_lifecycle', tags: c.tags, fields: { count: c.count }, ts: at(c.second) });
    // In slices, with a turn of the event loop between them: a second of telemetry from thousands
    // of devices handed over at once would hold up alarms on their way to the operators for tens
    // of milliseconds (copying it to the embedded store's worker; InfluxDB's disk buffer writes
    // synchronously). The slices do not wait for each other: the store may commit them together.
    const writes: Promise<void>[] = [];
    const failed: Point[] = [];
    let error: unknown = null;
    for (let i = 0; i < batch.length; i += WRITE_SLICE) {
      const slice = batch.slice(i, i + WRITE_SLICE);
      writes.push(this.store.write(slice).catch((err: unknown) => {
        error ??= err;
        failed.push(...slice);
      }));
      if (i + WRITE_SLICE < batch.length) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(writes);
    if (failed.length > 0) {
      this.onWriteError();
      this.log.error({ err: error, points: failed.length }, 'time series: write failed; keeping the points for the next flush');
      this.points = failed.concat(this.points);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

function count(map: Map<string, { tags: Record<string, string>; second: number; count: number }>, tags: Record<string, string>, at: Date): void {
  const second = Math.floor(at.getTime() / 1000);
  const key = `${Object.values(tags).join('\0')}\0${second}`;
  const c = map.get(key);
  if (c) c.count++;
  else map.set(key, { tags, second, count: 1 });
}
