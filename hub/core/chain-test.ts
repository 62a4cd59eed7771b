/**
 * The chain test: proof that a device works through the whole chain before it is trusted. Pure:
 * a test, what happened and `now` in; the next test out.
 *
 * A technician starts a test; it waits for the device within a window (15 minutes by default).
 * - A safety alarm or a GPS tracker proves the path device → hub → response centre: the
 *   technician presses the button (`test_alarm`, or the tracker's SOS), the alarm reaches the
 *   operators' queue marked as a test, and the test passes when an operator confirms it by
 *   resolving it with `test_ok`. Resolved any other way, the test fails.
 * - A door lock or a medicine dispenser passes with any event from the device in the window.
 * - A window that ends with nothing from the device expires; one that ends with the alarm not
 *   confirmed fails.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { DeviceKind, EventType } from './events.ts';
import { literals, Nullable } from './schema.ts';

export const TEST_STATES = ['waiting', 'alarm_raised', 'passed', 'failed', 'expired'] as const;
export type TestState = (typeof TEST_STATES)[number];
export const TEST_RESULTS = ['passed', 'failed', 'expired'] as const;
export type TestResult = (typeof TEST_RESULTS)[number];

export const DeviceTestSchema = Type.Object({
  id: Type.String(),
  deviceId: Type.String(),
  tenantId: Type.String(),
  state: literals(TEST_STATES),
  startedAt: Type.String({ format: 'date-time' }),
  startedBy: Type.String({ description: 'The technician who started it' }),
  expiresAt: Type.String({ format: 'date-time' }),
  alarmId: Nullable(Type.String({ description: 'The test alarm in the operators\' queue, for a safety alarm or GPS tracker' })),
  endedAt: Nullable(Type.String({ format: 'date-time' })),
  endedBy: Nullable(Type.String({ description: 'The operator who confirmed or resolved it, the device, or the system when the window ended' })),
  detail: Nullable(Type.String()),
});
export type DeviceTest = Static<typeof DeviceTestSchema>;

export const LastTestSchema = Type.Object({
  at: Type.String({ format: 'date-time' }),
  result: literals(TEST_RESULTS),
  by: Type.String(),
});
export type LastTest = Static<typeof LastTestSchema>;

/** The event types that are the technician's button press for a test, by kind. */
const TEST_SIGNALS: Partial<Record<DeviceKind, readonly EventType[]>> = {
  safety_alarm: ['test_alarm'],
  gps_tracker: ['sos_pressed'],
};

/** Whether this kind's test goes through an operator's confirmation. */
export function needsOperator(kind: DeviceKind): boolean {
  return TEST_SIGNALS[kind] !== undefined;
}

export const isOpen = (t: DeviceTest) => t.state === 'waiting' || t.state === 'alarm_raised';

export function startTest(input: { id: string; deviceId: string; tenantId: string; by: string }, now: Date, windowSeconds: number): DeviceTest {
  return {
    id: input.id, deviceId: input.deviceId, tenantId: input.tenantId, state: 'waiting',
    startedAt: now.toISOString(), startedBy: input.by, expiresAt: new Date(now.getTime() + windowSeconds * 1000).toISOString(),
    alarmId: null, endedAt: null, endedBy: null, detail: null,
  };
}

/**
 * What an event from the device does to its open test: `mark` the alarms it raises as the test's
 * (the technician's press), `pass` it (a door lock or dispenser reported), or nothing.
 */
export function onDeviceEvent(test: DeviceTest, kind: DeviceKind, eventType: string, now: Date): { do: 'mark' } | { do: 'pass'; test: DeviceTest } | { do: 'none' } {
  if (!isOpen(test) || Date.parse(test.expiresAt) <= now.getTime()) return { do: 'none' };
  const signals = TEST_SIGNALS[kind];
  if (signals) return signals.includes(eventType as EventType) ? { do: 'mark' } : { do: 'none' };
  return { do: 'pass', test: end(test, 'passed', now, 'device', `${eventType} received`) };
}

/** The test alarm reached the queue. */
export function alarmRaised(test: DeviceTest, alarmId: string): DeviceTest {
  return test.state === 'waiting' ? { ...test, state: 'alarm_raised', alarmId } : test;
}

/** An operator resolved the test alarm: confirmed (`test_ok`) passes, anything else fails. */
export function alarmResolved(test: DeviceTest, reason: string, by: string, now: Date): DeviceTest {
  if (!isOpen(test)) return test;
  return reason === 'test_ok'
    ? end(test, 'passed', now, by, 'confirmed by the response centre')
    : end(test, 'failed', now, by, `resolved as ${reason}, not confirmed`);
}

/** The window ended: nothing came (expired), or the alarm came but nobody confirmed it (failed). */
export function windowEnded(test: DeviceTest, now: Date): DeviceTest {
  if (!isOpen(test) || Date.parse(test.expiresAt) > now.getTime()) return test;
  return test.state === 'alarm_raised'
    ? end(test, 'failed', now, 'system', 'the test alarm was not confirmed in time')
    : end(test, 'expired', now, 'system', 'nothing came from the device in time');
}

function end(test: DeviceTest, state: TestResult, now: Date, by: string, detail: string): DeviceTest {
  return { ...test, state, endedAt: now.toISOString(), endedBy: by, detail };
}

/** What a finished test leaves on the device. */
export function lastTestOf(test: DeviceTest): LastTest | null {
  if (isOpen(test) || !test.endedAt) return null;
  return { at: test.endedAt, result: test.state as TestResult, by: test.endedBy ?? 'system' };
}
