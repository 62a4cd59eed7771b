/**
 * A simulated device on the wire: its own MQTT connection with its own credentials, a retained
 * `online` status with `offline` as its last will, its events published with QoS 1 (resent until
 * acknowledged), and the hub's commands received on its command topic.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { DeviceEvent } from '../hub/core/events.ts';
import { topics } from '../hub/core/topics.ts';
import type { Behaviour } from './behaviours.ts';

export type DeviceStats = { sent: number; acked: number; errors: number; commands: number; ackMs: number[] };

export class SimDevice {
  client: MqttClient | null = null;
  readonly commands: Record<string, unknown>[] = [];

  constructor(
    readonly id: string,
    private readonly password: string,
    readonly behaviour: Behaviour,
    private readonly mqttUrl: string,
    private readonly stats: DeviceStats,
    private readonly keepAckTimes = false,
  ) {}

  async connect(): Promise<void> {
    const client = await mqtt.connectAsync(this.mqttUrl, {
      username: this.id,
      password: this.password,
      clientId: `${this.id}-${Math.random().toString(36).slice(2, 8)}`,
      keepalive: 60,
      reconnectPeriod: 2000,
      connectTimeout: 20_000,
      will: { topic: topics.status(this.id), payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    client.on('message', (_topic, payload) => {
      this.stats.commands++;
      try {
        this.commands.push(JSON.parse(payload.toString()) as Record<string, unknown>);
      } catch {
        this.commands.push({ raw: payload.toString() });
      }
    });
    client.on('error', () => { this.stats.errors++; });
    await client.subscribeAsync(topics.commands(this.id), { qos: 1 });
    await client.publishAsync(topics.status(this.id), 'online', { qos: 1, retain: true });
    this.client = client;
  }

  /** Publishes what the behaviour did in [from, to). */
  async step(from: Date, to: Date): Promise<DeviceEvent[]> {
    const wasSilent = this.behaviour.silent;
    const events = this.behaviour.tick(from, to);
    if (this.behaviour.silent && !wasSilent) await this.goQuiet();
    if (!this.behaviour.silent && wasSilent) await this.connect();
    if (!this.client || this.behaviour.silent) return [];
    await Promise.all(events.map((e) => this.publish(e)));
    return events;
  }

  async publish(e: DeviceEvent): Promise<void> {
    if (!this.client) return;
    this.stats.sent++;
    const start = performance.now();
    try {
      await this.client.publishAsync(topics.events(this.id), JSON.stringify(e), { qos: 1 });
      this.stats.acked++;
      if (this.keepAckTimes) this.stats.ackMs.push(performance.now() - start);
    } catch {
      this.stats.errors++;
    }
  }

  /** Stops sending without a last will: a clean disconnect discards it, as a hung device would. */
  private async goQuiet(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.endAsync();
  }

  /** The connection drops (the will is published) and comes back: a flapping device. */
  async flap(): Promise<void> {
    const c = this.client;
    if (!c) return;
    c.stream.destroy();
    await new Promise((r) => setTimeout(r, 100));
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.endAsync(true);
  }
}
