/**
 * The MQTT broker (aedes). It owns the device side of the hub: who may connect, which topics
 * each device may use, and handing each message to the hub before it is acknowledged.
 *
 * All policy lives in aedes' hooks. `authorizePublish` runs before aedes writes PUBACK (see
 * aedes lib/handlers/publish.js: authorizePublish, then enqueuePublish, which acks QoS 1), so
 * the hub's `receive` there means the device is acknowledged only once its event is stored.
 */
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { clientIdProblem, isUplink, maySubscribe, publishChannel, topics } from '../hub/core/topics.ts';
import type { DeviceIdentity } from '../hub/store/devices.ts';
import { leanParser } from './lean-parser.ts';
import { guardSocket } from './packet-guard.ts';

/**
 * The largest MQTT packet a client may send. Event payloads above 16 KiB still reach ingest and
 * are rejected and counted there; a packet above this closes the connection before it is read.
 */
export const MAX_PACKET_BYTES = 32 * 1024;
/** Connections the kernel may hold for the broker before it accepts them (a reconnect storm). */
export const LISTEN_BACKLOG = 8192;
/** Listening sockets per port where Node can share a port between them (see `listen`). */
export const LISTENERS = 4;

/** What the broker needs from the hub. */
export type DeviceGateway = {
  authenticate(username: string, password: string): DeviceIdentity | null;
  /** The active device of this id (its client certificate named it), or null. */
  deviceById(deviceId: string): DeviceIdentity | null;
  /** Resolves once the message is safely handled; a rejection withholds the acknowledgement. */
  receive(device: DeviceIdentity, channel: 'events' | 'status', payload: Buffer, qos: number): Promise<unknown>;
  connected(device: DeviceIdentity): void;
  disconnected(device: DeviceIdentity): void;
  /** A connection with this device's valid credentials was refused, and why. */
  refused(device: DeviceIdentity, reason: string): void;
  /** The device can take commands now: it subscribed to its command topic, or resumed a session that has. */
  commandsWanted(device: DeviceIdentity): void;
  /** The device acknowledged (PUBACK) the command with this id. */
  commandAcked(device: DeviceIdentity, commandId: string): void;
};

export type BrokerOptions = {
  gateway: DeviceGateway;
  log: Logger;
  port: number;
  host: string;
  /** Connections per source address that have not authenticated yet. */
  maxPendingPerAddress: number;
  /** Time a new connection has to send CONNECT. */
  connectTimeoutMs: number;
  /** Plain MQTT on `port` (default on). */
  plain?: boolean;
  /** MQTT over TLS: certificate, key, the port, and a CA for devices' client certificates. */
  tls?: (TlsMaterial & { port: number }) | null;
};

/** PEM material of a TLS listener; `ca` verifies client certificates where given. */
export type TlsMaterial = { cert: Buffer | string; key: Buffer | string; ca?: Buffer | string | undefined };

function tlsOptions(t: TlsMaterial) {
  // Client certificates are asked for when a CA is given, and checked in authenticate: a device
  // without one can still sign in with its password.
  return { cert: t.cert, key: t.key, ...(t.ca ? { ca: t.ca, requestCert: true, rejectUnauthorized: false } : {}), minVersion: 'TLSv1.2' as const };
}

/** Connections refused, by cause. */
export type RefusalCounts = { credentials: number; clientId: number; pendingPerAddress: number; oversized: number };

export type Broker = {
  /** The plain MQTT port; 0 when plain MQTT is off. */
  port: number;
  /** The MQTT over TLS port, when TLS is on. */
  tlsPort: number | null;
  /** New certificate and key (files changed): new connections get them, open ones keep theirs. */
  reloadTls(t: TlsMaterial): void;
  /** Takes no new connections, and waits (up to `timeoutMs`) for messages being stored to be acknowledged; returns how many were left. */
  stopAccepting(timeoutMs: number): Promise<number>;
  /** Disconnects every connection of a device at once (e.g. on decommissioning). */
  disconnectDevice(deviceId: string): number;
  /** True while the device holds a connection subscribed to its command topic. */
  canReceive(deviceId: string): boolean;
  /** Publishes a command to a device's command topic (QoS 1); `commandAcked` names it when the device acknowledges. */
  publishCommand(deviceId: string, payload: Buffer, commandId: string): Promise<void>;
  connectedDevices(): number;
  /** Connections that have not authenticated yet, from every address. */
  pendingConnections(): number;
  readonly refusals: RefusalCounts;
  close(): Promise<void>;
};

