/**
 * The live channel at /api/live (WebSocket, package `ws`).
 *
 * On connect a client gets a snapshot of the open and acknowledged alarms of the municipalities
 * it serves, with a sequence number; then every change with the next numbers. A client that
 * reconnects with `?since=<seq>&epoch=<epoch>` gets what it missed, or a fresh snapshot when that
 * is no longer kept (or the hub restarted: a new epoch). An operator must never be left believing
 * a stale list, so a client that stops answering pings is dropped (it will reconnect and catch
 * up), and one that reads too slowly is dropped rather than let its backlog slow the hub.
 *
 * The live channel sees exactly what `GET /api/alarms` would show the same user: it requires the
 * same permission (`alarms:read`), and the snapshot and every message after it are filtered by
 * the municipalities the user serves. A socket belongs to a session: logout closes it at once,
 * and every few seconds each socket's session is checked again, so expiry, a disabled user or a
 * changed role or municipality list closes it too (the client reconnects with what it may now
 * see, or signs in again). No long-lived credential travels in the URL: a client first asks for
 * a ticket (`POST /api/live/ticket`, with its bearer token), valid for seconds and once.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import type { EventBus } from '../bus.ts';
import { can, type Principal, samePermissions, servesAllTenants, servesTenant } from '../core/access.ts';
import { type Alarm, type TransitionAction, byUrgency } from '../core/alarms.ts';
import { randomToken, tokenHash } from '../security/secrets.ts';
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
  /** How often every socket's session is checked again. */
  sessionCheckMs?: number;
  /** How long a ticket is valid. */
  ticketTtlMs?: number;
  /** Hears every accepted connection, for the access log. */
  onConnect?: (p: Principal, source: string | null) => void;
};

/** Close codes the client acts on: sign in again, or reconnect with the permissions it has now. */
export const CLOSE_SESSION_ENDED = 4401;
export const CLOSE_PERMISSIONS_CHANGED = 4403;

type Client = { ws: WebSocket; principal: Principal; sessionId: string; alive: boolean };
type Ticket = { sessionId: string; expiresAt: number };

const refuse = (socket: Duplex, status: '401 Unauthorized' | '403 Forbidden', message: string) => {
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${message}\r\n`);
};

export class LiveChannel {
  readonly epoch = randomToken(6);
  private seq = 0;
  private readonly replay: { seq: number; tenantId: string; text: string }[] = [];
  private readonly clients = new Set<Client>();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  private readonly pinger: NodeJS.Timeout;
  private readonly checker: NodeJS.Timeout;
  private readonly maxBuffered: number;
  private readonly replayLength: number;
  private readonly ticketTtlMs: number;
  /** Tickets by their hash; each is used once. */
  private readonly tickets = new Map<string, Ticket>();
  readonly stats = { dropped: 0, slow: 0, sessionsClosed: 0 };

  constructor(private readonly o: LiveOptions) {
    this.maxBuffered = o.maxBufferedBytes ?? 1024 * 1024;
    this.replayLength = o.replayLength ?? 10_000;
    this.ticketTtlMs = o.ticketTtlMs ?? 30_000;
    o.bus.on('live', 'alarm.changed', (c) => this.broadcast(c.change, c.alarm));
    o.bus.on('live', 'session.ended', ({ sessionId, reason }) => this.endSession(sessionId, reason));
    this.pinger = setInterval(() => this.ping(), o.pingIntervalMs ?? 15_000);
    this.pinger.unref();
    this.checker = setInterval(() => this.checkSessions(), o.sessionCheckMs ?? 2000);
    this.checker.unref();
  }

  /** A single-use ticket for opening the live channel, for the user of a session. */
  issueTicket(p: Principal): { ticket: string; expiresAt: Date } {
    if (!p.sessionId) throw new Error('a live ticket needs a session');
    const now = this.o.now().getTime();
    for (const [k, t] of this.tickets) if (t.expiresAt <= now) this.tickets.delete(k);
    const ticket = randomToken(24);
    const expiresAt = now + this.ticketTtlMs;
    this.tickets.set(tokenHash(ticket), { sessionId: p.sessionId, expiresAt });
    return { ticket, expiresAt: new Date(expiresAt) };
  }

  /** Redeems a ticket: the principal of its session, or null (unknown, used, expired, session over). */
  private redeem(ticket: string): Principal | null {
    const key = tokenHash(ticket);
    const t = this.tickets.get(key);
    if (!t) return null;
    this.tickets.delete(key);
    const now = this.o.now();
    if (t.expiresAt <= now.getTime()) return null;
    return this.o.users.principalForSession(t.sessionId, now);
  }

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://hub');
      if (url.pathname !== LIVE_PATH) {
        socket.destroy();
        return;
      }
      const ticket = url.searchParams.get('ticket') ?? '';
      const principal = ticket ? this.redeem(ticket) : null;
      if (!principal?.sessionId) {
        refuse(socket, '401 Unauthorized', 'a valid ticket is needed: POST /api/live/ticket, then ?ticket=<ticket> (valid for seconds, once)');
        return;
      }
      if (!can(principal, 'alarms:read')) {
        refuse(socket, '403 Forbidden', `role ${principal.role} may not read alarms (alarms:read)`);
        return;
      }
      const sessionId = principal.sessionId;
      this.o.onConnect?.(principal, req.socket.remoteAddress ?? null);
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, principal, sessionId, url.searchParams));
    });
  }

  /** Closes every socket of a session at once (logout). */
  endSession(sessionId: string, reason: string): number {
    let n = 0;
    for (const c of this.clients) {
      if (c.sessionId !== sessionId) continue;
      this.closeClient(c, CLOSE_SESSION_ENDED, reason);
      n++;
    }
    return n;
  }

  /** Every socket's session again: expired, ended, user disabled, or permissions changed. */
  checkSessions(): void {
    const now = this.o.now();
    const bySession = new Map<string, Principal | null>();
    for (const c of this.clients) {
      let p = bySession.get(c.sessionId);
      if (p === undefined) {
        p = this.o.users.principalForSession(c.sessionId, now);
        bySession.set(c.sessionId, p);
      }
      if (!p) this.closeClient(c, CLOSE_SESSION_ENDED, 'session ended or expired; sign in again');
      else if (!samePermissions(p, c.principal) || !can(p, 'alarms:read')) this.closeClient(c, CLOSE_PERMISSIONS_CHANGED, 'your role or municipalities changed; reconnect');
    }
  }

  private closeClient(c: Client, code: number, reason: string): void {
    this.stats.sessionsClosed++;
    this.clients.delete(c);
    this.o.log.info({ user: c.principal.username, code, reason }, 'live: closing a socket');
    c.ws.close(code, reason);
    // A client that does not answer the close handshake goes anyway.
    setTimeout(() => c.ws.terminate(), 2000).unref();
  }

  connected(): number {
    return this.clients.size;
  }

  private accept(ws: WebSocket, principal: Principal, sessionId: string, params: URLSearchParams): void {
    const client: Client = { ws, principal, sessionId, alive: true };
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

  /** Closes every socket, telling its client why (1001: going away; it reconnects and catches up). */
  async close(reason = 'the hub is shutting down'): Promise<void> {
    clearInterval(this.pinger);
    clearInterval(this.checker);
    this.o.bus.off('live');
    for (const c of this.clients) c.ws.close(1001, reason);
    await new Promise((r) => setTimeout(r, this.clients.size > 0 ? 100 : 0));
    for (const c of this.clients) c.ws.terminate();
    this.clients.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
