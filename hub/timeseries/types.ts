/**
 * The time-series contract. Two stores fulfil it: InfluxDB 1.x (when INFLUX_URL is set) and an
 * embedded SQLite store; one contract test runs against both, so statistics give the same
 * answers whichever is in use.
 *
 * Semantics follow InfluxDB: a point is identified by measurement, tag set and timestamp
 * (millisecond precision); writing the same identity again replaces it. That makes replays of
 * a buffered batch harmless.
 */
export type FieldValue = number | string | boolean;
export type Tags = Record<string, string>;

export type Point = {
  measurement: string;
  tags: Tags;
  fields: Record<string, FieldValue>;
  ts: Date;
};

export type PointQuery = {
  measurement: string;
  from: Date;
  /** Exclusive. */
  to: Date;
  tags?: Tags;
  order?: 'asc' | 'desc';
  limit?: number;
};

export type SumQuery = {
  measurement: string;
  field: string;
  from: Date;
  to: Date;
  tags?: Tags;
  groupBy: string[];
};

export type SumRow = { tags: Tags; value: number };

/** Sums per bucket: `edges` are the bucket boundaries (n + 1 edges for n buckets, each [edge, next)). */
export type BucketSumQuery = Omit<SumQuery, 'from' | 'to'> & { edges: readonly Date[] };
export type BucketSumRow = SumRow & { bucket: number };

export interface TimeSeriesStore {
  readonly name: 'influxdb' | 'embedded';
  /** Resolves once the points are stored, or safely buffered on disk for later delivery. */
  write(points: Point[]): Promise<void>;
  query(q: PointQuery): Promise<Point[]>;
  /** Sum of a field per combination of the `groupBy` tags, sorted by those tags. */
  sum(q: SumQuery): Promise<SumRow[]>;
  /** Sums of a field per bucket and per combination of the `groupBy` tags; empty buckets are left out. */
  sumBuckets(q: BucketSumQuery): Promise<BucketSumRow[]>;
  /** Removes points of a measurement with these tags, older than `before` (all, without it). */
  deletePoints(q: { measurement: string; tags: Tags; before?: Date }): Promise<void>;
  /** Points accepted but not yet delivered (the on-disk buffer), 0 for the embedded store. */
  pending(): number;
  close(): Promise<void>;
}
