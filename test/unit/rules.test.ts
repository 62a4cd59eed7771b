import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import '../../hub/core/formats.ts';
import type { DeviceEvent, DeviceKind } from '../../hub/core/events.ts';
import { distanceMetres, insideZone, type SafeZone } from '../../hub/core/geo.ts';
import { isWithinLocalWindow, localMinutes } from '../../hub/core/localtime.ts';
import {
  type DeviceMemory, EMPTY_MEMORY, type Effect, type ResidentFacts, type Rule, type RuleBody, RuleBodySchema,
  defaultRules, doseWatchKey, evaluate, GEOFENCE_WATCH_KEY, sameMemory,
} from '../../hub/core/rules.ts';
import { DEFAULT_SILENCE_POLICY, planSilence, silentSince } from '../../hub/core/silence.ts';

const rules: Rule[] = defaultRules().map((r, i) => ({ ...r, id: `rule-${i}`, tenantId: '0301' }));
const rule = (alarmType: string) => rules.find((r) => r.alarmType === alarmType && r.kind !== 'instant') ?? rules.find((r) => r.alarmType === alarmType)!;
const home = { lat: 59.9139, lon: 10.7522 };
const zone: SafeZone = { type: 'circle', center: home, radiusMetres: 300 };
const resident: ResidentFacts = { id: 'r1', riskFlags: ['wandering_risk'], safeZone: zone };

function run(kind: DeviceKind, event: Record<string, unknown> & { type: string }, now: Date, opts: { memory?: DeviceMemory; resident?: ResidentFacts; rules?: Rule[] } = {}) {
  return evaluate({
    rules: opts.rules ?? rules, deviceKind: kind, resident: opts.resident === undefined ? resident : opts.resident,
    memory: opts.memory ?? EMPTY_MEMORY, event: { id: 'e', ts: now.toISOString(), ...event } as DeviceEvent, now,
  });
}
const raised = (effects: Effect[]) => effects.flatMap((e) => (e.do === 'raise' ? [e.spec.alarmType] : []));
const cleared = (effects: Effect[]) => effects.flatMap((e) => (e.do === 'clear' ? [e.alarmType] : []));

describe('rule schema and defaults', () => {
  it('validates every default rule', () => {
    for (const r of defaultRules()) expect(Value.Check(RuleBodySchema, r), r.name).toBe(true);
  });
  it('refuses a rule with a bad time or a missing field', () => {
    const bad = { kind: 'time_window', name: 'x', enabled: true, alarmType: 'x_y', priority: 1, category: 'care', eventTypes: ['opened'], from: '25:00', to: '06:00' };
    expect(Value.Check(RuleBodySchema, bad)).toBe(false);
    expect(Value.Check(RuleBodySchema, { ...bad, from: '23:00' })).toBe(true);
    const noEnd: Record<string, unknown> = { ...bad, from: '23:00' };
    delete noEnd.to;
    expect(Value.Check(RuleBodySchema, noEnd)).toBe(false);
  });
  it('covers every kind the design names, and each default has a Norwegian and English name', () => {
    const kinds = new Set(defaultRules().map((r) => (r.kind === 'absence' ? `absence:${r.watch}` : r.kind === 'threshold' ? `threshold:${r.metric}` : r.kind)));
    expect([...kinds].sort()).toEqual(['absence:dose', 'absence:silence', 'geofence', 'instant', 'threshold:battery', 'threshold:signal', 'time_window']);
    for (const r of defaultRules()) expect(r.name).toMatch(/\S/);
  });
});

describe('instant rules', () => {
  const now = new Date('2026-11-22T12:00:00Z');
  it.each([
    ['safety_alarm', 'button_pressed', 'button_pressed'],
    ['safety_alarm', 'fall_detected', 'fall_detected'],
    ['gps_tracker', 'sos_pressed', 'sos'],
    ['door_lock', 'forced', 'door_forced'],
  ] as const)('%s %s raises %s', (kind, type, alarm) => {
    expect(raised(run(kind, { type }, now).effects)).toEqual([alarm]);
  });
  it('does nothing for a disabled rule', () => {
    const off = rules.map((r) => (r.alarmType === 'button_pressed' ? { ...r, enabled: false } : r));
    expect(raised(run('safety_alarm', { type: 'button_pressed' }, now, { rules: off }).effects)).toEqual([]);
  });
  it('clears a technical condition when its end is reported', () => {
    expect(raised(run('safety_alarm', { type: 'mains_lost' }, now).effects)).toEqual(['mains_lost']);
    expect(cleared(run('safety_alarm', { type: 'mains_restored' }, now).effects)).toContain('mains_lost');
  });
  it('ends the silence of a device with any message, and passes a resident cancel on', () => {
    expect(cleared(run('door_lock', { type: 'closed' }, now).effects)).toContain('device_offline');
    expect(run('safety_alarm', { type: 'alarm_cancelled' }, now).effects).toContainEqual({ do: 'resident_cancel' });
  });
});

