/**
 * Statistics benchmark: a year of a large municipality (5,000 devices, 50,000 alarms with their
 * answer times and resolutions, dose and door events, the alarm steps in the time series), then
 * the leader's requests for that year over HTTP: the summary, its CSV and the weekly series.
 * The reference, measured in the same run, is the bare read of the year's alarm rows from SQLite.
 *
 *   npm run bench:stats -- --devices 5000 --alarms 50000 --runs 5
 */
import { parseArgs } from 'node:util';
import { acknowledge, raise, resolve, RESOLUTION_REASONS } from '../hub/core/alarms.ts';
import type { DeviceKind } from '../hub/core/events.ts';
import { isTestAlarm } from '../hub/core/stats.ts';
import { shortId } from '../hub/security/secrets.ts';
import { percentile } from '../simulators/stats.ts';
import { startTestHub } from '../test/helpers/hub.ts';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '5000' }, alarms: { type: 'string', default: '50000' }, runs: { type: 'string', default: '5' } } });
const nDevices = Number(values.devices);
const nAlarms = Number(values.alarms);
const runs = Number(values.runs);
const YEAR = 2025;
const from = Date.parse(`${YEAR}-01-01T00:00:00+01:00`);
const span = Date.parse(`${YEAR + 1}-01-01T00:00:00+01:00`) - from;

// A seeded generator, so every run seeds the same year.
let seed = 42;
const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);

const t = await startTestHub();
const { ctx } = t.hub;
await t.api('POST', '/api/tenants', { id: '0301', name: 'Oslo' });
const started = performance.now();
const KINDS: DeviceKind[] = ['safety_alarm', 'safety_alarm', 'safety_alarm', 'door_lock', 'gps_tracker', 'medicine_dispenser'];
const devices = ctx.db.transaction(() => Array.from({ length: nDevices }, (_, i) => {
  const r = ctx.residents.create({ tenantId: '0301', name: `Beboer ${i}`, address: `Gate ${i}` }, new Date(from - 86_400_000));
  const kind = KINDS[i % KINDS.length] as DeviceKind;
  return { id: (ctx.devices.create({ tenantId: '0301', kind, serial: `S-${i}`, residentId: r.id }, new Date(from + rnd() * span * 0.2)) as { device: { id: string } }).device.id, kind, residentId: r.id };
}))();
const TYPES: Record<DeviceKind, [string, 'care' | 'technical'][]> = {
  safety_alarm: [['button_pressed', 'care'], ['fall_detected', 'care'], ['device_offline', 'technical'], ['battery_low', 'technical']],
  door_lock: [['door_forced', 'care'], ['door_open_too_long', 'care']],
  gps_tracker: [['sos', 'care'], ['left_safe_zone', 'care']],
  medicine_dispenser: [['dose_not_taken', 'care'], ['dispenser_malfunction', 'technical']],
};
const policy = ctx.alarmService ? { ackDeadlineSeconds: [60, 120, 300, 900, 3600] as [number, number, number, number, number], escalationRepeatSeconds: 60, cancelGraceSeconds: 60 } : undefined;
ctx.db.transaction(() => {
  for (let i = 0; i < nAlarms; i++) {
    const d = devices[Math.floor(rnd() * devices.length)]!;
    const [type, category] = TYPES[d.kind][Math.floor(rnd() * TYPES[d.kind].length)]!;
    const at = new Date(from + rnd() * span);
    const raised = raise({ id: shortId('al'), tenantId: '0301', residentId: d.residentId, deviceId: d.id, spec: { ruleId: 'r', alarmType: type, priority: category === 'care' ? 1 : 3, category } }, at, policy!);
    const user = { id: 'u', name: 'operator' };
    const acked = acknowledge(raised.alarm, user, new Date(at.getTime() + (5 + rnd() * rnd() * 600) * 1000));
    if (!acked.ok) throw new Error('acknowledge');
    const done = resolve(acked.alarm, user, RESOLUTION_REASONS[Math.floor(rnd() * 5)]!, 'ok', new Date(at.getTime() + (300 + rnd() * 3000) * 1000));
    if (!done.ok) throw new Error('resolve');
    ctx.alarms.insert(done.alarm, [...raised.transitions, ...acked.transitions, ...done.transitions]);
    const a = done.alarm;
    ctx.series.countAlarm({ tenant: '0301', type: a.type, category: a.category, action: 'raised', test: isTestAlarm(a) }, new Date(a.createdAt));
    ctx.series.countAlarm({ tenant: '0301', type: a.type, category: a.category, action: 'acknowledged', test: false }, new Date(a.acknowledgedAt!));
  }
})();
const dispensers = devices.filter((d) => d.kind === 'medicine_dispenser');
const doors = devices.filter((d) => d.kind === 'door_lock');
ctx.db.transaction(() => {
  for (let day = 0; day < 365; day += 3) {
    for (const d of dispensers.slice(0, 200)) {
      const at = new Date(from + day * 86_400_000 + 8 * 3_600_000);
      ctx.events.insert(d.id, '0301', { id: `due-${day}`, ts: at.toISOString(), type: 'dose_due', doseId: 'm', scheduledAt: at.toISOString() }, at);
      if (rnd() > 0.1) ctx.events.insert(d.id, '0301', { id: `taken-${day}`, ts: at.toISOString(), type: 'dose_taken', doseId: 'm', scheduledAt: at.toISOString() }, new Date(at.getTime() + 600_000));
    }
    for (const d of doors.slice(0, 200)) {
      const at = new Date(from + day * 86_400_000 + 10 * 3_600_000);
      ctx.events.insert(d.id, '0301', { id: `u-${day}`, ts: at.toISOString(), type: 'unlocked', by: 'staff', staffId: 's' }, at);
    }
  }
})();
await ctx.series.flush();
const seeded = (performance.now() - started) / 1000;

