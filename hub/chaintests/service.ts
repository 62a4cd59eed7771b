/**
 * Chain tests against the stores: start one, let a device's event move it, let the operator's
 * resolution or the end of the window finish it. Runs inside the commits of the alarm service
 * (the event's, the resolution's, the scheduler's), so a test and its alarm change together.
 */
import type { Alarm } from '../core/alarms.ts';
import { alarmRaised, alarmResolved, type DeviceTest, lastTestOf, onDeviceEvent, startTest, windowEnded } from '../core/chain-test.ts';
import type { DeviceKind } from '../core/events.ts';
import { shortId } from '../security/secrets.ts';
import type { DeviceStore } from '../store/devices.ts';
import type { DeviceTestStore } from '../store/tests.ts';

export class ChainTests {
  constructor(private readonly tests: DeviceTestStore, private readonly devices: DeviceStore, private readonly windowSeconds: number) {}

  /** Starts a test of an active device; an open test of the device is ended as expired first. */
  start(device: { id: string; tenantId: string }, by: string, now: Date): DeviceTest {
    const open = this.tests.openFor(device.id);
    if (open) this.finish({ ...open, expiresAt: now.toISOString() }, (t) => windowEnded(t, now));
    const t = startTest({ id: shortId('test'), deviceId: device.id, tenantId: device.tenantId, by }, now, this.windowSeconds);
    this.tests.insert(t);
    return t;
  }

  /**
   * An accepted event of a device with an open test. Returns `mark` when the event is the
   * technician's press: the caller marks the alarm it raised (or raises one) and calls `marked`.
   */
  onEvent(deviceId: string, kind: DeviceKind, eventType: string, now: Date): DeviceTest | null {
    const open = this.tests.openFor(deviceId);
    if (!open) return null;
    const d = onDeviceEvent(open, kind, eventType, now);
    if (d.do === 'pass') this.finish(d.test, (t) => t);
    return d.do === 'mark' ? open : null;
  }

  /** Whether `onEvent` would do anything for this event (reads only). */
  acts(deviceId: string, kind: DeviceKind, eventType: string, now: Date): boolean {
    const open = this.tests.openFor(deviceId);
    return !!open && onDeviceEvent(open, kind, eventType, now).do !== 'none';
  }

  /** Forgets devices whose tests have ended (see DeviceTestStore); outside a transaction. */
  refresh(): void {
    this.tests.refreshOpen();
  }

  marked(test: DeviceTest, alarm: Alarm): void {
    this.tests.update(alarmRaised(test, alarm.id));
  }

  /** A test alarm was resolved: confirmed with test_ok passes the test, anything else fails it. */
  onResolved(alarm: Alarm, reason: string, by: string, now: Date): void {
    const open = this.tests.openForAlarm(alarm.id);
    if (open) this.finish(open, (t) => alarmResolved(t, reason, by, now));
  }

  /** Tests whose window ended. */
  tick(now: Date): void {
    for (const t of this.tests.due(now)) this.finish(t, (x) => windowEnded(x, now));
  }

  private finish(t: DeviceTest, step: (t: DeviceTest) => DeviceTest): void {
    const next = step(t);
    this.tests.update(next);
    const last = lastTestOf(next);
    if (last) this.devices.recordTest(next.deviceId, last);
  }
}
