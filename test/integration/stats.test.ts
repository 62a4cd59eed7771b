/**
 * Leaders' statistics from alarms driven through the real hub with known answer times and
 * reasons, read back exactly from the API and the CSV; the same scenario against the embedded
 * time series and against InfluxDB gives identical numbers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../hub/core/alarms.ts';
import { topics } from '../../hub/core/topics.ts';
import { apiClient, type Api, connectDevice, nextEventId, type Registered, registerDevice, startTestHub, type TestHub } from '../helpers/hub.ts';
import { type Influxd, startInfluxd } from '../helpers/influxd.ts';

/** A clock that stands still unless the test moves it: two runs of a scenario see the same times. */
class StillClock {
  constructor(private ms: number) {}
  readonly now = () => new Date(this.ms);
  advance(seconds: number): void { this.ms += seconds * 1000; }
}

const DAY = '2026-11-18'; // a Wednesday
const START = Date.parse('2026-11-18T09:00:00Z');

type Run = { t: TestHub; clock: StillClock; leader: Api; devices: Record<string, Registered> };

async function scenario(influx: Influxd | null, db: string): Promise<Run> {
  const clock = new StillClock(START);
  // The silence check only at the start: the devices here say nothing for hours, as the scenario does not need them to.
  const t = await startTestHub({ clock, influx: influx ? { url: influx.url, database: db, bufferMaxPoints: 100_000 } : null, config: { scheduler: { tickMs: 250, silenceEveryMs: 1e12 } } });
  await t.api('POST', '/api/tenants', { id: '0301', name: 'Oslo' });
  await t.api('POST', '/api/tenants', { id: '4601', name: 'Bergen' });
  await t.api('POST', '/api/users', { username: 'leder', password: 'Nattevakt-Kaffe-7', role: 'leader', tenantIds: ['0301'] });
  const token = (await t.api('POST', '/api/auth/login', { username: 'leder', password: 'Nattevakt-Kaffe-7' }, null)).body.token;
  const leader = apiClient(t.httpUrl, () => token);
  const devices: Record<string, Registered> = {};
  for (let i = 0; i < 6; i++) devices[`sa${i}`] = await registerDevice(t.api, 'safety_alarm', '0301');
  devices.door = await registerDevice(t.api, 'door_lock', '0301');
  devices.door2 = await registerDevice(t.api, 'door_lock', '0301');
  devices.md = await registerDevice(t.api, 'medicine_dispenser', '0301');
  await registerDevice(t.api, 'safety_alarm', '4601');

  const send = async (dev: Registered, e: Record<string, unknown>) => {
    const c = await connectDevice(t.mqttUrl, dev);
    await c.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: clock.now().toISOString(), ...e }), { qos: 1 });
    await c.endAsync();
    const list = (await t.api('GET', `/api/alarms?deviceId=${dev.id}`)).body as Alarm[];
    return list[0];
  };
  /** An alarm answered after `ack` seconds and resolved `resolve` seconds after it was raised. */
  const answered = async (dev: Registered, type: string, ack: number, resolve: number, reason: string) => {
    const a = await send(dev, { type });
    clock.advance(ack);
    expect((await t.api('POST', `/api/alarms/${a?.id}/acknowledge`)).status).toBe(200);
    clock.advance(resolve - ack);
    expect((await t.api('POST', `/api/alarms/${a?.id}/resolve`, { reason, note: 'ok' })).status).toBe(200);
    clock.advance(600);
  };
  await answered(devices.sa0!, 'button_pressed', 30, 100, 'false_alarm');
  await answered(devices.sa1!, 'fall_detected', 90, 400, 'staff_sent');
  await answered(devices.sa2!, 'button_pressed', 200, 300, 'resolved_by_phone');
  await answered(devices.door!, 'forced', 10, 50, 'false_alarm');
  // Cancelled by the resident within the grace period: needed no answer.
  await send(devices.sa3!, { type: 'button_pressed' });
  clock.advance(5);
  await send(devices.sa3!, { type: 'alarm_cancelled' });
  clock.advance(600);
  // A test alarm is counted apart.
  await send(devices.sa4!, { type: 'test_alarm' });
  // Doses and doors.
  const scheduledAt = clock.now().toISOString();
  await send(devices.md!, { type: 'dose_due', doseId: 'morgen', scheduledAt });
  clock.advance(600);
  await send(devices.md!, { type: 'dose_taken', doseId: 'morgen', scheduledAt });
  await send(devices.md!, { type: 'dose_due', doseId: 'kveld', scheduledAt: clock.now().toISOString() });
  await send(devices.md!, { type: 'dose_missed', doseId: 'kveld', scheduledAt: clock.now().toISOString() });
  for (let i = 0; i < 3; i++) await send(devices.door!, { type: 'unlocked', by: 'staff', staffId: `ansatt-${i}` });
  await send(devices.door!, { type: 'unlocked', by: 'resident' });
  await t.hub.ctx.series.flush();
  if (influx) await (t.hub.ctx.timeseries as unknown as { drain(ms: number): Promise<number> }).drain(10_000);
  return { t, clock, leader, devices };
}

