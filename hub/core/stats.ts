/**
 * Statistics for municipal leaders. Pure: records and a period in, numbers out; no I/O, and the
 * time is always passed in.
 *
 * Periods are calendar periods in Europe/Oslo: a day runs from local midnight to local midnight
 * (23 or 25 hours when the clocks change), a week starts on Monday, a month on the 1st. Counts of
 * persons between 1 and 4 in a breakdown are suppressed ("<5"), as official statistics do; alarm
 * counts and times are not persons and are shown as they are.
 */
import type { Alarm } from './alarms.ts';
import type { DeviceKind } from './events.ts';
import { DEVICE_KINDS } from './events.ts';

export const STATS_TIME_ZONE = 'Europe/Oslo';

// ── Oslo calendar ──────────────────────────────────────────────────────────────────────────────

const partsFmt = new Intl.DateTimeFormat('en-GB', {
  timeZone: STATS_TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', weekday: 'short',
});

export type LocalParts = { year: number; month: number; day: number; hour: number; minute: number; second: number; weekday: number };
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** The wall-clock reading in Oslo of an instant; weekday 0 is Monday. */
export function osloParts(at: Date): LocalParts {
  return readParts(at);
}

/**
 * The day and hour in Oslo of many instants: Oslo's offset is whole hours and changes only at the
 * top of an hour, so one reading per UTC hour serves every instant in it.
 */
const hourCache = new Map<number, LocalParts>();
export function osloHourParts(ms: number): LocalParts {
  const hour = Math.floor(ms / 3_600_000);
  let p = hourCache.get(hour);
  if (!p) {
    if (hourCache.size > 100_000) hourCache.clear();
    p = readParts(new Date(hour * 3_600_000));
    hourCache.set(hour, p);
  }
  return p;
}

function readParts(at: Date): LocalParts {
  const p = Object.fromEntries(partsFmt.formatToParts(at).map((x) => [x.type, x.value]));
  return {
    year: Number(p.year), month: Number(p.month), day: Number(p.day), hour: Number(p.hour), minute: Number(p.minute), second: Number(p.second),
    weekday: WEEKDAYS.indexOf(String(p.weekday)),
  };
}

/** The instant at which Oslo's clocks show this local date and time (the first, in the repeated hour of autumn). */
export function osloInstant(year: number, month: number, day: number, hour = 0): Date {
  // Start from the UTC reading and correct by the offset found there, twice (the offset may change between).
  let t = Date.UTC(year, month - 1, day, hour);
  for (let i = 0; i < 2; i++) {
    const p = osloParts(new Date(t));
    const shown = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
    t += Date.UTC(year, month - 1, day, hour) - shown;
  }
  return new Date(t);
}

export const startOfOsloDay = (at: Date): Date => { const p = osloParts(at); return osloInstant(p.year, p.month, p.day); };
const addDays = (y: number, m: number, d: number, n: number) => { const x = new Date(Date.UTC(y, m - 1, d + n)); return [x.getUTCFullYear(), x.getUTCMonth() + 1, x.getUTCDate()] as const; };

export const PERIOD_PRESETS = ['this_month', 'last_month', 'this_year', 'last_12_months'] as const;
export type PeriodPreset = (typeof PERIOD_PRESETS)[number];
export type Period = { from: Date; to: Date };

/** A named calendar period around `now`, in Oslo; `to` is exclusive. */
export function presetPeriod(preset: PeriodPreset, now: Date): Period {
  const p = osloParts(now);
  switch (preset) {
    case 'this_month': return { from: osloInstant(p.year, p.month, 1), to: osloInstant(p.month === 12 ? p.year + 1 : p.year, p.month === 12 ? 1 : p.month + 1, 1) };
    case 'last_month': return { from: osloInstant(p.month === 1 ? p.year - 1 : p.year, p.month === 1 ? 12 : p.month - 1, 1), to: osloInstant(p.year, p.month, 1) };
    case 'this_year': return { from: osloInstant(p.year, 1, 1), to: osloInstant(p.year + 1, 1, 1) };
    case 'last_12_months': return { from: osloInstant(p.month === 12 ? p.year : p.year - 1, p.month === 12 ? 1 : p.month + 1, 1), to: osloInstant(p.month === 12 ? p.year + 1 : p.year, p.month === 12 ? 1 : p.month + 1, 1) };
  }
}

