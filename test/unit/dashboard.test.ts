import { describe, expect, it } from 'vitest';
import { RESOLUTION_REASONS, SYSTEM_REASONS, TRANSITION_ACTIONS, type Alarm } from '../../hub/core/alarms.ts';
import { DEVICE_KINDS, eventTypesOf } from '../../hub/core/events.ts';
import { DEVICE_FLAGS } from '../../hub/core/model.ts';
import { defaultRules } from '../../hub/core/rules.ts';
import { OUTAGE_TYPE, RULE_FAILED_TYPE } from '../../hub/alarms/service.ts';
import { positionOf } from '../../dashboard/src/lib/position.ts';
import { saidText } from '../../dashboard/src/lib/said.ts';
import { english, SAID_TEMPLATES, say } from '../../hub/core/said.ts';
import { apply, disconnected, EMPTY, newlyRaised, queue } from '../../dashboard/src/lib/alarms-state.ts';
import { clockSkewMs, formatAge, formatTime } from '../../dashboard/src/lib/format.ts';
import { alarmTypeLabel, DICTIONARIES, eventTypeLabel, type Key, LANGUAGES, translate } from '../../dashboard/src/lib/i18n.ts';

const base: Alarm = {
  id: 'a', tenantId: '0301', residentId: 'r', deviceId: 'd', type: 'button_pressed', category: 'care', priority: 3, state: 'open',
  count: 1, ruleId: null, detail: null, devices: [], createdAt: '2026-11-22T01:00:00.000Z', updatedAt: '2026-11-22T01:00:00.000Z',
  acknowledgedBy: null, acknowledgedAt: null, resolvedBy: null, resolvedAt: null, resolution: null, escalationLevel: 0, nextEscalationAt: null,
};
const alarm = (o: Partial<Alarm>): Alarm => ({ ...base, ...o });

describe('translations', () => {
  it('have every key in both languages, none empty, the same placeholders', () => {
    const keys = Object.keys(DICTIONARIES.nb).sort();
    for (const lang of LANGUAGES) {
      expect(Object.keys(DICTIONARIES[lang]).sort()).toEqual(keys);
      for (const k of keys) expect(DICTIONARIES[lang][k as Key].trim(), `${lang}.${k}`).not.toBe('');
    }
    for (const k of keys) {
      const ph = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(ph(DICTIONARIES.en[k as Key]), k).toEqual(ph(DICTIONARIES.nb[k as Key]));
    }
  });
  it('name every alarm type of the default rules, every reason and every device kind', () => {
    const types = [...new Set([...defaultRules().map((r) => r.alarmType), OUTAGE_TYPE, RULE_FAILED_TYPE])];
    for (const lang of LANGUAGES) {
      for (const type of types) expect(alarmTypeLabel(lang, type), `${lang} ${type}`).not.toBe(type.replace(/_/g, ' '));
      for (const r of [...RESOLUTION_REASONS, ...SYSTEM_REASONS]) expect(DICTIONARIES[lang], `${lang} reason_${r}`).toHaveProperty(`reason_${r}`);
      for (const k of DEVICE_KINDS) expect(DICTIONARIES[lang], `${lang} kind_${k}`).toHaveProperty(`kind_${k}`);
      for (const f of DEVICE_FLAGS) expect(DICTIONARIES[lang], `${lang} flag_${f}`).toHaveProperty(`flag_${f}`);
      for (const c of Object.keys(SAID_TEMPLATES)) expect(DICTIONARIES[lang], `${lang} said_${c}`).toHaveProperty(`said_${c}`);
      for (const a of TRANSITION_ACTIONS) expect(DICTIONARIES[lang], `${lang} action_${a}`).toHaveProperty(`action_${a}`);
      for (const k of DEVICE_KINDS) for (const e of eventTypesOf(k)) expect(eventTypeLabel(lang, e), `${lang} ${e}`).not.toBe(e.replace(/_/g, ' '));
    }
  });
  it('fills placeholders and shows an unknown alarm type readably', () => {
    expect(translate('nb', 'claimedBy', { name: 'ola' })).toBe('Tatt av ola');
    expect(translate('en', 'claimedBy', { name: 'ola' })).toBe('Claimed by ola');
    expect(alarmTypeLabel('nb', 'bed_exit_at_night')).toBe('bed exit at night');
  });
});

describe('formatting', () => {
  it('counts age in seconds, minutes and hours', () => {
    expect(formatAge(45_000, 'nb')).toBe('45 s');
    expect(formatAge(187_000, 'nb')).toBe('3 min 07 s');
    expect(formatAge((2 * 3600 + 5 * 60) * 1000, 'nb')).toBe('2 t 05 min');
    expect(formatAge((2 * 3600 + 5 * 60) * 1000, 'en')).toBe('2 h 05 min');
    expect(formatAge(-5, 'en')).toBe('0 s');
  });
  it('shows times in Europe/Oslo, summer and winter', () => {
    const now = new Date('2026-07-01T12:00:00Z');
    expect(formatTime('2026-07-01T21:30:00Z', 'nb', now)).toBe('23:30:00');
    expect(formatTime('2026-01-15T21:30:00Z', 'nb', new Date('2026-01-15T12:00:00Z'))).toBe('22:30:00');
    expect(formatTime('2026-06-30T21:30:00Z', 'en', now)).toContain('30/06/2026');
  });
});