let influxd: Influxd;
let embedded: Run;
let influx: Run;
beforeAll(async () => {
  influxd = await startInfluxd();
  embedded = await scenario(null, '');
  influx = await scenario(influxd, `stats_${process.pid}`);
}, 120_000);
afterAll(async () => {
  await embedded?.t.close();
  await influx?.t.close();
  await influxd?.close();
});

const q = `tenantId=0301&from=${DAY}&to=${DAY}`;

describe('the summary', () => {
  it('gives exactly the answer times, reasons, users, doses and door unlocks the scenario made', async () => {
    const res = await embedded.leader('GET', `/api/stats/summary?${q}`);
    expect(res.status).toBe(200);
    const s = res.body;
    expect(s.from).toBe('2026-11-17T23:00:00.000Z');
    expect(s.to).toBe('2026-11-18T23:00:00.000Z');
    expect(s.users.safety_alarm).toEqual({ value: 6, suppressed: false });
    expect(s.users.door_lock).toEqual({ value: null, suppressed: true });
    expect(s.users.medicine_dispenser).toEqual({ value: null, suppressed: true });
    expect(s.users.gps_tracker).toEqual({ value: 0, suppressed: false });
    expect(s.users.total).toEqual({ value: 9, suppressed: false });
    // Six care alarms: three presses (one cancelled by the resident), a fall, a forced door and the missed dose.
    expect(s.alarms).toEqual({ total: 6, test: 1, byType: { button_pressed: 3, fall_detected: 1, door_forced: 1, dose_not_taken: 1 }, byCategory: { care: 6, technical: 0 }, escalated: 0, repeats: 0, outages: 0 });
    // Five needed an answer; the missed dose was not answered in the scenario.
    expect(s.response).toMatchObject({
      alarms: 5, acknowledged: 4, within60s: 2, within180s: 3, shareWithin60s: 0.4, shareWithin180s: 0.6,
      targets: { within60s: 0.975, within180s: 0.99 }, meets60s: false, meets180s: false,
      medianAckSeconds: 30, p90AckSeconds: 200, medianResolveSeconds: 100, p90ResolveSeconds: 400,
    });
    expect(s.response.slowest.map((x: { type: string; seconds: number }) => [x.type, x.seconds])).toEqual([
      ['dose_not_taken', null], ['button_pressed', 200], ['fall_detected', 90], ['button_pressed', 30], ['door_forced', 10],
    ]);
    expect(s.resolutions).toEqual({ false_alarm: 2, staff_sent: 1, resolved_by_phone: 1, cancelled_by_resident: 1 });
    expect(s.falseAlarmsByKind.safety_alarm).toEqual({ resolved: 4, falseAlarms: 1, share: 0.25 });
    expect(s.falseAlarmsByKind.door_lock).toEqual({ resolved: 1, falseAlarms: 1, share: 1 });
    expect(s.doses).toEqual({ due: 2, taken: 1, late: 0, missed: 1, missedShare: 0.5 });
    expect(s.doors).toEqual({ staffUnlocks: 3 });
    expect(s.devices.byKind.safety_alarm).toMatchObject({ active: 6, neverTested: 6, technicalAlarms: 0 });
    // The alarms came on a Wednesday, from 10:00 in Oslo.
    expect(s.heatmap[2].slice(10, 16).reduce((a: number, b: number) => a + b, 0)).toBe(6);
    // Aggregates only: no names, addresses, notes or ids of residents.
    const text = JSON.stringify(s);
    for (const word of ['Kari', 'Nordmann', 'Storgata', embedded.devices.sa0!.residentId, embedded.devices.sa0!.id]) expect(text).not.toContain(word);
  });

  it('follows the municipality\'s targets', async () => {
    expect((await embedded.t.api('PUT', '/api/tenants/0301/targets', { within60s: 0.4, within180s: 0.7 })).status).toBe(200);
    const r = (await embedded.leader('GET', `/api/stats/summary?${q}`)).body.response;
    expect(r).toMatchObject({ targets: { within60s: 0.4, within180s: 0.7 }, meets60s: true, meets180s: false });
    await embedded.t.api('PUT', '/api/tenants/0301/targets', { within60s: 0.975, within180s: 0.99 });
    expect((await embedded.leader('PUT', '/api/tenants/0301/targets', { within60s: 0.1, within180s: 0.1 })).status).toBe(403);
  });

  it('exports the same numbers as CSV for a Norwegian spreadsheet', async () => {
    const res = await fetch(`${embedded.t.httpUrl}/api/stats/summary.csv?${q}`, { headers: { authorization: `Bearer ${embedded.t.adminToken}` } });
    expect(res.headers.get('content-type')).toContain('text/csv');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = bytes.subarray(3).toString('utf8').trim().split('\r\n');
    expect(lines[0]).toBe('section;key;value;suppressed');
    for (const line of ['users_at_end;safety_alarm;6;no', 'users_at_end;door_lock;<5;yes', 'response;shareWithin60s;0.4;no', 'response;shareWithin180s;0.6;no',
      'response;medianAckSeconds;30;no', 'resolutions;false_alarm;2;no', 'doses;missed;1;no', 'doors;staffUnlocks;3;no', 'alarms;test;1;no']) {
      expect(lines, line).toContain(line);
    }
  });

  it('refuses periods that do not exist or are too long, other municipalities and other roles', async () => {
    expect((await embedded.leader('GET', '/api/stats/summary?tenantId=0301&from=2026-02-30&to=2026-03-01')).status).toBe(400);
    expect((await embedded.leader('GET', '/api/stats/summary?tenantId=0301&from=2026-03-02&to=2026-03-01')).status).toBe(400);
    expect((await embedded.leader('GET', '/api/stats/summary?tenantId=0301&from=2020-01-01&to=2026-01-01')).status).toBe(400);
    expect((await embedded.leader('GET', '/api/stats/summary?tenantId=0301')).body.message).toContain('period');
    expect((await embedded.leader('GET', `/api/stats/summary?tenantId=0301&period=this_month`)).status).toBe(200);
    expect((await embedded.leader('GET', '/api/stats/summary?tenantId=4601&period=this_month')).status).toBe(403);
    expect((await embedded.leader('GET', '/api/stats/series?tenantId=0301&from=2026-01-01&to=2026-12-31&metric=alarms&interval=hour')).status).toBe(400);
    await embedded.t.api('POST', '/api/users', { username: 'operator-stats', password: 'Nattevakt-Kaffe-7', role: 'operator', tenantIds: ['0301'] });
    const op = (await embedded.t.api('POST', '/api/auth/login', { username: 'operator-stats', password: 'Nattevakt-Kaffe-7' }, null)).body.token;
    expect((await apiClient(embedded.t.httpUrl, () => op)('GET', `/api/stats/summary?${q}`)).status).toBe(403);
  });
});

