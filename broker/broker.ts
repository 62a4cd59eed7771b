/**
 * The MQTT broker (aedes). It owns the device side of the hub: who may connect, which topics
 * each device may use, and handing each message to the hub before it is acknowledged.
 *
 * All policy lives in aedes' hooks. `authorizePublish` runs before aedes writes PUBACK (see
 * aedes lib/handlers/publish.js: authorizePublish, then enqueuePublish, which acks QoS 1), so
 * the hub's `receive` there means the device is acknowledged only once its event is stored.
 */
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { Logger } from 'pino';
import { mayPublish, maySubscribe, parseTopic, topics } from '../hub/core/topics.ts';
import { guardSocket } from './packet-guard.ts';

/**
 * The largest MQTT packet a client may send. Event payloads above 16 KiB still reach ingest and
 * are rejected and counted there; a packet above this closes the connection before it is read.
 */
export const MAX_PACKET_BYTES = 32 * 1024;
import type { DeviceIdentity } from '../hub/store/devices.ts';

/** What the broker needs from the hub. */
export type DeviceGateway = {
  authenticate(username: string, password: string): DeviceIdentity | null;
  /** Resolves once the message is safely handled; a rejection withholds the acknowledgement. */
  receive(device: DeviceIdentity, channel: 'events' | 'status', payload: Buffer): Promise<unknown>;
  connected(device: DeviceIdentity): void;
  disconnected(device: DeviceIdentity): void;
};

export type BrokerOptions = {
  gateway: DeviceGateway;
  log: Logger;
  port: number;
  host: string;
};

export type Broker = {
  port: number;
  /** Disconnects every connection of a device at once (e.g. on decommissioning). */
  disconnectDevice(deviceId: string): number;
  /** Publishes a command to a device's command topic (QoS 1). */
  sendCommand(deviceId: string, command: Record<string, unknown>): Promise<void>;
  connectedDevices(): number;
  close(): Promise<void>;
};

function authError(message: string, returnCode: 4 | 5): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export async function startBroker(opts: BrokerOptions): Promise<Broker> {
  const { gateway, log } = opts;
  const identities = new WeakMap<Client, DeviceIdentity>();
  const byDevice = new Map<string, Set<Client>>();

  const aedes = await Aedes.createBroker({
    authenticate(client, username, password, done) {
      if (!username || !password) {
        log.warn({ clientId: client.id }, 'broker: refused a client without credentials');
        done(authError('credentials required', 4), false);
        return;
      }
      let device: DeviceIdentity | null;
      try {
        device = gateway.authenticate(username, password.toString('utf8'));
      } catch (err) {
        log.error({ err, username }, 'broker: authentication failed with an error');
        done(authError('authentication unavailable', 5), false);
        return;
      }
      if (!device) {
        log.warn({ username, clientId: client.id }, 'broker: refused unknown device or wrong password');
        done(authError('bad username or password', 4), false);
        return;
      }
      identities.set(client, device);
      done(null, true);
    },

    authorizePublish(client, packet, done) {
      const device = client ? identities.get(client) : undefined;
      if (!client || !device) {
        done(new Error('publisher is not an authenticated device'));
        return;
      }
      if (!mayPublish(device.deviceId, packet.topic)) {
        log.warn({ deviceId: device.deviceId, topic: packet.topic }, 'broker: refused publish outside the device\'s own topics; disconnecting');
        done(new Error(`device ${device.deviceId} may not publish to ${packet.topic}`));
        return;
      }
      const channel = parseTopic(packet.topic)?.channel === 'status' ? 'status' : 'events';
      gateway.receive(device, channel, packet.payload as Buffer).then(
        () => done(null),
        (err: unknown) => {
          log.error({ err, deviceId: device.deviceId }, 'broker: message could not be stored; not acknowledged');
          done(err as Error);
        },
      );
    },

    authorizeSubscribe(client, sub, done) {
      const device = identities.get(client);
      if (!device || !maySubscribe(device.deviceId, sub.topic)) {
        log.warn({ deviceId: device?.deviceId, topic: sub.topic }, 'broker: refused subscription');
        done(null, null); // SUBACK with failure (0x80); the connection stays
        return;
      }
      done(null, sub);
    },

    // Devices only ever receive their own commands; nothing else is forwarded to them.
    authorizeForward(client, packet) {
      const device = identities.get(client);
      return device && packet.topic === topics.commands(device.deviceId) ? packet : null;
    },
  });

  aedes.on('clientReady', (client) => {
    const device = identities.get(client);
    if (!device) return;
    let set = byDevice.get(device.deviceId);
    if (!set) byDevice.set(device.deviceId, (set = new Set()));
    set.add(client);
    gateway.connected(device);
  });
  aedes.on('clientDisconnect', (client) => {
    const device = identities.get(client);
    if (!device) return;
    const set = byDevice.get(device.deviceId);
    if (set?.delete(client)) {
      if (set.size === 0) byDevice.delete(device.deviceId);
      gateway.disconnected(device);
    }
  });
  aedes.on('clientError', (client, err) => {
    log.debug({ clientId: client.id, err: err.message }, 'broker: client error');
  });

  const server: Server = createServer((socket) => {
    aedes.handle(guardSocket(socket, MAX_PACKET_BYTES, (reason) => {
      log.warn({ remote: socket.remoteAddress, reason }, 'broker: closed a connection that sent an oversized packet');
    }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, host: opts.host }, 'broker: MQTT listening');

  return {
    port,
    disconnectDevice(deviceId) {
      const set = byDevice.get(deviceId);
      if (!set) return 0;
      const n = set.size;
      for (const c of [...set]) c.close();
      return n;
    },
    sendCommand(deviceId, command) {
      return new Promise((resolve, reject) => {
        aedes.publish(
          { cmd: 'publish', topic: topics.commands(deviceId), payload: Buffer.from(JSON.stringify(command)), qos: 1, retain: false, dup: false },
          (err) => (err ? reject(err) : resolve()),
        );
      });
    },
    connectedDevices() {
      return byDevice.size;
    },
    async close() {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
