/**
 * The live channel from the browser: connects, keeps the last sequence number, and when the
 * connection drops reconnects by itself with `since` and `epoch`, so it catches up on what it
 * missed. It tells the page at once when it is not live, so the operator is never left trusting
 * a stale list.
 *
 * Each connection opens with a fresh single-use ticket, asked for with the session's bearer
 * token, so no long-lived credential is ever part of a URL. When the hub says the session is
 * over (close code 4401, or no ticket for it), the page is told to sign in again.
 */
import type { LiveMessage } from '../../../hub/live/live.ts';

export type LiveStatus = 'connecting' | 'live' | 'stale';

export type LiveHandlers = {
  onMessage(m: LiveMessage): void;
  onStatus(s: LiveStatus): void;
  /** The session ended (signed out elsewhere, expired, user disabled): sign in again. */
  onSessionEnded(): void;
};

/** Gets a ticket for one connection; rejects with `SessionEnded` when the session is over. */
export type TicketSource = () => Promise<string>;
export class SessionEnded extends Error {}

const CLOSE_SESSION_ENDED = 4401;

export class LiveConnection {
  private ws: WebSocket | null = null;
  private epoch: string | null = null;
  private seq = 0;
  private retryMs = 500;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(private readonly ticket: TicketSource, private readonly h: LiveHandlers) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  private connect(): void {
    this.h.onStatus(this.epoch ? 'stale' : 'connecting');
    this.ticket().then((ticket) => {
      if (!this.stopped) this.open(ticket);
    }, (err: unknown) => {
      if (this.stopped) return;
      if (err instanceof SessionEnded) {
        this.stopped = true;
        this.h.onSessionEnded();
        return;
      }
      this.retry();
    });
  }

  private retry(): void {
    this.h.onStatus('stale');
    this.timer = setTimeout(() => this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 5000);
  }

  private open(ticket: string): void {
    const params = new URLSearchParams({ ticket });
    if (this.epoch) {
      params.set('epoch', this.epoch);
      params.set('since', String(this.seq));
    }
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/api/live?${params}`);
    this.ws = ws;
    ws.onmessage = (ev) => {
      const m = JSON.parse(String(ev.data)) as LiveMessage;
      if (m.type === 'snapshot' || m.type === 'resume') {
        this.epoch = m.epoch;
        this.seq = m.seq;
        this.retryMs = 500;
        this.h.onMessage(m);
        this.h.onStatus('live');
        return;
      }
      this.seq = Math.max(this.seq, m.seq);
      this.h.onMessage(m);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (ev.code === CLOSE_SESSION_ENDED) {
        this.stopped = true;
        this.h.onStatus('stale');
        this.h.onSessionEnded();
        return;
      }
      this.retry();
    };
    ws.onerror = () => ws.close();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close();
    this.ws = null;
  }
}
