/**
 * Typed internal events. Every listener has an owner, so a part that stops removes all of its
 * listeners with one `off(owner)`.
 */
import type { Alarm, TransitionAction } from './core/alarms.ts';
import type { DeviceEvent } from './core/events.ts';
import type { RejectCode } from './core/decode.ts';
import type { DeviceIdentity } from './store/devices.ts';

export type HubEvents = {
  /** An event was accepted and stored (never emitted twice for the same device + event id). */
  'device.event': { device: DeviceIdentity; event: DeviceEvent; receivedAt: Date };
  'device.rejected': { device: DeviceIdentity; code: RejectCode; reason: string; at: Date };
  'device.connection': { device: DeviceIdentity; online: boolean; at: Date };
  'device.decommissioned': { deviceId: string; at: Date };
  /** A device's password was replaced: its open connections must close. */
  'device.credentials_rotated': { deviceId: string; at: Date };
  /** A command for a device was committed to the outbox. */
  'command.queued': { deviceId: string };
  /** A user's session ended (logout): its live sockets close. */
  'session.ended': { sessionId: string; reason: string };
  /** An alarm changed; emitted after the change is committed. */
  'alarm.changed': { change: TransitionAction; alarm: Alarm };
};

type Listener<K extends keyof HubEvents> = (payload: HubEvents[K]) => void;

export class EventBus {
  private readonly listeners = new Map<keyof HubEvents, { owner: string; fn: Listener<never> }[]>();

  on<K extends keyof HubEvents>(owner: string, name: K, fn: Listener<K>): void {
    const list = this.listeners.get(name) ?? [];
    list.push({ owner, fn: fn as Listener<never> });
    this.listeners.set(name, list);
  }

  off(owner: string): void {
    for (const [name, list] of this.listeners) this.listeners.set(name, list.filter((l) => l.owner !== owner));
  }

  /** Calls every listener; one that throws is reported through `onError` and the others still run. */
  emit<K extends keyof HubEvents>(name: K, payload: HubEvents[K], onError?: (err: unknown, owner: string) => void): void {
    for (const l of this.listeners.get(name) ?? []) {
      try {
        (l.fn as Listener<K>)(payload);
      } catch (err) {
        onError?.(err, l.owner);
      }
    }
  }
}