const q = `tenantId=0301&from=${YEAR}-01-01&to=${YEAR}-12-31`;
async function time(path: string): Promise<number> {
  const s = performance.now();
  const res = await fetch(`${t.httpUrl}${path}`, { headers: { authorization: `Bearer ${t.adminToken}` } });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
  return performance.now() - s;
}
const results: Record<string, number[]> = { summary: [], 'summary.csv': [], 'series alarms by week': [], 'series answered by week': [], 'series alarms by day': [], reference: [] };
const read = ctx.db.prepare('SELECT data FROM alarms WHERE tenant_id = ? AND created_at >= ? AND created_at < ?').pluck();
for (let i = 0; i < runs; i++) {
  results.summary!.push(await time(`/api/stats/summary?${q}`));
  results['summary.csv']!.push(await time(`/api/stats/summary.csv?${q}`));
  results['series alarms by week']!.push(await time(`/api/stats/series?${q}&metric=alarms&interval=week`));
  results['series answered by week']!.push(await time(`/api/stats/series?${q}&metric=answered&interval=week`));
  results['series alarms by day']!.push(await time(`/api/stats/series?${q}&metric=alarms&interval=day`));
  const s = performance.now();
  const rows = read.all('0301', new Date(from).toISOString(), new Date(from + span).toISOString()) as string[];
  if (rows.length !== nAlarms) throw new Error(`read ${rows.length} alarms`);
  results.reference!.push(performance.now() - s);
}
const check = await (await fetch(`${t.httpUrl}/api/stats/summary?${q}`, { headers: { authorization: `Bearer ${t.adminToken}` } })).json() as { alarms: { total: number } };
await t.close();
const ref = percentile(results.reference!, 50);
console.log(`seeded ${nDevices} devices and ${nAlarms} alarms of ${YEAR} in ${seeded.toFixed(1)} s; the summary counts ${check.alarms.total} alarms`);
console.log(`medians of ${runs} runs (time series: ${ctx.timeseries.name}):`);
for (const [k, v] of Object.entries(results)) {
  const m = percentile(v, 50);
  console.log(`  ${k.padEnd(26)} ${m.toFixed(0).padStart(5)} ms${k === 'reference' ? '  (bare read of the year\'s alarm rows)' : `  ${(m / ref).toFixed(1)}× the reference`}`);
}
if (check.alarms.total !== nAlarms) process.exit(1);