describe('time window across midnight and daylight saving (Europe/Oslo)', () => {
  const night = (iso: string, r: ResidentFacts = resident) => raised(run('door_lock', { type: 'opened' }, new Date(iso), { resident: r }).effects);
  it('raises for a door opened at night by a resident at risk of wandering', () => {
    expect(night('2026-01-15T22:30:00Z')).toEqual(['night_door_open']); // 23:30 local (CET)
    expect(night('2026-01-15T23:30:00Z')).toEqual(['night_door_open']); // 00:30 local, after midnight
    expect(night('2026-01-16T04:59:00Z')).toEqual(['night_door_open']); // 05:59 local
  });
  it('not in the day, nor at the window\'s end, nor for a resident without the flag', () => {
    expect(night('2026-01-16T05:00:00Z')).toEqual([]); // 06:00 local
    expect(night('2026-01-15T21:59:00Z')).toEqual([]); // 22:59 local
    expect(night('2026-01-15T23:30:00Z', { ...resident!, riskFlags: [] })).toEqual([]);
    expect(night('2026-01-15T23:30:00Z', null)).toEqual([]);
  });
  it('keeps wall-clock hours in summer time', () => {
    expect(night('2026-07-01T21:30:00Z')).toEqual(['night_door_open']); // 23:30 CEST
    expect(night('2026-07-01T20:30:00Z')).toEqual([]); // 22:30 CEST, before the window
    expect(night('2026-07-02T03:30:00Z')).toEqual(['night_door_open']); // 05:30 CEST
    expect(night('2026-07-02T04:30:00Z')).toEqual([]); // 06:30 CEST, though 05:30 in CET
  });
  it('on the nights the clocks change', () => {
    // 29 March 2026: 02:00 CET becomes 03:00 CEST. 00:59Z is 01:59 CET; 01:00Z is 03:00 CEST.
    expect(localMinutes(new Date('2026-03-29T00:59:00Z'))).toBe(1 * 60 + 59);
    expect(localMinutes(new Date('2026-03-29T01:00:00Z'))).toBe(3 * 60);
    expect(night('2026-03-29T03:59:00Z')).toEqual(['night_door_open']); // 05:59 CEST
    expect(night('2026-03-29T04:00:00Z')).toEqual([]); // 06:00 CEST
    // 25 October 2026: 03:00 CEST becomes 02:00 CET; 02:30 local happens twice, both inside.
    expect(night('2026-10-25T00:30:00Z')).toEqual(['night_door_open']);
    expect(night('2026-10-25T01:30:00Z')).toEqual(['night_door_open']);
    expect(night('2026-10-25T05:00:00Z')).toEqual([]); // 06:00 CET
    expect(night('2026-10-25T04:59:00Z')).toEqual(['night_door_open']); // 05:59 CET
  });
  it('handles windows within a day and the whole day', () => {
    const at = new Date('2026-06-01T10:00:00Z'); // 12:00 CEST
    expect(isWithinLocalWindow(at, '11:00', '13:00')).toBe(true);
    expect(isWithinLocalWindow(at, '13:00', '11:00')).toBe(false);
    expect(isWithinLocalWindow(at, '00:00', '00:00')).toBe(true);
  });
});

