import { describe, expect, it } from 'vitest';
import { alarmRaised, alarmResolved, lastTestOf, needsOperator, onDeviceEvent, startTest, windowEnded } from '../../hub/core/chain-test.ts';
import { byUrgency, DEFAULT_FLEET_POLICY, deviceStates, summarize } from '../../hub/core/fleet.ts';
import { checkImport, type ImportLookups } from '../../hub/core/import.ts';
import type { Device } from '../../hub/core/model.ts';

const now = new Date('2026-11-26T10:00:00Z');
const look: ImportLookups = {
  tenantUsable: (t) => t === '0301',
  residentIn: (t, id) => t === '0301' && id === 'r-1',
  serialTaken: (_t, s) => s === 'TAKEN',
};

describe('CSV import', () => {
  it('reads commas or semicolons, a byte-order mark, CRLF, quoted fields, columns in any order and blank lines', () => {
    const text = '\uFEFFserial;kind;tenantId;residentId\r\n"A;1";safety_alarm;0301;r-1\r\n\r\nB-2;door_lock;0301;\r\n';
    const r = checkImport(text, look);
    expect(r.errors).toEqual([]);
    expect(r.rows).toEqual([
      { line: 2, tenantId: '0301', kind: 'safety_alarm', serial: 'A;1', residentId: 'r-1' },
      { line: 4, tenantId: '0301', kind: 'door_lock', serial: 'B-2' },
    ]);
    const commas = checkImport('tenantId,kind,serial,heartbeatIntervalSeconds\n0301,gps_tracker,"G,1",600\n', look);
    expect(commas.rows).toEqual([{ line: 2, tenantId: '0301', kind: 'gps_tracker', serial: 'G,1', heartbeatIntervalSeconds: 600 }]);
  });
  it('names the line and the problem for every bad row', () => {
    const r = checkImport('tenantId,kind,serial\n0301,safety_alarm,\n0301,safety_alarm,TAKEN\n0301,x,S-1\n', look);
    expect(r.rows).toEqual([]);
    expect(r.errors.map((e) => [e.line, e.code])).toEqual([[2, 'missing_field'], [3, 'serial_taken'], [4, 'bad_kind']]);
    expect(r.errors[0]?.reason).toBe('serial is empty');
  });
  it('refuses a file with more rows than one import takes', () => {
    const rows = Array.from({ length: 5001 }, (_, i) => `0301,door_lock,S-${i}`).join('\n');
    expect(checkImport(`tenantId,kind,serial\n${rows}`, look).errors[0]?.code).toBe('too_many_rows');
  });
});

const base = (over: Partial<Device> = {}): Omit<Device, 'states'> => ({
  id: 'sa-1', tenantId: '0301', kind: 'safety_alarm', serial: 'S', residentId: null, heartbeatIntervalSeconds: 300, createdAt: now.toISOString(),
  decommissionedAt: null, online: true, lastSeenAt: now.toISOString(), battery: 80, signal: -70, firmware: '1', position: null, maintenanceUntil: null,
  acceptedCount: 1, rejectedCount: 0, lastRejection: null, clockSkewSeconds: 0, qos0CareEvents: 0, idConflicts: 0, refusedConnections: 0,
  lastRefusedConnection: null, flags: [], lastTest: null, lastPassedTestAt: '2026-06-01T00:00:00Z', ...over,
});
const withStates = (d: Omit<Device, 'states'>): Device => ({ ...d, states: deviceStates(d, now, DEFAULT_FLEET_POLICY) });

