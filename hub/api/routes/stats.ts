/**
 * Statistics for leaders: aggregates only, per municipality, for a calendar period in Oslo; as
 * JSON for the dashboard and as CSV (UTF-8 with a BOM, semicolons) for a Norwegian spreadsheet.
 * Counts of persons below 5 are suppressed. No names, addresses or notes ever leave here.
 */
import { type FastifyPluginAsyncTypebox, type Static, Type } from '@fastify/type-provider-typebox';
import { stringify } from 'csv-stringify/sync';
import { DEVICE_KINDS } from '../../core/events.ts';
import { TenantId } from '../../core/model.ts';
import { literals } from '../../core/schema.ts';
import {
  answeredSeries, bucketEdges, bucketsFromSums, countSeries, dayPeriod, INTERVALS, type Interval, type Period, PERIOD_PRESETS,
  presetPeriod, SERIES_METRICS, type SeriesBucket, type SeriesMetric, summarizeStats, withMissedShare,
} from '../../core/stats.ts';
import type { HubContext } from '../../context.ts';
import { assertServes, principalOf, requires } from '../auth.ts';
import { badRequest, notFound } from '../errors.ts';

const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'A day in Oslo, YYYY-MM-DD' });
const PeriodQuery = Type.Object({
  tenantId: TenantId,
  from: Type.Optional(Day),
  to: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'The last day included, YYYY-MM-DD' })),
  period: Type.Optional(literals(PERIOD_PRESETS)),
});
const SeriesQuery = Type.Composite([PeriodQuery, Type.Object({ metric: literals(SERIES_METRICS), interval: literals(INTERVALS) })]);
const MAX_DAYS = 3 * 366;
const MAX_BUCKETS = 1000;

const Count = Type.Object({ value: Type.Union([Type.Integer(), Type.Null()]), suppressed: Type.Boolean({ description: 'A count of persons from 1 to 4: shown as "<5"' }) });
const Users = Type.Object(Object.fromEntries([...DEVICE_KINDS, 'total'].map((k) => [k, Count])) as Record<string, typeof Count>);
const Num = Type.Union([Type.Number(), Type.Null()]);
const SummarySchema = Type.Object({
  tenantId: TenantId, from: Type.String({ format: 'date-time' }), to: Type.String({ format: 'date-time' }),
  users: Users, usersDuring: Users, usersNew: Users, usersEnded: Users,
  alarms: Type.Object({ total: Type.Integer(), test: Type.Integer(), byType: Type.Record(Type.String(), Type.Integer()), byCategory: Type.Record(Type.String(), Type.Integer()), escalated: Type.Integer(), repeats: Type.Integer(), outages: Type.Integer() }),
  response: Type.Object({
    alarms: Type.Integer({ description: 'Care alarms that needed an answer' }), acknowledged: Type.Integer(), within60s: Type.Integer(), within180s: Type.Integer(),
    shareWithin60s: Num, shareWithin180s: Num, targets: Type.Object({ within60s: Type.Number(), within180s: Type.Number() }),
    meets60s: Type.Union([Type.Boolean(), Type.Null()]), meets180s: Type.Union([Type.Boolean(), Type.Null()]),
    medianAckSeconds: Num, p90AckSeconds: Num, medianResolveSeconds: Num, p90ResolveSeconds: Num,
    slowest: Type.Array(Type.Object({ at: Type.String({ format: 'date-time' }), type: Type.String(), priority: Type.Integer(), seconds: Num })),
  }),
  resolutions: Type.Record(Type.String(), Type.Integer()),
  falseAlarmsByKind: Type.Record(Type.String(), Type.Object({ resolved: Type.Integer(), falseAlarms: Type.Integer(), share: Num })),
  doses: Type.Object({ due: Type.Integer(), taken: Type.Integer(), late: Type.Integer(), missed: Type.Integer(), missedShare: Num }),
  doors: Type.Object({ staffUnlocks: Type.Integer() }),
  devices: Type.Object({
    byKind: Type.Record(Type.String(), Type.Object({ active: Type.Integer(), offlineHours: Type.Number(), availability: Num, technicalAlarms: Type.Integer(), technicalPer100: Num, neverTested: Type.Integer(), testOverdue: Type.Integer() })),
    deviceHours: Type.Integer(),
  }),
  heatmap: Type.Array(Type.Array(Type.Integer()), { description: 'Real alarms by Oslo weekday (0 = Monday) and hour' }),
});
const SeriesSchema = Type.Object({
  tenantId: TenantId, metric: Type.String(), interval: Type.String(), from: Type.String({ format: 'date-time' }), to: Type.String({ format: 'date-time' }),
  keys: Type.Array(Type.String()),
  buckets: Type.Array(Type.Object({ start: Type.String({ format: 'date-time' }), end: Type.String({ format: 'date-time' }), values: Type.Record(Type.String(), Num) })),
});