/** A custom period of whole Oslo days, `YYYY-MM-DD` to `YYYY-MM-DD`, both included. */
export function dayPeriod(fromDay: string, toDay: string): Period {
  const [fy, fm, fd] = fromDay.split('-').map(Number) as [number, number, number];
  const [ty, tm, td] = toDay.split('-').map(Number) as [number, number, number];
  const [ny, nm, nd] = addDays(ty, tm, td, 1);
  return { from: osloInstant(fy, fm, fd), to: osloInstant(ny, nm, nd) };
}

export const INTERVALS = ['hour', 'day', 'week'] as const;
export type Interval = (typeof INTERVALS)[number];

/** The bucket boundaries of a period: whole Oslo hours, days (midnight to midnight) or weeks (from Monday). */
export function bucketEdges(period: Period, interval: Interval): Date[] {
  const edges: Date[] = [];
  if (interval === 'hour') {
    // Oslo's offsets are whole hours: local hours are UTC hours.
    let t = Math.floor(period.from.getTime() / 3_600_000) * 3_600_000;
    for (; t < period.to.getTime(); t += 3_600_000) edges.push(new Date(Math.max(t, period.from.getTime())));
  } else {
    const p = osloParts(period.from);
    let [y, m, d] = interval === 'week' ? addDays(p.year, p.month, p.day, -p.weekday) : [p.year, p.month, p.day] as const;
    for (;;) {
      const at = osloInstant(y, m, d);
      if (at >= period.to) break;
      edges.push(at < period.from ? period.from : at);
      [y, m, d] = addDays(y, m, d, interval === 'week' ? 7 : 1);
    }
  }
  edges.push(period.to);
  return edges;
}