describe('the series', () => {
  it('counts per Oslo day and hour: alarms, test alarms, answer times, doses and staff unlocks', async () => {
    const get = async (metric: string, interval = 'day') => (await embedded.leader('GET', `/api/stats/series?${q}&metric=${metric}&interval=${interval}`)).body;
    expect((await get('alarms')).buckets).toEqual([{ start: '2026-11-17T23:00:00.000Z', end: '2026-11-18T23:00:00.000Z', values: { care: 6, technical: 0 } }]);
    expect((await get('test_alarms')).buckets[0].values).toEqual({ care: 0, technical: 1 });
    expect((await get('answered')).buckets[0].values).toEqual({ alarms: 5, within60s: 2, within180s: 3, shareWithin60s: 0.4, shareWithin180s: 0.6 });
    expect((await get('doses')).buckets[0].values).toEqual({ dose_due: 2, dose_taken: 1, dose_missed: 1, missedShare: 0.5 });
    expect((await get('staff_unlocks')).buckets[0].values).toEqual({ staffUnlocks: 3 });
    const hours = await get('alarms', 'hour');
    expect(hours.buckets).toHaveLength(24);
    expect(hours.buckets.reduce((n: number, b: { values: { care: number } }) => n + b.values.care, 0)).toBe(6);
    const csv = await (await fetch(`${embedded.t.httpUrl}/api/stats/series.csv?${q}&metric=doses&interval=day`, { headers: { authorization: `Bearer ${embedded.t.adminToken}` } })).text();
    expect(csv.trim().split('\r\n')).toEqual(['start;end;dose_due;dose_taken;dose_missed;missedShare', '2026-11-17T23:00:00.000Z;2026-11-18T23:00:00.000Z;2;1;1;0.5']);
  });
});

describe('InfluxDB and the embedded store', () => {
  it('give identical numbers for the same scenario', async () => {
    expect((await influx.leader('GET', `/api/stats/summary?${q}`)).body).toEqual((await embedded.leader('GET', `/api/stats/summary?${q}`)).body);
    for (const metric of ['alarms', 'test_alarms', 'escalations', 'events', 'doses', 'answered', 'staff_unlocks']) {
      for (const interval of ['hour', 'day', 'week']) {
        const path = `/api/stats/series?${q}&metric=${metric}&interval=${interval}`;
        const a = (await embedded.leader('GET', path)).body;
        const b = (await influx.leader('GET', path)).body;
        expect(b, `${metric} by ${interval}`).toEqual(a);
      }
    }
    const events = (await influx.leader('GET', `/api/stats/series?${q}&metric=events&interval=day`)).body;
    expect(events.keys).toEqual(expect.arrayContaining(['button_pressed', 'dose_due', 'unlocked']));
    expect(events.buckets[0].values.unlocked).toBe(4);
  });
});