describe('clock skew', () => {
  it('is the hub\'s time minus the screen\'s, and nothing for a stamp it cannot read', () => {
    expect(clockSkewMs('2026-11-22T02:00:05.000Z', Date.parse('2026-11-22T02:00:00.000Z'))).toBe(5000);
    expect(clockSkewMs('2026-11-22T01:59:00.000Z', Date.parse('2026-11-22T02:00:00.000Z'))).toBe(-60_000);
    expect(clockSkewMs('soon', 0)).toBe(0);
  });
});

describe('the queue from the live channel', () => {
  it('sorts by priority, then age', () => {
    let s = apply(EMPTY, {
      type: 'snapshot', epoch: 'e', seq: 3, now: '2026-11-22T01:20:00Z', alarms: [
        alarm({ id: 'late-p3', priority: 3, createdAt: '2026-11-22T01:05:00Z' }),
        alarm({ id: 'p1', priority: 1, createdAt: '2026-11-22T01:10:00Z' }),
        alarm({ id: 'early-p3', priority: 3, createdAt: '2026-11-22T01:00:00Z' }),
      ],
    });
    expect(queue(s).map((a) => a.id)).toEqual(['p1', 'early-p3', 'late-p3']);
    s = apply(s, { type: 'alarm', seq: 4, now: '2026-11-22T01:20:00Z', change: 'escalated', alarm: alarm({ id: 'late-p3', priority: 1, createdAt: '2026-11-22T01:05:00Z', updatedAt: '2026-11-22T01:06:00Z' }) });
    expect(queue(s).map((a) => a.id)).toEqual(['late-p3', 'p1', 'early-p3']);
  });
  it('drops resolved alarms, ignores messages it already has, and knows when it is stale', () => {
    const now = '2026-11-22T01:20:00Z';
    let s = apply(EMPTY, { type: 'snapshot', epoch: 'e', seq: 1, now, alarms: [alarm({ id: 'a' })] });
    expect(s.synced).toBe(true);
    const newer = apply(s, { type: 'alarm', seq: 2, now, change: 'raised', alarm: alarm({ id: 'b' }) });
    expect(newlyRaised(s, newer).map((a) => a.id)).toEqual(['b']);
    s = newer;
    expect(apply(s, { type: 'alarm', seq: 2, now, change: 'resolved', alarm: alarm({ id: 'b', state: 'resolved' }) })).toBe(s);
    s = apply(s, { type: 'alarm', seq: 3, now, change: 'resolved', alarm: alarm({ id: 'b', state: 'resolved', updatedAt: '2026-11-22T02:00:00Z' }) });
    expect(queue(s).map((a) => a.id)).toEqual(['a']);
    s = disconnected(s);
    expect(s.synced).toBe(false);
    expect(queue(s).map((a) => a.id)).toEqual(['a']);
    s = apply(s, { type: 'resume', epoch: 'e', seq: 3, now });
    expect(s.synced).toBe(true);
  });
});

describe('the position on the map', () => {
  const ev = (lat: number, receivedAt: string, ts: string) => ({ receivedAt, event: { id: 'x', ts, type: 'position' as const, lat, lon: 10, accuracy: 5 } });
  it('is the newest fix by the hub\'s time, whatever the device\'s clock said', () => {
    const detail = { events: [ev(60, '2026-11-26T10:00:00Z', '2099-01-01T00:00:00Z'), ev(61, '2026-11-26T10:05:00Z', '2026-11-26T10:05:00Z')] };
    expect(positionOf(detail, null)).toMatchObject({ lat: 61 });
    const device = { position: { lat: 62, lon: 10, accuracy: 5, at: '2026-11-26T10:10:00Z', deviceTs: '2001-01-01T00:00:00Z' } };
    expect(positionOf(detail, device)).toMatchObject({ lat: 62 });
    expect(positionOf({ events: [ev(63, '2026-11-26T10:20:00Z', '2001-01-01T00:00:00Z')] }, device)).toMatchObject({ lat: 63 });
  });
  it('is nothing when nothing has a position', () => {
    expect(positionOf({ events: [] }, { position: null })).toBeNull();
  });
});

describe('what the hub said, in the reader\'s language', () => {
  it('says every code in Norwegian with the values put in, event types and reasons translated, times in Oslo', () => {
    const s = say('reported_again', { eventType: 'heartbeat' });
    expect(saidText('nb', s, english(s))).toBe('enheten meldte seg igjen (Livstegn)');
    expect(saidText('en', s, english(s))).toBe('device reported again (Heartbeat)');
    expect(saidText('nb', say('resolved', { reason: 'staff_sent', note: 'alt ok' }), null)).toBe('Personell sendt: alt ok');
    expect(saidText('nb', say('silent_since', { at: '2026-11-26T09:30:00.000Z' }), null)).toMatch(/^taus siden (\d{2}\.\d{2}\.\d{4}, )?10:30:00$/);
  });
  it('falls back to the English text for what it cannot say (old rows, unknown codes)', () => {
    expect(saidText('nb', null, 'battery 12 %')).toBe('battery 12 %');
    expect(saidText('nb', { code: 'from_the_future', params: {} }, 'something new')).toBe('something new');
  });
  it('has an English template for every code the hub uses, matching its values', () => {
    expect(english(say('outage', { devices: 12, minutes: 5 }))).toBe('12 devices went silent within 5 minutes');
    for (const [code, template] of Object.entries(SAID_TEMPLATES)) {
      const en = DICTIONARIES.en[`said_${code}` as Key];
      const ph = (x: string) => [...x.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(ph(en), code).toEqual(ph(template));
    }
  });
});
