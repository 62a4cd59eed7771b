import { describe, expect, it } from 'vitest';
import { decodeEvent, decodeStatus, MAX_PAYLOAD_BYTES } from '../../hub/core/decode.ts';
import { DEVICE_KINDS, eventTypesOf } from '../../hub/core/events.ts';
import { sampleEvent } from '../../simulators/payloads.ts';

const ts = '2026-11-22T01:02:03.456+01:00';
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