describe('geofence dwell', () => {
  const t0 = new Date('2026-11-22T12:00:00Z');
  const outside = { type: 'position', lat: 59.93, lon: 10.75, accuracy: 10 }; // ~1.8 km north
  const inside = { type: 'position', lat: 59.914, lon: 10.7525, accuracy: 10 };
  it('watches from the first position outside, once, and raises when the dwell runs out', () => {
    const first = run('gps_tracker', outside, t0);
    const watch = first.effects.find((e) => e.do === 'watch');
    expect(watch).toMatchObject({ key: GEOFENCE_WATCH_KEY, dueAt: new Date(t0.getTime() + (rule('left_safe_zone') as Extract<Rule, { kind: 'geofence' }>).dwellSeconds * 1000), spec: { alarmType: 'left_safe_zone', priority: 1 } });
    expect(first.memory.outsideSince).toBe(t0.toISOString());
    const second = run('gps_tracker', outside, new Date(t0.getTime() + 30_000), { memory: first.memory });
    expect(second.effects.some((e) => e.do === 'watch')).toBe(false);
    expect(second.memory.outsideSince).toBe(t0.toISOString());
  });
  it('coming back inside ends the watch and is noted on the alarm', () => {
    const out = run('gps_tracker', outside, t0);
    const back = run('gps_tracker', inside, new Date(t0.getTime() + 200_000), { memory: out.memory });
    expect(back.effects).toContainEqual({ do: 'unwatch', key: GEOFENCE_WATCH_KEY });
    expect(back.effects.find((e) => e.do === 'note')).toMatchObject({ alarmType: 'left_safe_zone' });
    expect(back.memory.outsideSince).toBeNull();
  });
  it('needs a safe zone', () => {
    expect(run('gps_tracker', outside, t0, { resident: { ...resident!, safeZone: null } }).effects.some((e) => e.do === 'watch')).toBe(false);
  });
  it('knows circles and polygons', () => {
    expect(distanceMetres(home, { lat: 59.93, lon: 10.7522 })).toBeCloseTo(1792, -1);
    expect(insideZone({ lat: 59.914, lon: 10.753 }, zone)).toBe(true);
    expect(insideZone({ lat: 59.93, lon: 10.75 }, zone)).toBe(false);
    const square: SafeZone = { type: 'polygon', points: [{ lat: 59.91, lon: 10.74 }, { lat: 59.92, lon: 10.74 }, { lat: 59.92, lon: 10.76 }, { lat: 59.91, lon: 10.76 }] };
    expect(insideZone({ lat: 59.915, lon: 10.75 }, square)).toBe(true);
    expect(insideZone({ lat: 59.925, lon: 10.75 }, square)).toBe(false);
  });
});

describe('dose window', () => {
  it('watches a due dose until its window ends, and a taken dose ends the watch', () => {
    const scheduledAt = '2026-11-22T08:00:00.000Z';
    const due = run('medicine_dispenser', { type: 'dose_due', doseId: 'morgen', scheduledAt }, new Date(scheduledAt));
    const w = due.effects.find((e) => e.do === 'watch');
    expect(w).toMatchObject({ key: doseWatchKey('morgen', scheduledAt), dueAt: new Date('2026-11-22T09:00:00.000Z'), spec: { alarmType: 'dose_not_taken' } });
    const taken = run('medicine_dispenser', { type: 'dose_taken', doseId: 'morgen', scheduledAt }, new Date('2026-11-22T08:20:00Z'));
    expect(taken.effects).toContainEqual({ do: 'unwatch', key: doseWatchKey('morgen', scheduledAt) });
  });
  it('reads the scheduled time on the device\'s clock and moves it onto the hub\'s', () => {
    // The dispenser's clock is two hours ahead: it says 10:00 when the hub says 08:00.
    const hubNow = new Date('2026-11-22T08:00:00.000Z');
    const e = { id: 'e', ts: '2026-11-22T10:00:00.000Z', type: 'dose_due', doseId: 'morgen', scheduledAt: '2026-11-22T10:00:00.000Z' } as DeviceEvent;
    const out = evaluate({ rules, deviceKind: 'medicine_dispenser', resident, memory: EMPTY_MEMORY, event: e, now: hubNow });
    expect(out.effects.find((x) => x.do === 'watch')).toMatchObject({ dueAt: new Date('2026-11-22T09:00:00.000Z') });
    // A dispenser in 2099 does not push the deadline into 2099.
    const far = { ...e, ts: '2099-01-01T00:00:00.000Z', scheduledAt: '2099-01-01T00:00:00.000Z' } as DeviceEvent;
    const w = evaluate({ rules, deviceKind: 'medicine_dispenser', resident, memory: EMPTY_MEMORY, event: far, now: hubNow }).effects.find((x) => x.do === 'watch');
    expect(w).toMatchObject({ dueAt: new Date('2026-11-22T09:00:00.000Z') });
  });
  it('raises at once when the dispenser itself reports the dose missed', () => {
    expect(raised(run('medicine_dispenser', { type: 'dose_missed', doseId: 'kveld', scheduledAt: '2026-11-22T20:00:00Z' }, new Date()).effects)).toEqual(['dose_not_taken']);
  });
});

describe('thresholds', () => {
  const now = new Date('2026-11-22T12:00:00Z');
  const hb = (battery: number, signal = -70) => ({ type: 'heartbeat', battery, signal, firmware: '1' });
  it('raises under the battery threshold and clears only with a margin above it', () => {
    expect(raised(run('safety_alarm', hb(14), now).effects)).toEqual(['battery_low']);
    expect(cleared(run('safety_alarm', hb(17), now).effects)).not.toContain('battery_low');
    expect(cleared(run('safety_alarm', hb(20), now).effects)).toContain('battery_low');
    expect(raised(run('door_lock', { type: 'battery_low', battery: 9 }, now).effects)).toEqual(['battery_low']);
  });
  it('raises on repeated low signal only, and a good reading resets the streak', () => {
    let memory = EMPTY_MEMORY;
    const got: string[][] = [];
    for (const signal of [-110, -112, -60, -110, -111, -115]) {
      const r = run('safety_alarm', hb(80, signal), now, { memory });
      memory = r.memory;
      got.push(raised(r.effects));
    }
    expect(got).toEqual([[], [], [], [], [], ['signal_low']]);
    expect(cleared(run('safety_alarm', hb(80, -60), now, { memory }).effects)).toContain('signal_low');
  });
});

