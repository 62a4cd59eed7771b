/**
 * The path of a device's message from the broker into storage.
 *
 * A care event is in the operational store (committed, fsynced) before `receive` resolves, and
 * the broker sends PUBACK only after that: an acknowledged event is never lost. The same
 * (device, event id) twice is stored once and announced once. A payload that fails validation
 * is counted against the device, logged with its reason, and acknowledged, so the device does
 * not resend it forever while every other device goes on being served.
 */
import type { Logger } from 'pino';
import type { AlarmChange } from '../alarms/service.ts';
import type { EventBus } from '../bus.ts';
import { decodeEvent, decodeStatus, type RejectCode } from '../core/decode.ts';
import { type DeviceEvent, isTelemetryEvent } from '../core/events.ts';
import type { DeviceIdentity, DeviceStore } from '../store/devices.ts';
import type { EventStore } from '../store/events.ts';
import type { GroupCommitWriter } from '../store/writer.ts';
import { telemetryPoint } from '../timeseries/measurements.ts';
import type { TimeSeriesWriter } from '../timeseries/writer.ts';

/**
 * Reacts to accepted events inside their commit, and announces the outcome after it. `onEvent`
 * keeps what it writes in a savepoint of its own and does not throw.
 */
export type Reactor<C> = {
  onEvent(device: DeviceIdentity, event: DeviceEvent, receivedAt: Date): C[];
  onConnected(device: DeviceIdentity, at: Date): C[];
  publish(changes: C[]): void;
};

export type IngestDeps = {
  devices: DeviceStore;
  events: EventStore;
  writer: GroupCommitWriter;
  series: TimeSeriesWriter;
  bus: EventBus;
  log: Logger;
  now: () => Date;
  reactor?: Reactor<AlarmChange>;
};

/**
 * How long a heartbeat's or a position's device state ("last seen", battery, signal, position)
 * may wait in memory before it is written: a crash of the hub loses at most this much of it.
 * Care events are written in their own commit, before they are acknowledged.
 */
export const STATE_WRITE_MS = 500;
/** Devices whose held state one writer job writes (see `Ingest.writeSlices`). */
export const STATE_SLICE = 250;

export type IngestOutcome = 'stored' | 'duplicate' | 'conflict' | 'telemetry' | 'rejected' | 'status';

export type IngestCounters = Record<IngestOutcome, number>;

