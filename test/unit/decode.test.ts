import { describe, expect, it } from 'vitest';
import { decodeEvent, decodeStatus, MAX_PAYLOAD_BYTES } from '../../hub/core/decode.ts';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { type DeviceEvent, DEVICE_KINDS, eventTypesOf } from '../../hub/core/events.ts';
import { isDateTime } from '../../hub/core/formats.ts';
import { readableEvent } from '../../hub/core/stored.ts';
import { sampleEvent } from '../../simulators/payloads.ts';

const ts = '2026-11-22T01:02:03.456+01:00';
/** The check the HTTP layer's serializer (fast-json-stringify, through ajv-formats) applies. */
const serializerDateTime = (fullFormats['date-time'] as { validate: (s: string) => boolean }).validate;
const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

describe('decodeEvent', () => {
  for (const kind of DEVICE_KINDS) {
    for (const type of eventTypesOf(kind)) {
      it(`accepts ${kind} ${type}`, () => {
        const e = sampleEvent(kind, type, { id: `${type}-1`, ts });
        const d = decodeEvent(kind, bytes(e));
        expect(d).toEqual({ ok: true, event: e });
      });
    }
  }

  it('rejects a type that belongs to another kind, naming the owner', () => {
    const d = decodeEvent('safety_alarm', bytes({ id: '1', ts, type: 'position', lat: 1, lon: 1, accuracy: 1 }));
    expect(d).toMatchObject({ ok: false, code: 'wrong_kind' });
    expect(!d.ok && d.reason).toContain('gps_tracker');
  });

  it('rejects an unknown type', () => {
    expect(decodeEvent('door_lock', bytes({ id: '1', ts, type: 'teleported' }))).toMatchObject({ ok: false, code: 'unknown_type' });
    expect(decodeEvent('door_lock', bytes({ id: '1', ts }))).toMatchObject({ ok: false, code: 'unknown_type' });
  });

  it.each([
    ['battery above 100', 'safety_alarm', { id: '1', ts, type: 'heartbeat', battery: 101, signal: -70, firmware: '1' }, '/battery'],
    ['battery negative', 'door_lock', { id: '1', ts, type: 'battery_low', battery: -1 }, '/battery'],
    ['latitude out of range', 'gps_tracker', { id: '1', ts, type: 'position', lat: 91, lon: 10, accuracy: 5 }, '/lat'],
    ['longitude out of range', 'gps_tracker', { id: '1', ts, type: 'position', lat: 60, lon: -181, accuracy: 5 }, '/lon'],
    ['a staff unlock without staff id', 'door_lock', { id: '1', ts, type: 'unlocked', by: 'staff' }, '/staffId'],
    ['an unlock by nobody known', 'door_lock', { id: '1', ts, type: 'unlocked', by: 'ghost' }, '/by'],
    ['a dose without dose id', 'medicine_dispenser', { id: '1', ts, type: 'dose_due', scheduledAt: ts }, '/doseId'],
    ['a timestamp that is not ISO 8601', 'safety_alarm', { id: '1', ts: 'yesterday', type: 'button_pressed' }, '/ts'],
    ['an empty id', 'safety_alarm', { id: '', ts, type: 'button_pressed' }, '/id'],
    ['an extra field', 'safety_alarm', { id: '1', ts, type: 'button_pressed', volume: 11 }, 'volume'],
  ])('rejects %s, naming the field', (_name, kind, payload, field) => {
    const d = decodeEvent(kind as 'safety_alarm', bytes(payload));
    expect(d.ok).toBe(false);
    expect(!d.ok && d.code).toBe('invalid_fields');
    expect(!d.ok && d.reason).toContain(field);
  });

  it('rejects bad JSON and non-objects', () => {
    expect(decodeEvent('safety_alarm', bytes('{"id":'))).toMatchObject({ ok: false, code: 'bad_json' });
    expect(decodeEvent('safety_alarm', bytes('[1,2]'))).toMatchObject({ ok: false, code: 'not_an_object' });
    expect(decodeEvent('safety_alarm', bytes('null'))).toMatchObject({ ok: false, code: 'not_an_object' });
  });

  it('refuses payloads over the limit without parsing them', () => {
    const big = Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20);
    expect(decodeEvent('safety_alarm', big)).toMatchObject({ ok: false, code: 'too_large' });
    const justFits = Buffer.from(JSON.stringify({ id: '1', ts, type: 'button_pressed' }).padEnd(MAX_PAYLOAD_BYTES, ' '));
    expect(decodeEvent('safety_alarm', justFits).ok).toBe(true);
  });
});