describe('silence', () => {
  const now = new Date('2026-11-22T12:00:00Z');
  const ago = (s: number) => new Date(now.getTime() - s * 1000);
  const p = DEFAULT_SILENCE_POLICY;
  it('is N × the interval after the last message', () => {
    expect(silentSince(new Date('2026-11-22T11:00:00Z'), 300, 3)).toEqual(new Date('2026-11-22T11:15:00Z'));
  });
  it('gives a lone silent device its own alarm after the hold', () => {
    expect(planSilence([{ deviceId: 'a', tenantId: '0301', since: ago(p.holdSeconds - 1) }], [], now, p).raiseOffline).toEqual([]);
    expect(planSilence([{ deviceId: 'a', tenantId: '0301', since: ago(p.holdSeconds) }], [], now, p).raiseOffline).toEqual(['a']);
  });
  it('makes one outage of many silent together in one municipality, not a flood', () => {
    const many = Array.from({ length: 6 }, (_, i) => ({ deviceId: `d${i}`, tenantId: '0301', since: ago(200 + i) }));
    const other = { deviceId: 'x', tenantId: '4601', since: ago(p.holdSeconds + 10) };
    const plan = planSilence([...many, other], [], now, p);
    expect(plan.createOutages).toEqual([{ tenantId: '0301', devices: many.map((d) => d.deviceId) }]);
    expect(plan.raiseOffline).toEqual(['x']);
  });
  it('adds late devices to a running outage, and when it ends raises only those still silent', () => {
    const outage = { alarmId: 'o1', tenantId: '0301', devices: ['d0', 'd1', 'd2', 'd3', 'd4', 'd5'] };
    const stillAll = outage.devices.map((d) => ({ deviceId: d, tenantId: '0301', since: ago(600) }));
    const late = { deviceId: 'd6', tenantId: '0301', since: ago(10) };
    const running = planSilence([...stillAll, late], [outage], now, p);
    expect(running.addToOutages).toEqual([{ alarmId: 'o1', devices: ['d6'] }]);
    expect(running.endOutages).toEqual([]);
    expect(running.raiseOffline).toEqual([]);
    const mostBack = planSilence([stillAll[0]!, stillAll[1]!], [outage], now, p);
    expect(mostBack.endOutages).toEqual([{ alarmId: 'o1', back: ['d2', 'd3', 'd4', 'd5'], stillSilent: ['d0', 'd1'] }]);
    expect(mostBack.raiseOffline).toEqual(['d0', 'd1']);
  });
});

describe('rule bodies round-trip the schema', () => {
  it('keeps types through Static', () => {
    const r: RuleBody = { kind: 'absence', watch: 'silence', name: 'x', enabled: false, alarmType: 'device_offline', priority: 2, category: 'technical', intervals: 2 };
    expect(Value.Check(RuleBodySchema, r)).toBe(true);
  });
});

describe('a rule that throws', () => {
  it('is reported with its id, what it produced is dropped, and the other rules still act', () => {
    const broken = { id: 'rule-broken', tenantId: '0301', kind: 'instant', enabled: true, alarmType: 'broken', priority: 2, category: 'care' } as unknown as Rule;
    const out = run('safety_alarm', { type: 'button_pressed' }, new Date(), { rules: [broken, ...rules] });
    expect(out.failures).toEqual([expect.objectContaining({ ruleId: 'rule-broken', ruleKind: 'instant', alarmType: 'broken' })]);
    expect(out.failures[0]?.message).toMatch(/includes|undefined/);
    expect(raised(out.effects)).toEqual(['button_pressed']);
  });
  it('leaves no failures when every rule is sound', () => {
    expect(run('safety_alarm', { type: 'button_pressed' }, new Date()).failures).toEqual([]);
  });
});

describe('rule memory', () => {
  it('is the same when every field is, whatever the object', () => {
    const m: DeviceMemory = { outsideSince: '2026-03-01T10:00:00.000Z', lowSignalStreak: 2 };
    expect(sameMemory(m, { ...m })).toBe(true);
    expect(sameMemory(EMPTY_MEMORY, { outsideSince: null, lowSignalStreak: 0 })).toBe(true);
    expect(sameMemory(m, { ...m, lowSignalStreak: 3 })).toBe(false);
    expect(sameMemory(m, { ...m, outsideSince: null })).toBe(false);
  });
});