export class Ingest {
  readonly counters: IngestCounters = { stored: 0, duplicate: 0, conflict: 0, telemetry: 0, rejected: 0, status: 0 };
  private readonly connections = new Map<string, number>();
  private stateTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly d: IngestDeps) {}

  /** `qos` is the MQTT QoS the message came with (0 when unknown). */
  async receive(device: DeviceIdentity, channel: 'events' | 'status', payload: Uint8Array, qos = 1): Promise<IngestOutcome> {
    const outcome = channel === 'status' ? await this.status(device, payload) : await this.event(device, payload, qos);
    this.counters[outcome]++;
    return outcome;
  }

  private async event(device: DeviceIdentity, payload: Uint8Array, qos: number): Promise<IngestOutcome> {
    const receivedAt = this.d.now();
    const decoded = decodeEvent(device.kind, payload);
    if (!decoded.ok) {
      await this.reject(device, decoded.code, decoded.reason, receivedAt);
      return 'rejected';
    }
    const event = decoded.event;
    if (isTelemetryEvent(event)) {
      // Heartbeats and positions are not care events: the device is acknowledged without waiting
      // for the commit. Its state is noted in the next group commit's turn, in order with every
      // other write, and written within STATE_WRITE_MS without waiting for the disk
      // (DeviceStore.noteTelemetry): a crash of the hub may lose that much of "last seen", a power
      // cut what the operating system had not yet written; never a care event. The reactor keeps
      // a savepoint of its own for what it writes, and most heartbeats write nothing: no savepoint
      // for the job.
      void this.d.writer.run(() => {
        this.d.devices.noteTelemetry(device.deviceId, receivedAt, event);
        this.scheduleStateWrite();
        return this.d.reactor?.onEvent(device, event, receivedAt) ?? [];
      }, { durable: false, savepoint: false }).then(
        (changes) => this.d.reactor?.publish(changes),
        (err: unknown) => this.d.log.error({ err, deviceId: device.deviceId, type: event.type }, 'ingest: could not store device state'),
      );
      const point = telemetryPoint(device.tenantId, device.kind, device.deviceId, event, receivedAt);
      if (point) this.d.series.addPoint(point);
      this.d.series.countEvent(device.tenantId, device.kind, event.type, receivedAt);
      this.announce(device, event, receivedAt);
      return 'telemetry';
    }
    const stored = await this.d.writer.run(() => {
      const inserted = this.d.events.insert(device.deviceId, device.tenantId, event, receivedAt);
      if (inserted === 'duplicate') return null;
      this.applyState(device, event, receivedAt);
      if (inserted === 'conflict') this.d.devices.recordIdConflict(device.deviceId, receivedAt);
      // Stored and acted on as now, but the device could not know it arrived: a technician
      // must fix its configuration.
      if (qos === 0) this.d.devices.recordQos0Care(device.deviceId, receivedAt);
      // The alarm is committed with its event, before the device is acknowledged.
      return { inserted, changes: this.d.reactor?.onEvent(device, event, receivedAt) ?? [] };
    });
    if (stored === null) return 'duplicate';
    if (stored.inserted === 'conflict') {
      this.d.log.warn({ deviceId: device.deviceId, tenantId: device.tenantId, eventId: event.id, type: event.type }, 'ingest: event id reused with other content; stored as a new event');
    }
    if (qos === 0) this.d.log.warn({ deviceId: device.deviceId, tenantId: device.tenantId, type: event.type }, 'ingest: care event sent at QoS 0');
    this.d.reactor?.publish(stored.changes);
    this.d.series.countEvent(device.tenantId, device.kind, event.type, receivedAt);
    this.announce(device, event, receivedAt);
    return stored.inserted === 'conflict' ? 'conflict' : 'stored';
  }

  /** A care event's mark on its device. */
  private applyState(device: DeviceIdentity, event: DeviceEvent, at: Date): void {
    this.d.devices.markEvent(device.deviceId, at, event.ts);
    if (event.type === 'battery_low') this.d.devices.setBattery(device.deviceId, event.battery);
  }

  /** Telemetry's device state is written at most `STATE_WRITE_MS` after it arrived. */
  private scheduleStateWrite(): void {
    // After close the store is closing: close's own write takes what is held.
    if (this.stateTimer || this.closed) return;
    this.stateTimer = setTimeout(() => {
      this.stateTimer = null;
      void this.writeSlices();
    }, STATE_WRITE_MS);
  }

  /**
   * What is held when the timer fires, STATE_SLICE devices per writer job, each job in a turn of
   * its own: a fleet's half second in one transaction held the event loop (and an alarm behind
   * it) for up to 8 ms at 2,000 heartbeats a second. What arrives meanwhile has a timer of its
   * own. A failed slice stays held, and is tried again after STATE_WRITE_MS.
   */
  private async writeSlices(): Promise<void> {
    try {
      let left = this.d.devices.pendingTelemetry();
      while (left > 0 && !this.closed) {
        const written = await this.d.writer.run(() => this.d.devices.writeTelemetry(STATE_SLICE), { durable: false });
        if (written === 0) break;
        left -= written;
        if (left > 0) await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      this.d.log.error({ err }, 'ingest: could not write device state; kept for the next write');
      this.scheduleStateWrite();
    }
  }

  /** Writes the device state held so far (on shutdown, before the store closes). */
  close(): Promise<void> {
    this.closed = true;
    if (this.stateTimer) clearTimeout(this.stateTimer);
    this.stateTimer = null;
    return this.d.writer.run(() => { this.d.devices.writeTelemetry(); }, { durable: false }).catch((err: unknown) => {
      this.d.log.error({ err }, 'ingest: could not write device state before closing');
    });
  }

  private async reject(device: DeviceIdentity, code: RejectCode, reason: string, at: Date): Promise<void> {
    this.d.log.warn({ deviceId: device.deviceId, tenantId: device.tenantId, code, reason }, 'ingest: payload rejected');
    await this.d.writer.run(() => this.d.devices.recordRejection(device.deviceId, reason, at));
    this.d.bus.emit('device.rejected', { device, code, reason, at }, this.listenerError);
  }

  private async status(device: DeviceIdentity, payload: Uint8Array): Promise<IngestOutcome> {
    const status = decodeStatus(payload);
    const at = this.d.now();
    if (status === null) {
      await this.reject(device, 'invalid_fields', 'status must be "online" or "offline"', at);
      return 'rejected';
    }
    // The connection itself is the authority on presence; the status message is the device's
    // own word and its last will, and only adds to what the connection says.
    if (status === 'offline' && (this.connections.get(device.deviceId) ?? 0) > 0) return 'status';
    await this.d.writer.run(() => this.d.devices.setOnline(device.deviceId, status === 'online'));
    return 'status';
  }

  /** A connection with the device's credentials was refused: counted on the device for its technician. */
  refused(device: DeviceIdentity, reason: string): void {
    const at = this.d.now();
    this.d.writer.run(() => this.d.devices.recordRefusedConnection(device.deviceId, reason, at)).catch((err: unknown) => {
      this.d.log.error({ err, deviceId: device.deviceId }, 'ingest: could not record a refused connection');
    });
  }

  /** A device may hold several connections; it is online while it holds at least one. */
  connected(device: DeviceIdentity): void {
    const n = (this.connections.get(device.deviceId) ?? 0) + 1;
    this.connections.set(device.deviceId, n);
    if (n === 1) this.presence(device, true);
  }

  disconnected(device: DeviceIdentity): void {
    const n = (this.connections.get(device.deviceId) ?? 1) - 1;
    if (n > 0) {
      this.connections.set(device.deviceId, n);
      return;
    }
    this.connections.delete(device.deviceId);
    this.presence(device, false);
  }

  /**
   * Presence is not a care event: its commit need not wait for the disk (a restart marks every
   * device offline anyway, and a lost "connected again" leaves an offline alarm open, not shut).
   * In a reconnect storm this keeps thousands of connections from each waiting for a sync.
   */
  private presence(device: DeviceIdentity, online: boolean): void {
    const at = this.d.now();
    this.d.writer.run(() => {
      this.d.devices.setOnline(device.deviceId, online);
      if (!online) return [];
      // Connecting is a sign of life too.
      this.d.devices.markSeen(device.deviceId, at, false);
      return this.d.reactor?.onConnected(device, at) ?? [];
    }, { durable: false }).then((changes) => this.d.reactor?.publish(changes), (err: unknown) => {
      this.d.log.error({ err, deviceId: device.deviceId }, 'ingest: could not record presence');
    });
    this.d.bus.emit('device.connection', { device, online, at }, this.listenerError);
  }

  private announce(device: DeviceIdentity, event: DeviceEvent, receivedAt: Date): void {
    this.d.bus.emit('device.event', { device, event, receivedAt }, this.listenerError);
  }

  private readonly listenerError = (err: unknown, owner: string): void => {
    this.d.log.error({ err, owner }, 'ingest: a listener failed');
  };
}