/** CONNACK return codes (MQTT 3.1.1, 3.2.2.3). */
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const BAD_CREDENTIALS = 4;

function authError(message: string, returnCode: 2 | 3 | 4 | 5): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export async function startBroker(opts: BrokerOptions): Promise<Broker> {
  const { gateway, log } = opts;
  const identities = new WeakMap<Client, DeviceIdentity>();
  const byDevice = new Map<string, Set<Client>>();
  /** The client id as sent in CONNECT (aedes replaces an empty one with a generated id). */
  const sentClientId = new WeakMap<Client, string>();
  const refusals: RefusalCounts = { credentials: 0, clientId: 0, pendingPerAddress: 0, oversized: 0 };
  /** Connections not yet authenticated, per source address; and how to release each one's place. */
  const pending = new Map<string, number>();
  const releasePending = new WeakMap<object, () => void>();
  /** Messages being stored whose PUBACK has not gone yet. */
  let inFlight = 0;

  const aedes = await Aedes.createBroker({
    connectTimeout: opts.connectTimeoutMs,

    preConnect(client, packet, done) {
      sentClientId.set(client, packet.clientId ?? '');
      done(null, true);
    },

    authenticate(client, username, password, done) {
      // An authenticated device (by certificate or password) whose client id is its own.
      // Checked before aedes looks up or takes over any session by this client id.
      const admit = (device: DeviceIdentity) => {
        const problem = clientIdProblem(device.deviceId, sentClientId.get(client) ?? client.id);
        if (problem) {
          refusals.clientId++;
          log.warn({ deviceId: device.deviceId, tenantId: device.tenantId, clientId: client.id.slice(0, 100), remote: client.conn && (client.conn as { remoteAddress?: string }).remoteAddress },
            'broker: refused a connection whose client id is not its device\'s');
          gateway.refused(device, problem);
          done(authError(problem, IDENTIFIER_REJECTED), false);
          return;
        }
        identities.set(client, device);
        releasePending.get(client.conn)?.();
        done(null, true);
      };
      // A device with a client certificate from the configured CA is the device its certificate names.
      const tlsSocket = client.conn instanceof TLSSocket ? client.conn : undefined;
      const certId = tlsSocket?.authorized ? (tlsSocket.getPeerCertificate().subject?.CN as string | undefined) : undefined;
      if (certId && (!username || username === certId)) {
        let device: DeviceIdentity | null = null;
        try {
          device = gateway.deviceById(certId);
        } catch (err) {
          log.error({ err, certId }, 'broker: authentication failed with an error');
          done(authError('authentication unavailable', SERVER_UNAVAILABLE), false);
          return;
        }
        if (device) {
          admit(device);
          return;
        }
        log.warn({ certId }, 'broker: a client certificate names no active device');
      }
      if (!username || !password) {
        refusals.credentials++;
        log.warn({ clientId: client.id }, 'broker: refused a client without credentials');
        done(authError('credentials required', BAD_CREDENTIALS), false);
        return;
      }
      let device: DeviceIdentity | null;
      try {
        device = gateway.authenticate(username, password.toString('utf8'));
      } catch (err) {
        log.error({ err, username }, 'broker: authentication failed with an error');
        done(authError('authentication unavailable', SERVER_UNAVAILABLE), false);
        return;
      }
      if (!device) {
        refusals.credentials++;
        log.warn({ username, clientId: client.id }, 'broker: refused unknown device or wrong password');
        done(authError('bad username or password', BAD_CREDENTIALS), false);
        return;
      }
      admit(device);
    },

    authorizePublish(client, packet, done) {
      const device = client ? identities.get(client) : undefined;
      if (!client || !device) {
        done(new Error('publisher is not an authenticated device'));
        return;
      }
      const channel = publishChannel(device.deviceId, packet.topic);
      if (!channel) {
        log.warn({ deviceId: device.deviceId, topic: packet.topic }, 'broker: refused publish outside the device\'s own topics; disconnecting');
        done(new Error(`device ${device.deviceId} may not publish to ${packet.topic}`));
        return;
      }
      inFlight++;
      gateway.receive(device, channel, packet.payload as Buffer, packet.qos).then(
        () => { inFlight--; done(null); },
        (err: unknown) => {
          inFlight--;
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

  const commandSubscription = (client: Client, deviceId: string): { qos: number } | undefined =>
    (client as unknown as { subscriptions?: Record<string, { qos: number }> }).subscriptions?.[topics.commands(deviceId)];
  const subscribedToCommands = (client: Client, deviceId: string) => commandSubscription(client, deviceId) !== undefined;
  /**
   * Commands written to each connection and not yet acknowledged, in order. MQTT has a client
   * acknowledge QoS 1 messages in the order it received them (3.1.1, 4.6), and aedes tells whose
   * PUBACK arrived but, for a clean session, not which message it was: the oldest is.
   */
  const awaitingAck = new WeakMap<Client, string[]>();

  // What a device publishes (its events and status, its last will) is for the hub alone, and the
  // hub has it by now (authorizePublish): no client may subscribe to those topics
  // (authorizeSubscribe). Routing it on through aedes (retained store, offline queues, matching
  // subscriptions) would be work for nobody, and retained statuses memory kept for nobody. Only
  // what the hub publishes, its commands, is routed.
  const route = aedes.publish.bind(aedes) as unknown as (packet: PublishPacket, client: Client | null, done?: (err?: Error) => void) => void;
  (aedes as unknown as { publish: typeof route }).publish = (packet, client, done) => {
    if (client && typeof client === 'object' && identities.has(client) && isUplink(packet.topic)) {
      done?.();
      return;
    }
    route(packet, client, done);
  };

  aedes.on('clientReady', (client) => {
    const device = identities.get(client);
    if (!device) return;
    let set = byDevice.get(device.deviceId);
    if (!set) byDevice.set(device.deviceId, (set = new Set()));
    set.add(client);
    gateway.connected(device);
    // A resumed persistent session brings its subscription back without a SUBSCRIBE.
    if (subscribedToCommands(client, device.deviceId)) gateway.commandsWanted(device);
  });
  aedes.on('subscribe', (subs, client) => {
    const device = client && identities.get(client);
    if (device && subs.some((s) => s.topic === topics.commands(device.deviceId) && (s.qos as number) !== 128)) gateway.commandsWanted(device);
  });
  aedes.on('ack', (packet, client) => {
    const device = client && identities.get(client);
    if (!device) return;
    const queue = awaitingAck.get(client) ?? [];
    let id: string | undefined;
    if (packet && packet.cmd === 'publish' && packet.topic === topics.commands(device.deviceId)) {
      // A persistent session keeps the packet: it names the command.
      try {
        const named = (JSON.parse(String(packet.payload)) as { id?: unknown }).id;
        if (typeof named === 'string') id = named;
      } catch {
        // Not one of ours.
      }
      if (id !== undefined && queue.includes(id)) queue.splice(queue.indexOf(id), 1);
    } else {
      id = queue.shift();
    }
    if (id !== undefined) gateway.commandAcked(device, id);
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

  const onSocket = (socket: Socket) => {
    // One host may not hold many connections that never authenticate. Authenticated devices are
    // not capped: many real devices share one address behind a mobile operator's NAT.
    const address = socket.remoteAddress ?? 'unknown';
    const waiting = pending.get(address) ?? 0;
    if (waiting >= opts.maxPendingPerAddress) {
      refusals.pendingPerAddress++;
      // One line per hundred refusals, so a flood does not flood the log too.
      if (refusals.pendingPerAddress % 100 === 1) {
        log.warn({ remote: address, waiting, refusedSoFar: refusals.pendingPerAddress }, 'broker: too many unauthenticated connections from one address; closing new ones');
      }
      socket.destroy();
      return;
    }
    pending.set(address, waiting + 1);
    // A PUBACK goes out at once: with Nagle's algorithm it waits for the device's delayed ACK,
    // about 40 ms per message for a device that sends its next event after the last PUBACK.
    socket.setNoDelay(true);
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      const n = (pending.get(address) ?? 1) - 1;
      if (n > 0) pending.set(address, n);
      else pending.delete(address);
    };
    socket.once('close', release);
    guardSocket(socket, MAX_PACKET_BYTES, (reason) => {
      refusals.oversized++;
      log.warn({ remote: socket.remoteAddress, reason }, 'broker: closed a connection that sent an oversized packet');
    });
    releasePending.set(socket, release);
    leanParser(aedes.handle(socket));
  };
  const listenOne = (server: Server, port: number, reusePort: boolean) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // After a restart or a power cut, thousands of devices connect within a second or two.
    // Node's default queue of 511 waiting connections overflows then, and each device whose
    // SYN is dropped waits for its TCP retry (1 s, 3 s, 7 s, …) with the hub idle meanwhile.
    // The kernel caps this at net.core.somaxconn.
    server.listen({ port, host: opts.host, backlog: LISTEN_BACKLOG, reusePort }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  /**
   * The listening sockets of one port. Node takes one waiting connection per listening socket
   * per turn of its event loop, so in a storm, while each turn also serves the connections
   * already open, the kernel's queue fills and the devices it turns away wait out TCP's
   * back-off. Where Node can share a port between sockets (`reusePort`, Linux, Node 22.12 and
   * later), the port gets LISTENERS sockets: as many connections taken per turn and as many
   * queues. A plain bind first, released at once, fails when anything else holds the port, so a
   * second hub started on it by mistake still stops with EADDRINUSE instead of sharing it.
   */
  const listen = async (create: () => Server, wanted: number): Promise<{ port: number; servers: Server[] }> => {
    const probe = create();
    await listenOne(probe, wanted, false);
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const servers = [create()];
    await listenOne(servers[0] as Server, port, true);
    for (let i = 1; i < LISTENERS; i++) {
      const server = create();
      try {
        await listenOne(server, port, true);
      } catch {
        // This Node does not share ports (it ignored reusePort on the first socket): one socket.
        break;
      }
      servers.push(server);
    }
    return { port, servers };
  };
  // Plain MQTT unless it is turned off (with TLS), and MQTT over TLS with the certificate given.
  const plain = opts.plain === false ? null : await listen(() => createServer(onSocket), opts.port);
  const tls = opts.tls;
  const secure = tls ? await listen(() => createTlsServer(tlsOptions(tls), onSocket), tls.port) : null;
  const servers = [...plain?.servers ?? [], ...secure?.servers ?? []];
  const port = plain?.port ?? 0;
  const tlsPort = secure?.port ?? null;
  log.info({ port: plain ? port : 'off', tlsPort, host: opts.host, clientCertificates: !!opts.tls?.ca, sockets: plain?.servers.length ?? 0, tlsSockets: secure?.servers.length ?? 0 }, 'broker: MQTT listening');

  return {
    port,
    disconnectDevice(deviceId) {
      const set = byDevice.get(deviceId);
      if (!set) return 0;
      const n = set.size;
      for (const c of [...set]) c.close();
      return n;
    },
    canReceive(deviceId) {
      for (const c of byDevice.get(deviceId) ?? []) if (subscribedToCommands(c, deviceId)) return true;
      return false;
    },
    publishCommand(deviceId, payload, commandId) {
      for (const c of byDevice.get(deviceId) ?? []) {
        const sub = commandSubscription(c, deviceId);
        if (!sub) continue;
        if (sub.qos >= 1) {
          const q = awaitingAck.get(c) ?? [];
          q.push(commandId);
          awaitingAck.set(c, q);
        } else {
          log.warn({ deviceId }, 'broker: device subscribed to its commands at QoS 0; it cannot acknowledge them');
        }
      }
      return new Promise((resolve, reject) => {
        aedes.publish(
          { cmd: 'publish', topic: topics.commands(deviceId), payload, qos: 1, retain: false, dup: false },
          (err) => (err ? reject(err) : resolve()),
        );
      });
    },
    connectedDevices() {
      return byDevice.size;
    },
    pendingConnections() {
      let n = 0;
      for (const v of pending.values()) n += v;
      return n;
    },
    refusals,
    tlsPort,
    reloadTls(t) {
      for (const server of secure?.servers ?? []) (server as TlsServer).setSecureContext(tlsOptions(t));
    },
    async stopAccepting(timeoutMs) {
      for (const server of servers) server.close();
      const until = Date.now() + timeoutMs;
      while (inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      return inFlight;
    },
    async close() {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    },
  };
}
