/**
 * Batches telemetry and event counts on their way to the time-series store.
 *
 * Telemetry may wait a moment (the design allows it to be buffered); care events never pass
 * through here on their way to safety: they are in the operational store before the device
 * is acknowledged. Event counts are summed per (municipality, kind, type) and written as one
 * point per flush, at a timestamp unique to that flush, so no two flushes overwrite each other.
 */
import type { Logger } from 'pino';
import type { DeviceKind } from '../core/events.ts';
import type { Point, TimeSeriesStore } from './types.ts';

export type WriterOptions = { flushIntervalMs?: number; maxBatch?: number };

export class TimeSeriesWriter {
  private points: Point[] = [];
  private counts = new Map<string, { tenant: string; kind: DeviceKind; type: string; count: number }>();
  private timer: NodeJS.Timeout;
  private lastFlushTs = 0;
  private flushing: Promise<void> = Promise.resolve();
  private readonly maxBatch: number;

  constructor(private readonly store: TimeSeriesStore, private readonly log: Logger, opts: WriterOptions = {}) {
    this.maxBatch = opts.maxBatch ?? 5000;
    this.timer = setInterval(() => { void this.flush(); }, opts.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  addPoint(p: Point): void {
    this.points.push(p);
    if (this.points.length >= this.maxBatch) void this.flush();
  }

  countEvent(tenant: string, kind: DeviceKind, type: string): void {
    const key = `${tenant}\0${kind}\0${type}`;
    const c = this.counts.get(key);
    if (c) c.count++;
    else this.counts.set(key, { tenant, kind, type, count: 1 });
  }

  /** Hands everything gathered so far to the store. Errors are logged; the batch is kept for the next flush. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow());
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    if (this.points.length === 0 && this.counts.size === 0) return;
    const ts = new Date(Math.max(Date.now(), this.lastFlushTs + 1));
    this.lastFlushTs = ts.getTime();
    const batch = this.points;
    const counts = this.counts;
    this.points = [];
    this.counts = new Map();
    for (const c of counts.values()) {
      batch.push({ measurement: 'device_events', tags: { tenant: c.tenant, kind: c.kind, type: c.type }, fields: { count: c.count }, ts });
    }
    try {
      await this.store.write(batch);
    } catch (err) {
      this.log.error({ err, points: batch.length }, 'time series: write failed; keeping the batch for the next flush');
      this.points = batch.concat(this.points);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
