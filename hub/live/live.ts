/**
 * The live channel at /api/live (WebSocket, package `ws`).
 *
 * On connect a client gets a snapshot of the open and acknowledged alarms of the municipalities
 * it serves, with a sequence number; then every change with the next numbers. A client that
 * reconnects with `?since=<seq>&epoch=<epoch>` gets what it missed, or a fresh snapshot when that
 * is no longer kept (or the hub restarted: a new epoch). An operator must never be left believing
 * a stale list, so a client that stops answering pings is dropped (it will reconnect and catch
 * up), and one that reads too slowly is dropped rather than let its backlog slow the hub.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import type { EventBus } from '../bus.ts';
import { type Principal, servesAllTenants, servesTenant } from '../core/access.ts';
import { type Alarm, type TransitionAction, byUrgency } from '../core/alarms.ts';
import { randomToken } from '../security/secrets.ts';
import type { AlarmStore } from '../store/alarms.ts';
import type { UserStore } from '../store/users.ts';

export const LIVE_PATH = '/api/live';

/** Every message carries the hub's time (`now`), so a screen can count ages by the hub's clock. */
export type LiveMessage =
  | { type: 'snapshot'; epoch: string; seq: number; now: string; alarms: Alarm[] }
  | { type: 'resume'; epoch: string; seq: number; now: string }
  | { type: 'alarm'; seq: number; now: string; change: TransitionAction; alarm: Alarm };

export type LiveOptions = {
  alarms: AlarmStore;
  users: UserStore;
  bus: EventBus;
  log: Logger;
  now: () => Date;
  pingIntervalMs?: number;
  /** Bytes a client may have waiting before it is dropped as too slow. */
  maxBufferedBytes?: number;
  /** Changes kept for clients that reconnect. */
  replayLength?: number;
};

type Client = { ws: WebSocket; principal: Principal; alive: boolean };

export class LiveChannel {
  readonly epoch = randomToken(6);
  private seq = 0;
  private readonly replay: { seq: number; tenantId: string; text: string }[] = [];
  private readonly clients = new Set<Client>();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  private readonly pinger: NodeJS.Timeout;
  private readonly maxBuffered: number;
  private readonly replayLength: number;
  readonly stats = { dropped: 0, slow: 0 };

  constructor(private readonly o: LiveOptions) {
    this.maxBuffered = o.maxBufferedBytes ?? 1024 * 1024;
    this.replayLength = o.replayLength ?? 10_000;
    o.bus.on('live', 'alarm.changed', (c) => this.broadcast(c.change, c.alarm));
    this.pinger = setInterval(() => this.ping(), o.pingIntervalMs ?? 15_000);
    this.pinger.unref();
  }

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://hub');
      if (url.pathname !== LIVE_PATH) {
        socket.destroy();
        return;
      }
      const token = url.searchParams.get('token') ?? '';
      const principal = token ? this.o.users.principalForToken(token, this.o.now()) : null;
      if (!principal) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nsign in first: ?token=<token>\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, principal, url.searchParams));
    });
  }

  connected(): number {
    return this.clients.size;
  }

  private accept(ws: WebSocket, principal: Principal, params: URLSearchParams): void {
    const client: Client = { ws, principal, alive: true };
    this.clients.add(client);
    ws.on('pong', () => { client.alive = true; });
    ws.on('close', () => this.clients.delete(client));
    ws.on('error', () => this.clients.delete(client));
    ws.on('message', () => { /* clients only listen */ });

    const since = Number(params.get('since'));
    const oldest = this.replay[0]?.seq ?? this.seq + 1;
    const canResume = params.get('epoch') === this.epoch && Number.isInteger(since) && since >= 0 && since <= this.seq && since >= oldest - 1;
    if (canResume) {
      this.send(client, JSON.stringify({ type: 'resume', epoch: this.epoch, seq: since, now: this.o.now().toISOString() } satisfies LiveMessage));
      for (const m of this.replay) if (m.seq > since && servesTenant(principal, m.tenantId)) this.send(client, m.text);
    } else {
      const alarms = this.o.alarms.activeIn(servesAllTenants(principal) ? 'all' : principal.tenantIds).sort(byUrgency);
      this.send(client, JSON.stringify({ type: 'snapshot', epoch: this.epoch, seq: this.seq, now: this.o.now().toISOString(), alarms } satisfies LiveMessage));
    }
  }

  private broadcast(change: TransitionAction, alarm: Alarm): void {
    const seq = ++this.seq;
    const text = JSON.stringify({ type: 'alarm', seq, now: this.o.now().toISOString(), change, alarm } satisfies LiveMessage);
    this.replay.push({ seq, tenantId: alarm.tenantId, text });
    if (this.replay.length > this.replayLength) this.replay.splice(0, this.replay.length - this.replayLength);
    for (const c of this.clients) if (servesTenant(c.principal, alarm.tenantId)) this.send(c, text);
  }

  private send(c: Client, text: string): void {
    if (c.ws.readyState !== WebSocket.OPEN) return;
    if (c.ws.bufferedAmount > this.maxBuffered) {
      this.stats.slow++;
      this.o.log.warn({ user: c.principal.username, buffered: c.ws.bufferedAmount }, 'live: dropping a client that reads too slowly');
      this.drop(c);
      return;
    }
    c.ws.send(text);
  }

  private drop(c: Client): void {
    this.stats.dropped++;
    this.clients.delete(c);
    c.ws.terminate();
  }

  private ping(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        this.o.log.info({ user: c.principal.username }, 'live: dropping a client that stopped answering');
        this.drop(c);
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.pinger);
    this.o.bus.off('live');
    for (const c of this.clients) c.ws.terminate();
    this.clients.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