/** Which bucket an instant falls in (by its edges), or -1 outside the period. */
export function bucketOf(edges: readonly Date[], at: number): number {
  if (edges.length < 2 || at < (edges[0] as Date).getTime() || at >= (edges[edges.length - 1] as Date).getTime()) return -1;
  let lo = 0;
  let hi = edges.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((edges[mid] as Date).getTime() <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// ── numbers ────────────────────────────────────────────────────────────────────────────────────

/** Nearest-rank percentile (p in 0..100) of a sample; null for none. */
export function percentile(xs: readonly number[], p: number): number | null {
  return ofSorted(Float64Array.from(xs).sort(), p);
}

/** Nearest-rank percentile of a sample already sorted ascending. */
function ofSorted(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** A count of persons as published: below 5 (but not 0) it is suppressed. */
export type PersonCount = { value: number | null; suppressed: boolean };
export const SUPPRESS_BELOW = 5;
export function persons(n: number): PersonCount {
  return n > 0 && n < SUPPRESS_BELOW ? { value: null, suppressed: true } : { value: n, suppressed: false };
}

const share = (n: number, of: number): number | null => (of === 0 ? null : Math.round((n / of) * 10_000) / 10_000);
const round1 = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);

// ── the summary ────────────────────────────────────────────────────────────────────────────────

export type Targets = { within60s: number; within180s: number };
export const DEFAULT_TARGETS: Targets = { within60s: 0.975, within180s: 0.99 };

/** A test alarm (a chain test, or the installation test alarm type) is counted apart. */
export const isTestAlarm = (a: Pick<Alarm, 'test' | 'type'>): boolean => a.test === true || a.type === 'test_alarm';

/** What statistics need of an alarm (the store keeps these as columns, so a year reads fast). */
export type StatAlarm = Pick<Alarm, 'type' | 'category' | 'priority' | 'createdAt' | 'acknowledgedAt' | 'resolvedAt' | 'count' | 'escalationLevel' | 'deviceId'> & {
  test: boolean;
  reason: string | null;
};

export function statAlarm(a: Alarm): StatAlarm {
  return {
    type: a.type, category: a.category, priority: a.priority, createdAt: a.createdAt, acknowledgedAt: a.acknowledgedAt, resolvedAt: a.resolvedAt,
    count: a.count, escalationLevel: a.escalationLevel, deviceId: a.deviceId, test: isTestAlarm(a), reason: a.resolution?.reason ?? null,
  };
}

export type DeviceRecord = { id: string; kind: DeviceKind; residentId: string | null; createdAt: string; decommissionedAt: string | null; lastPassedTestAt: string | null };
/** Doses due and missed, counted; doses taken, with when they were due and taken (the late ones count apart). */
export type DoseSummaryInput = { due: number; missed: number; taken: readonly { at: string; scheduledAt: string; takenAt?: string | undefined }[] };

export type StatsInput = {
  tenantId: string;
  period: Period;
  now: Date;
  targets: Targets;
  /** Alarms created in the period. */
  alarms: readonly StatAlarm[];
  /** Every device the municipality ever had. */
  devices: readonly DeviceRecord[];
  doses: DoseSummaryInput;
  /** Door unlocks by staff in the period. */
  staffUnlocks: number;
  /** Minutes within which a due dose counts as taken on time. */
  doseWindowMinutes: number;
  testValidDays: number;
};


/** A care alarm needed an answer unless the resident cancelled it before anyone took it. */
const needsAnswer = (a: StatAlarm) => a.category === 'care' && !(a.reason === 'cancelled_by_resident' && !a.acknowledgedAt);

const activeAt = (d: DeviceRecord, t: number) => Date.parse(d.createdAt) <= t && (d.decommissionedAt === null || Date.parse(d.decommissionedAt) > t);
const activeDuring = (d: DeviceRecord, p: Period) => Date.parse(d.createdAt) < p.to.getTime() && (d.decommissionedAt === null || Date.parse(d.decommissionedAt) > p.from.getTime());

/** Residents with an active device of each kind, by a condition on the device: persons, suppressed below 5. */
function usersBy(devices: readonly DeviceRecord[], keep: (d: DeviceRecord) => boolean): Record<DeviceKind | 'total', PersonCount> {
  const byKind = new Map<DeviceKind, Set<string>>(DEVICE_KINDS.map((k) => [k, new Set()]));
  const all = new Set<string>();
  for (const d of devices) {
    if (!d.residentId || !keep(d)) continue;
    byKind.get(d.kind)?.add(d.residentId);
    all.add(d.residentId);
  }
  const out = { total: persons(all.size) } as Record<DeviceKind | 'total', PersonCount>;
  for (const k of DEVICE_KINDS) out[k] = persons(byKind.get(k)?.size ?? 0);
  return out;
}

export function summarizeStats(input: StatsInput) {
  const { period } = input;
  const end = Math.min(period.to.getTime(), input.now.getTime());
  const from = period.from.getTime();
  const kindOf = new Map(input.devices.map((d) => [d.id, d.kind]));
  const real = input.alarms.filter((a) => !a.test);
  const tests = input.alarms.length - real.length;

  // Users per technology (the registry's categories): persons, so suppressed below 5.
  const firstOfKind = new Map<string, number>();
  for (const d of input.devices) {
    if (!d.residentId) continue;
    const key = `${d.residentId}|${d.kind}`;
    firstOfKind.set(key, Math.min(firstOfKind.get(key) ?? Infinity, Date.parse(d.createdAt)));
  }
  // (resident, kind) pairs that still have an active device at the end: those did not end.
  const stillServed = new Set(input.devices.filter((d) => d.residentId && activeAt(d, end - 1)).map((d) => `${d.residentId}|${d.kind}`));
  const users = {
    atEnd: usersBy(input.devices, (d) => activeAt(d, end - 1)),
    during: usersBy(input.devices, (d) => activeDuring(d, period)),
    new: usersBy(input.devices, (d) => { const f = firstOfKind.get(`${d.residentId}|${d.kind}`) ?? Infinity; return f >= from && f < period.to.getTime() && Date.parse(d.createdAt) === f; }),
    ended: usersBy(input.devices, (d) => d.decommissionedAt !== null && Date.parse(d.decommissionedAt) >= from && Date.parse(d.decommissionedAt) < period.to.getTime()
      && !stillServed.has(`${d.residentId}|${d.kind}`)),
  };

  // Alarms: what they are about.
  const byType: Record<string, number> = {};
  const byCategory: Record<string, number> = { care: 0, technical: 0 };
  let escalated = 0;
  let repeats = 0;
  let outages = 0;
  for (const a of real) {
    byType[a.type] = (byType[a.type] ?? 0) + 1;
    byCategory[a.category] = (byCategory[a.category] ?? 0) + 1;
    if (a.escalationLevel > 0) escalated++;
    repeats += a.count - 1;
    if (a.type === 'outage') outages++;
  }

  // Answer times: care alarms that needed an answer (not cancelled by the resident before anyone took them).
  const needing = real.filter(needsAnswer);
  // Seconds to acknowledge (Infinity: never) and to resolve, each sorted once.
  const ackOf = needing.map((a) => (a.acknowledgedAt ? (Date.parse(a.acknowledgedAt) - Date.parse(a.createdAt)) / 1000 : Infinity));
  const ackSeconds = Float64Array.from(ackOf.filter((x) => x !== Infinity)).sort();
  const resolveSeconds = Float64Array.from(needing.flatMap((a) => (a.resolvedAt ? [(Date.parse(a.resolvedAt) - Date.parse(a.createdAt)) / 1000] : []))).sort();
  const within = (s: number) => { let n = 0; for (const x of ackSeconds) if (x <= s) n++; return n; };
  const slowest = ackOf.map((s, i) => [s, i] as const).sort((x, y) => (x[0] === y[0] ? x[1] - y[1] : y[0] > x[0] ? 1 : -1)).slice(0, 10).map(([s, i]) => {
    const a = needing[i] as StatAlarm;
    return { at: a.createdAt, type: a.type, priority: a.priority, seconds: s === Infinity ? null : round1(s) };
  });
  const response = {
    alarms: needing.length,
    acknowledged: ackSeconds.length,
    within60s: within(60),
    within180s: within(180),
    shareWithin60s: share(within(60), needing.length),
    shareWithin180s: share(within(180), needing.length),
    targets: input.targets,
    meets60s: needing.length === 0 ? null : within(60) / needing.length >= input.targets.within60s,
    meets180s: needing.length === 0 ? null : within(180) / needing.length >= input.targets.within180s,
    medianAckSeconds: round1(ofSorted(ackSeconds, 50)),
    p90AckSeconds: round1(ofSorted(ackSeconds, 90)),
    medianResolveSeconds: round1(ofSorted(resolveSeconds, 50)),
    p90ResolveSeconds: round1(ofSorted(resolveSeconds, 90)),
    slowest,
  };

  // How alarms end.
  const resolutions: Record<string, number> = {};
  const falseByKind: Record<DeviceKind, { resolved: number; falseAlarms: number; share: number | null }> =
    Object.fromEntries(DEVICE_KINDS.map((k) => [k, { resolved: 0, falseAlarms: 0, share: null }])) as never;
  for (const a of real) {
    if (!a.reason) continue;
    resolutions[a.reason] = (resolutions[a.reason] ?? 0) + 1;
    const kind = a.deviceId ? kindOf.get(a.deviceId) : undefined;
    if (kind && a.category === 'care') {
      falseByKind[kind].resolved++;
      if (a.reason === 'false_alarm') falseByKind[kind].falseAlarms++;
    }
  }
  for (const k of DEVICE_KINDS) falseByKind[k].share = share(falseByKind[k].falseAlarms, falseByKind[k].resolved);

  // Devices: availability from offline alarms, technical alarms per 100 devices, tests.
  const devices = Object.fromEntries(DEVICE_KINDS.map((k) => [k, { active: 0, offlineHours: 0, availability: null as number | null, technicalAlarms: 0, technicalPer100: null as number | null, neverTested: 0, testOverdue: 0 }])) as Record<DeviceKind, {
    active: number; offlineHours: number; availability: number | null; technicalAlarms: number; technicalPer100: number | null; neverTested: number; testOverdue: number;
  }>;
  // Hours each kind's devices were in service during the period.
  const kindHours = Object.fromEntries(DEVICE_KINDS.map((k) => [k, 0])) as Record<DeviceKind, number>;
  for (const d of input.devices) {
    const row = devices[d.kind];
    if (activeAt(d, end - 1)) {
      row.active++;
      if (!d.lastPassedTestAt) row.neverTested++;
      else if (input.now.getTime() - Date.parse(d.lastPassedTestAt) > input.testValidDays * 86_400_000) row.testOverdue++;
    }
    if (activeDuring(d, period)) {
      const s = Math.max(from, Date.parse(d.createdAt));
      const e = Math.min(end, d.decommissionedAt ? Date.parse(d.decommissionedAt) : end);
      kindHours[d.kind] += Math.max(0, e - s) / 3_600_000;
    }
  }
  const deviceHours = DEVICE_KINDS.reduce((sum, k) => sum + kindHours[k], 0);
  for (const a of real) {
    const kind = a.deviceId ? kindOf.get(a.deviceId) : undefined;
    if (!kind) continue;
    if (a.category === 'technical') devices[kind].technicalAlarms++;
    if (a.type === 'device_offline') {
      const s = Math.max(from, Date.parse(a.createdAt));
      const e = Math.min(end, a.resolvedAt ? Date.parse(a.resolvedAt) : end);
      devices[kind].offlineHours += Math.max(0, e - s) / 3_600_000;
    }
  }
  for (const k of DEVICE_KINDS) {
    const row = devices[k];
    row.offlineHours = Math.round(row.offlineHours * 10) / 10;
    row.availability = kindHours[k] > 0 ? share(kindHours[k] - row.offlineHours, kindHours[k]) : null;
    row.technicalPer100 = row.active > 0 ? Math.round((row.technicalAlarms / row.active) * 1000) / 10 : null;
  }

  // Medicine.
  const late = input.doses.taken.filter((d) => Date.parse(d.takenAt ?? d.at) - Date.parse(d.scheduledAt) > input.doseWindowMinutes * 60_000).length;
  const doses = { due: input.doses.due, taken: input.doses.taken.length, late, missed: input.doses.missed };

  return {
    tenantId: input.tenantId,
    from: period.from.toISOString(),
    to: period.to.toISOString(),
    users: users.atEnd,
    usersDuring: users.during,
    usersNew: users.new,
    usersEnded: users.ended,
    alarms: { total: real.length, test: tests, byType, byCategory, escalated, repeats, outages },
    response,
    resolutions,
    falseAlarmsByKind: falseByKind,
    doses: { ...doses, missedShare: share(doses.missed, doses.due) },
    doors: { staffUnlocks: input.staffUnlocks },
    devices: { byKind: devices, deviceHours: Math.round(deviceHours) },
    heatmap: heatmap(input.alarms),
  };
}
export type StatsSummary = ReturnType<typeof summarizeStats>;

/** Alarms by Oslo weekday (0 = Monday) and hour: where the night load is. */
export function heatmap(alarms: readonly Pick<StatAlarm, 'createdAt' | 'test'>[]): number[][] {
  const grid = Array.from({ length: 7 }, () => Array.from({ length: 24 }, () => 0));
  for (const a of alarms) {
    if (a.test) continue;
    const p = osloHourParts(Date.parse(a.createdAt));
    const row = grid[p.weekday];
    if (row) row[p.hour] = (row[p.hour] ?? 0) + 1;
  }
  return grid;
}

// ── series for the charts ──────────────────────────────────────────────────────────────────────

export const SERIES_METRICS = ['alarms', 'test_alarms', 'escalations', 'events', 'doses', 'answered', 'staff_unlocks'] as const;
export type SeriesMetric = (typeof SERIES_METRICS)[number];
export type SeriesBucket = { start: string; end: string; values: Record<string, number | null> };

function buckets(edges: readonly Date[], keys: readonly string[]): SeriesBucket[] {
  return edges.slice(0, -1).map((e, i) => ({ start: e.toISOString(), end: (edges[i + 1] as Date).toISOString(), values: Object.fromEntries(keys.map((k) => [k, 0])) }));
}

/** Sums per bucket (from the time series) as buckets with every key, zero where nothing was. */
export function bucketsFromSums(rows: readonly { bucket: number; tags: Record<string, string>; value: number }[], edges: readonly Date[], keyOf: (tags: Record<string, string>) => string | null, keys: readonly string[]): SeriesBucket[] {
  const out = buckets(edges, keys);
  for (const r of rows) {
    const k = keyOf(r.tags);
    const b = out[r.bucket];
    if (k === null || !b) continue;
    b.values[k] = ((b.values[k] as number | null) ?? 0) + r.value;
  }
  return out;
}

/** Times counted per bucket under one key. */
export function countSeries(times: readonly string[], edges: readonly Date[], key: string): SeriesBucket[] {
  const out = buckets(edges, [key]);
  for (const t of times) {
    const b = out[bucketOf(edges, Date.parse(t))];
    if (b) b.values[key] = (b.values[key] as number) + 1;
  }
  return out;
}

/** Answer times per bucket (by when the alarm was raised): care alarms needing an answer, how many within 60 s and 180 s, and the shares. */
export function answeredSeries(alarms: readonly StatAlarm[], edges: readonly Date[]): SeriesBucket[] {
  const out = buckets(edges, ['alarms', 'within60s', 'within180s']);
  for (const a of alarms) {
    if (a.test || !needsAnswer(a)) continue;
    const b = out[bucketOf(edges, Date.parse(a.createdAt))];
    if (!b) continue;
    b.values.alarms = (b.values.alarms as number) + 1;
    const s = a.acknowledgedAt ? (Date.parse(a.acknowledgedAt) - Date.parse(a.createdAt)) / 1000 : Infinity;
    if (s <= 60) b.values.within60s = (b.values.within60s as number) + 1;
    if (s <= 180) b.values.within180s = (b.values.within180s as number) + 1;
  }
  for (const b of out) {
    const n = b.values.alarms as number;
    b.values.shareWithin60s = share(b.values.within60s as number, n);
    b.values.shareWithin180s = share(b.values.within180s as number, n);
  }
  return out;
}

/** Adds the missed share to dose buckets (due, taken, missed). */
export function withMissedShare(b: SeriesBucket[]): SeriesBucket[] {
  return b.map((x) => ({ ...x, values: { ...x.values, missedShare: share((x.values.dose_missed as number) ?? 0, (x.values.dose_due as number) ?? 0) } }));
}