describe('fleet states', () => {
  it('tells online, low battery, weak signal, never tested, overdue, rejected, skew and maintenance', () => {
    expect(deviceStates(base(), now, DEFAULT_FLEET_POLICY)).toEqual(['online']);
    expect(deviceStates(base({ online: false, battery: 10, signal: -110, lastPassedTestAt: null, flags: ['rejected_payloads', 'clock_skew'], maintenanceUntil: '2026-11-27T00:00:00Z' }), now, DEFAULT_FLEET_POLICY))
      .toEqual(['offline', 'low_battery', 'weak_signal', 'never_tested', 'rejected', 'clock_skew', 'maintenance']);
    expect(deviceStates(base({ lastPassedTestAt: '2025-11-01T00:00:00Z' }), now, DEFAULT_FLEET_POLICY)).toContain('test_overdue');
    expect(deviceStates(base({ decommissionedAt: now.toISOString(), online: false }), now, DEFAULT_FLEET_POLICY)).toEqual(['decommissioned']);
  });
  it('puts the silent device first, one in maintenance not, the longest silent first', () => {
    const a = withStates(base({ id: 'a', online: false, lastSeenAt: '2026-11-26T09:00:00Z' }));
    const b = withStates(base({ id: 'b', online: false, lastSeenAt: '2026-11-26T08:00:00Z' }));
    const c = withStates(base({ id: 'c', battery: 5 }));
    const m = withStates(base({ id: 'm', online: false, maintenanceUntil: '2026-11-27T00:00:00Z' }));
    expect([a, c, m, b].sort(byUrgency).map((d) => d.id)).toEqual(['b', 'a', 'c', 'm']);
  });
  it('sums up kinds, states and firmware, leaving decommissioned devices out of the totals', () => {
    const s = summarize('0301', [withStates(base({ firmware: '2' })), withStates(base({ id: 'x', kind: 'door_lock', firmware: null })), withStates(base({ id: 'y', decommissionedAt: now.toISOString() }))]);
    expect(s).toMatchObject({ total: 2, byKind: { safety_alarm: 1, door_lock: 1 }, byState: { online: 2, decommissioned: 1 } });
    expect(s.firmware).toEqual([{ kind: 'door_lock', firmware: 'unknown', devices: 1 }, { kind: 'safety_alarm', firmware: '2', devices: 1 }]);
  });
});

describe('the chain test', () => {
  const t0 = startTest({ id: 't', deviceId: 'd', tenantId: '0301', by: 'tekniker' }, now, 900);
  const at = (s: number) => new Date(now.getTime() + s * 1000);
  it('waits for the press of a safety alarm or tracker, and passes on the operator\'s confirmation only', () => {
    expect(needsOperator('safety_alarm') && needsOperator('gps_tracker') && !needsOperator('door_lock')).toBe(true);
    expect(onDeviceEvent(t0, 'safety_alarm', 'heartbeat', at(10))).toEqual({ do: 'none' });
    expect(onDeviceEvent(t0, 'safety_alarm', 'test_alarm', at(10))).toEqual({ do: 'mark' });
    expect(onDeviceEvent(t0, 'gps_tracker', 'sos_pressed', at(10))).toEqual({ do: 'mark' });
    const raised = alarmRaised(t0, 'al-1');
    expect(alarmResolved(raised, 'test_ok', 'ola', at(60))).toMatchObject({ state: 'passed', endedBy: 'ola' });
    expect(alarmResolved(raised, 'false_alarm', 'ola', at(60))).toMatchObject({ state: 'failed' });
    expect(lastTestOf(alarmResolved(raised, 'test_ok', 'ola', at(60)))).toEqual({ at: at(60).toISOString(), result: 'passed', by: 'ola' });
  });
  it('passes a door lock or dispenser on any event; nothing counts after the window', () => {
    expect(onDeviceEvent(t0, 'door_lock', 'locked', at(10))).toMatchObject({ do: 'pass', test: { state: 'passed', endedBy: 'device' } });
    expect(onDeviceEvent(t0, 'door_lock', 'locked', at(901))).toEqual({ do: 'none' });
  });
  it('expires with nothing, fails with an unconfirmed alarm, and not before the window ends', () => {
    expect(windowEnded(t0, at(899))).toBe(t0);
    expect(windowEnded(t0, at(900)).state).toBe('expired');
    expect(windowEnded(alarmRaised(t0, 'al'), at(900)).state).toBe('failed');
    expect(lastTestOf(t0)).toBeNull();
  });
});
