import { describe, expect, it } from 'vitest';
import {
  bucketEdges, bucketOf, dayPeriod, heatmap, isTestAlarm, osloInstant, osloParts, percentile, persons, presetPeriod,
} from '../../hub/core/stats.ts';

const iso = (d: Date) => d.toISOString();

describe('the Oslo calendar', () => {
  it('finds local midnight in winter and summer time', () => {
    expect(iso(osloInstant(2026, 1, 15))).toBe('2026-01-14T23:00:00.000Z');
    expect(iso(osloInstant(2026, 7, 15))).toBe('2026-07-14T22:00:00.000Z');
  });
  it('has a 23-hour day when the clocks go forward and a 25-hour day when they go back', () => {
    const spring = bucketEdges(dayPeriod('2026-03-29', '2026-03-29'), 'day');
    expect((spring[1]!.getTime() - spring[0]!.getTime()) / 3_600_000).toBe(23);
    const autumn = bucketEdges(dayPeriod('2026-10-25', '2026-10-25'), 'day');
    expect((autumn[1]!.getTime() - autumn[0]!.getTime()) / 3_600_000).toBe(25);
    expect(bucketEdges(dayPeriod('2026-10-25', '2026-10-25'), 'hour')).toHaveLength(26);
    expect(bucketEdges(dayPeriod('2026-03-29', '2026-03-29'), 'hour')).toHaveLength(24);
  });
  it('starts weeks on Monday at local midnight, the first and last partial', () => {
    const edges = bucketEdges(dayPeriod('2026-11-04', '2026-11-20'), 'week'); // a Wednesday to a Friday
    expect(edges.map((e) => osloParts(e)).map((p) => [p.day, p.weekday, p.hour])).toEqual([[4, 2, 0], [9, 0, 0], [16, 0, 0], [21, 5, 0]]);
  });
  it('gives the presets as calendar periods', () => {
    const now = new Date('2026-11-26T12:00:00Z');
    const p = (x: Parameters<typeof presetPeriod>[0]) => { const r = presetPeriod(x, now); return [iso(r.from), iso(r.to)]; };
    expect(p('this_month')).toEqual(['2026-10-31T23:00:00.000Z', '2026-11-30T23:00:00.000Z']);
    expect(p('last_month')).toEqual(['2026-09-30T22:00:00.000Z', '2026-10-31T23:00:00.000Z']);
    expect(p('this_year')).toEqual(['2025-12-31T23:00:00.000Z', '2026-12-31T23:00:00.000Z']);
    expect(p('last_12_months')).toEqual(['2025-11-30T23:00:00.000Z', '2026-11-30T23:00:00.000Z']);
    const dec = presetPeriod('last_12_months', new Date('2026-12-10T12:00:00Z'));
    expect([iso(dec.from), iso(dec.to)]).toEqual(['2025-12-31T23:00:00.000Z', '2026-12-31T23:00:00.000Z']);
  });
  it('puts an instant in its bucket, and nothing outside the period', () => {
    const edges = bucketEdges(dayPeriod('2026-11-01', '2026-11-03'), 'day');
    expect(bucketOf(edges, Date.parse('2026-11-01T23:30:00Z'))).toBe(1); // 00:30 on the 2nd in Oslo
    expect(bucketOf(edges, Date.parse('2026-10-31T22:59:59Z'))).toBe(-1);
    expect(bucketOf(edges, edges[3]!.getTime())).toBe(-1);
  });
});

describe('numbers', () => {
  it('takes nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(percentile([5], 90)).toBe(5);
  });
  it('suppresses counts of persons from 1 to 4', () => {
    expect([0, 1, 4, 5, 12].map(persons)).toEqual([
      { value: 0, suppressed: false }, { value: null, suppressed: true }, { value: null, suppressed: true },
      { value: 5, suppressed: false }, { value: 12, suppressed: false },
    ]);
  });
  it('tells test alarms: a chain test\'s, and the installation test alarm type', () => {
    expect(isTestAlarm({ type: 'sos', test: true })).toBe(true);
    expect(isTestAlarm({ type: 'test_alarm' })).toBe(true);
    expect(isTestAlarm({ type: 'sos' })).toBe(false);
  });
  it('counts alarms by Oslo weekday and hour, leaving test alarms out', () => {
    const grid = heatmap([
      { createdAt: '2026-11-23T23:30:00Z', test: false }, // Tuesday 00:30 in Oslo
      { createdAt: '2026-11-23T23:40:00Z', test: true },
    ]);
    expect(grid[1]![0]).toBe(1);
    expect(grid.flat().reduce((a, b) => a + b, 0)).toBe(1);
  });
});
