/**
 * Delivers the outbox to devices. The alarm module (and whatever else commands a device) only
 * records a command in the outbox, inside its own commit; this part sends it whenever the device
 * can receive it: at once when it is connected and subscribed to its commands, or when it next
 * subscribes (or resumes a persistent session), after hub restarts too. A command stays pending
 * until the device's PUBACK (QoS 1) or until it expires. Delivery is at least once: every
 * command carries an `id`, so a device can tell a repeat.
 */
import type { Logger } from 'pino';
import type { EventBus } from '../bus.ts';
import type { CommandOutbox } from '../store/outbox.ts';
import type { GroupCommitWriter } from '../store/writer.ts';

/** What delivery needs from the broker. */
export type CommandPort = {
  /** True while the device holds a connection subscribed to its command topic. */
  canReceive(deviceId: string): boolean;
  /** Publishes to the device's command topic at QoS 1; resolves once handed to the broker. */
  publishCommand(deviceId: string, payload: Buffer, commandId: string): Promise<void>;
};

export type DeliveryDeps = {
  outbox: CommandOutbox;
  writer: GroupCommitWriter;
  bus: EventBus;
  log: Logger;
  now: () => Date;
  /** How often expired commands are marked. */
  expireEveryMs?: number;
};

export class CommandDelivery {
  private port: CommandPort | null = null;
  /** Commands sent on the device's current connection and not yet acknowledged. */
  private readonly inFlight = new Map<string, Set<string>>();
  private readonly timer: NodeJS.Timeout;
  readonly stats = { sent: 0, acked: 0, expired: 0 };

  constructor(private readonly d: DeliveryDeps) {
    d.bus.on('commands', 'command.queued', ({ deviceId }) => this.deliver(deviceId));
    this.timer = setInterval(() => this.expire(), d.expireEveryMs ?? 30_000);
    this.timer.unref();
  }

  /** The broker, once it listens. Commands recorded before then wait in the outbox. */
  attach(port: CommandPort): void {
    this.port = port;
  }

  /** Sends the device every pending command not already on its way over this connection. */
  deliver(deviceId: string): void {
    const port = this.port;
    if (!port?.canReceive(deviceId)) return;
    const flying = this.inFlight.get(deviceId) ?? new Set<string>();
    this.inFlight.set(deviceId, flying);
    const now = this.d.now();
    for (const c of this.d.outbox.pending(deviceId, now)) {
      if (flying.has(c.id)) continue;
      flying.add(c.id);
      port.publishCommand(deviceId, Buffer.from(JSON.stringify(c.payload)), c.id).then(
        () => {
          this.stats.sent++;
          return this.d.writer.run(() => this.d.outbox.markSent(c.id, now));
        },
      ).catch((err: unknown) => {
        flying.delete(c.id);
        this.d.log.warn({ err, deviceId, commandId: c.id }, 'commands: could not send; it stays in the outbox');
      });
    }
  }

  /** The device's PUBACK for a command. */
  acked(deviceId: string, commandId: string): void {
    this.inFlight.get(deviceId)?.delete(commandId);
    const at = this.d.now();
    this.d.writer.run(() => this.d.outbox.markAcked(deviceId, commandId, at)).then((was) => {
      if (was) this.stats.acked++;
    }, (err: unknown) => this.d.log.error({ err, deviceId, commandId }, 'commands: could not record an acknowledgement'));
  }

  /** The device's last connection closed: what was in flight is sent again on the next one. */
  disconnected(deviceId: string): void {
    this.inFlight.delete(deviceId);
  }

  expire(): void {
    this.d.writer.run(() => this.d.outbox.expire(this.d.now())).then((gone) => {
      this.stats.expired += gone.length;
      // One line per pass, however many: a fleet that was away must not flood the log.
      if (gone.length > 0) {
        this.d.log.warn({ expired: gone.length, devices: [...new Set(gone.map((c) => c.deviceId))].slice(0, 20), types: [...new Set(gone.map((c) => c.type))] },
          'commands: expired before their devices took them');
      }
    }, (err: unknown) => this.d.log.error({ err }, 'commands: could not expire commands'));
  }

  close(): void {
    clearInterval(this.timer);
    this.d.bus.off('commands');
  }
}