describe('decodeStatus', () => {
  it('knows online and offline only', () => {
    expect(decodeStatus(bytes('online'))).toBe('online');
    expect(decodeStatus(bytes('offline\n'))).toBe('offline');
    expect(decodeStatus(bytes('sleepy'))).toBeNull();
  });
});

describe('dates', () => {
  const at = (value: string) => decodeEvent('safety_alarm', bytes({ id: '1', ts: value, type: 'button_pressed' }));
  it.each([
    '2023-02-29T10:00:00Z', '2023-02-30T10:00:00Z', '2023-04-31T10:00:00Z', '2100-02-29T00:00:00Z',
    '2024-00-10T10:00:00Z', '2024-13-01T10:00:00Z', '2024-01-32T10:00:00Z', '2024-01-01T24:00:00Z',
    '2024-01-01T10:60:00Z', '2024-01-01T10:00:00+24:00', '2024-01-01T10:00:00', '2024-01-01',
  ])('rejects %s, naming ts', (value) => {
    expect(at(value)).toMatchObject({ ok: false, code: 'invalid_fields' });
    const d = at(value);
    if (!d.ok) expect(d.reason).toContain('/ts');
  });
  it.each(['2024-02-29T10:00:00Z', '2000-02-29T00:00:00.123+01:00', '2026-12-31T23:59:59.999999-05:00'])('accepts %s', (value) => {
    expect(at(value).ok).toBe(true);
  });
  it('accepts nothing that the HTTP serializer would refuse', () => {
    for (let m = 1; m <= 12; m++) {
      for (let d = 28; d <= 31; d++) {
        const value = `2023-${String(m).padStart(2, '0')}-${d}T12:00:00Z`;
        const exists = new Date(Date.UTC(2023, m - 1, d)).getUTCMonth() === m - 1;
        expect(isDateTime(value), value).toBe(exists);
        expect(serializerDateTime(value), value).toBe(exists);
      }
    }
  });
  it('accepts exactly what the serializer accepts and JavaScript can parse, over every edge of every field', () => {
    const grid = {
      year: ['0000', '1900', '2000', '2023', '2024', '2100', '9999'],
      month: ['00', '01', '02', '04', '12', '13'],
      day: ['00', '01', '28', '29', '30', '31', '32'],
      sep: ['T', 't', ' '],
      hour: ['00', '23', '24', '99'],
      minute: ['00', '59', '60'],
      second: ['00', '59', '60'],
      fraction: ['', '.5', '.123456789'],
      offset: ['Z', 'z', '+00:00', '-23:59', '+24:00', '-12:60', '+05:30'],
    };
    let accepted = 0;
    let checked = 0;
    for (const y of grid.year) for (const mo of grid.month) for (const d of grid.day) for (const t of grid.sep) for (const h of grid.hour) {
      for (const mi of grid.minute) for (const se of grid.second) for (const f of grid.fraction) for (const o of grid.offset) {
        const value = `${y}-${mo}-${d}${t}${h}:${mi}:${se}${f}${o}`;
        const reference = serializerDateTime(value) && !Number.isNaN(Date.parse(value));
        if (isDateTime(value) !== reference) expect.fail(`${value}: ${isDateTime(value)}, the serializer and Date.parse say ${reference}`);
        checked++;
        if (reference) accepted++;
      }
    }
    expect(checked).toBe(7 * 6 * 7 * 3 * 4 * 3 * 3 * 3 * 7);
    expect(accepted).toBeGreaterThan(10_000);
  });
});

describe('stored events shown again', () => {
  it('repairs an impossible date to the received time and says what it held', () => {
    const r = readableEvent({ id: 'x', ts: '2023-02-30T10:00:00Z', type: 'dose_due', doseId: 'd', scheduledAt: '2023-02-02T10:00:00Z' } as DeviceEvent, '2023-03-02T10:00:01.000Z');
    expect(r.event).toMatchObject({ ts: '2023-03-02T10:00:01.000Z', scheduledAt: '2023-02-02T10:00:00Z' });
    expect(r.repaired).toEqual([expect.stringContaining('"2023-02-30T10:00:00Z"')]);
  });
  it('leaves a sound event as it is', () => {
    const e = { id: 'x', ts: '2023-02-28T10:00:00Z', type: 'button_pressed' } as DeviceEvent;
    expect(readableEvent(e, '2023-02-28T10:00:01Z')).toEqual({ event: e, repaired: [] });
  });
});