const csvText = (rows: (string | number | null)[][]) => `\uFEFF${stringify(rows.map((r) => r.map((v) => (v === null ? '' : v))), { delimiter: ';', record_delimiter: 'windows' })}`;

/** What these routes use of the hub. */
export type StatsRouteDeps = Pick<HubContext, 'audit' | 'now' | 'stats' | 'tenants' | 'timeseries'>;

export const statsRoutes = (ctx: StatsRouteDeps): FastifyPluginAsyncTypebox => async (app) => {
  const store = ctx.stats;

  function periodOf(q: Static<typeof PeriodQuery>): Period {
    if (q.period) return presetPeriod(q.period, ctx.now());
    if (!q.from || !q.to) throw badRequest('querystring: give period (this_month, last_month, this_year, last_12_months) or both from and to (YYYY-MM-DD)');
    const p = dayPeriod(q.from, q.to);
    if (Number.isNaN(p.from.getTime()) || Number.isNaN(p.to.getTime()) || new Date(`${q.from}T12:00:00Z`).toISOString().slice(0, 10) !== q.from || new Date(`${q.to}T12:00:00Z`).toISOString().slice(0, 10) !== q.to) {
      throw badRequest('querystring/from, to: not days that exist');
    }
    if (p.to <= p.from) throw badRequest('querystring/to: must be on or after from');
    if ((p.to.getTime() - p.from.getTime()) / 86_400_000 > MAX_DAYS) throw badRequest(`querystring: a period of at most ${MAX_DAYS} days`);
    return p;
  }

  function scoped(req: { query: { tenantId: string } }, p: ReturnType<typeof principalOf>): void {
    assertServes(p, req.query.tenantId);
    if (!ctx.tenants.get(req.query.tenantId)) throw notFound('municipality');
  }

  function summary(tenantId: string, period: Period) {
    return summarizeStats({
      tenantId, period, now: ctx.now(), targets: store.targets(tenantId),
      alarms: store.alarms(tenantId, period), devices: store.devices(tenantId), doses: store.doses(tenantId, period),
      staffUnlocks: store.staffUnlockCount(tenantId, period), doseWindowMinutes: store.doseWindowMinutes(tenantId), testValidDays: 365,
    });
  }

  async function series(tenantId: string, period: Period, metric: SeriesMetric, interval: Interval): Promise<{ keys: string[]; buckets: SeriesBucket[] }> {
    const edges = bucketEdges(period, interval);
    if (edges.length - 1 > MAX_BUCKETS) throw badRequest(`querystring/interval: ${edges.length - 1} buckets; at most ${MAX_BUCKETS} (choose a longer interval)`);
    const ts = ctx.timeseries;
    switch (metric) {
      case 'alarms':
      case 'test_alarms':
      case 'escalations': {
        const action = metric === 'escalations' ? 'escalated' : 'raised';
        const rows = await ts.sumBuckets({ measurement: 'alarm_lifecycle', field: 'count', tags: { tenant: tenantId, action, test: String(metric === 'test_alarms') }, groupBy: ['category'], edges });
        const keys = ['care', 'technical'];
        return { keys, buckets: bucketsFromSums(rows, edges, (t) => t.category ?? null, keys) };
      }
      case 'events': {
        const rows = await ts.sumBuckets({ measurement: 'device_events', field: 'count', tags: { tenant: tenantId }, groupBy: ['type'], edges });
        const keys = [...new Set(rows.map((r) => r.tags.type as string))].sort();
        return { keys, buckets: bucketsFromSums(rows, edges, (t) => t.type ?? null, keys) };
      }
      case 'doses': {
        const rows = await ts.sumBuckets({ measurement: 'device_events', field: 'count', tags: { tenant: tenantId, kind: 'medicine_dispenser' }, groupBy: ['type'], edges });
        const keys = ['dose_due', 'dose_taken', 'dose_missed'];
        return { keys: [...keys, 'missedShare'], buckets: withMissedShare(bucketsFromSums(rows, edges, (t) => (keys.includes(t.type ?? '') ? t.type as string : null), keys)) };
      }
      case 'answered':
        return { keys: ['alarms', 'within60s', 'within180s', 'shareWithin60s', 'shareWithin180s'], buckets: answeredSeries(store.alarms(tenantId, period), edges) };
      case 'staff_unlocks':
        return { keys: ['staffUnlocks'], buckets: countSeries(store.staffUnlocks(tenantId, period), edges, 'staffUnlocks') };
    }
  }

  const docs = (summary: string) => ({ tags: ['stats'], summary, security: [{ bearer: [] }] });

  app.get('/api/stats/summary', {
    onRequest: requires('stats:read'),
    schema: { ...docs('Aggregates for a municipality and a calendar period in Oslo: users per technology, answer times against the targets, alarms, resolutions, devices, doses, doors'), querystring: PeriodQuery, response: { 200: SummarySchema } },
  }, async (req) => {
    scoped(req, principalOf(req));
    return summary(req.query.tenantId, periodOf(req.query));
  });

  app.get('/api/stats/summary.csv', {
    onRequest: requires('stats:read'),
    schema: { ...docs('The summary as CSV: UTF-8 with a BOM, semicolons, one row per figure (section; key; value; suppressed)'), querystring: PeriodQuery },
  }, async (req, reply) => {
    scoped(req, principalOf(req));
    const s = summary(req.query.tenantId, periodOf(req.query));
    const rows: (string | number | null)[][] = [['section', 'key', 'value', 'suppressed']];
    const persons = (section: string, u: Record<string, { value: number | null; suppressed: boolean }>) => {
      for (const [k, c] of Object.entries(u)) rows.push([section, k, c.suppressed ? '<5' : c.value, c.suppressed ? 'yes' : 'no']);
    };
    rows.push(['period', 'from', s.from, 'no'], ['period', 'to', s.to, 'no']);
    persons('users_at_end', s.users);
    persons('users_during', s.usersDuring);
    persons('users_new', s.usersNew);
    persons('users_ended', s.usersEnded);
    for (const [k, v] of Object.entries({ total: s.alarms.total, test: s.alarms.test, escalated: s.alarms.escalated, repeats: s.alarms.repeats, outages: s.alarms.outages })) rows.push(['alarms', k, v, 'no']);
    for (const [k, v] of Object.entries(s.alarms.byType)) rows.push(['alarms_by_type', k, v, 'no']);
    for (const [k, v] of Object.entries(s.alarms.byCategory)) rows.push(['alarms_by_category', k, v, 'no']);
    const { slowest: _s, targets, ...response } = s.response;
    for (const [k, v] of Object.entries(response)) rows.push(['response', k, typeof v === 'boolean' ? String(v) : v, 'no']);
    rows.push(['targets', 'within60s', targets.within60s, 'no'], ['targets', 'within180s', targets.within180s, 'no']);
    for (const [k, v] of Object.entries(s.resolutions)) rows.push(['resolutions', k, v, 'no']);
    for (const [k, v] of Object.entries(s.falseAlarmsByKind)) rows.push(['false_alarm_share', k, v.share, 'no']);
    for (const [k, v] of Object.entries(s.doses)) rows.push(['doses', k, v, 'no']);
    rows.push(['doors', 'staffUnlocks', s.doors.staffUnlocks, 'no']);
    for (const [kind, d] of Object.entries(s.devices.byKind)) for (const [k, v] of Object.entries(d)) rows.push([`devices_${kind}`, k, v, 'no']);
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="statistikk-${s.tenantId}.csv"`).send(csvText(rows));
  });

  app.get('/api/stats/series', {
    onRequest: requires('stats:read'),
    schema: { ...docs('A figure per hour, day or week (Oslo calendar) for the charts'), querystring: SeriesQuery, response: { 200: SeriesSchema } },
  }, async (req) => {
    scoped(req, principalOf(req));
    const period = periodOf(req.query);
    const r = await series(req.query.tenantId, period, req.query.metric, req.query.interval);
    return { tenantId: req.query.tenantId, metric: req.query.metric, interval: req.query.interval, from: period.from.toISOString(), to: period.to.toISOString(), ...r };
  });

  app.get('/api/stats/series.csv', {
    onRequest: requires('stats:read'),
    schema: { ...docs('A series as CSV: UTF-8 with a BOM, semicolons; a row per bucket'), querystring: SeriesQuery },
  }, async (req, reply) => {
    scoped(req, principalOf(req));
    const period = periodOf(req.query);
    const r = await series(req.query.tenantId, period, req.query.metric, req.query.interval);
    const rows = [['start', 'end', ...r.keys], ...r.buckets.map((b) => [b.start, b.end, ...r.keys.map((k) => b.values[k] ?? null)])];
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${req.query.metric}-${req.query.tenantId}.csv"`).send(csvText(rows));
  });

  app.put('/api/tenants/:id/targets', {
    onRequest: requires('tenants:write'),
    schema: {
      tags: ['tenants'], summary: 'The answer-time targets of a municipality: shares acknowledged within 60 s and 180 s', security: [{ bearer: [] }],
      params: Type.Object({ id: TenantId }),
      body: Type.Object({ within60s: Type.Number({ minimum: 0, maximum: 1 }), within180s: Type.Number({ minimum: 0, maximum: 1 }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ within60s: Type.Number(), within180s: Type.Number() }) },
    },
  }, async (req) => {
    const p = principalOf(req);
    assertServes(p, req.params.id);
    if (!store.setTargets(req.params.id, req.body)) throw notFound('municipality');
    ctx.audit.record(p, { action: 'set_targets', targetType: 'tenant', targetId: req.params.id, tenantId: req.params.id }, ctx.now());
    return store.targets(req.params.id);
  });

};
