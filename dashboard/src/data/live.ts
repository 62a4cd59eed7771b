/**
 * The live channel from the browser: connects, keeps the last sequence number, and when the
 * connection drops reconnects by itself with `since` and `epoch`, so it catches up on what it
 * missed. It tells the page at once when it is not live, so the operator is never left trusting
 * a stale list.
 */
import type { LiveMessage } from '../../../hub/live/live.ts';

export type LiveStatus = 'connecting' | 'live' | 'stale';

export type LiveHandlers = {
  onMessage(m: LiveMessage): void;
  onStatus(s: LiveStatus): void;
};

export class LiveConnection {
  private ws: WebSocket | null = null;
  private epoch: string | null = null;
  private seq = 0;
  private retryMs = 500;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(private readonly token: string, private readonly h: LiveHandlers) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  private connect(): void {
    const params = new URLSearchParams({ token: this.token });
    if (this.epoch) {
      params.set('epoch', this.epoch);
      params.set('since', String(this.seq));
    }
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/api/live?${params}`);
    this.ws = ws;
    this.h.onStatus(this.epoch ? 'stale' : 'connecting');
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
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      this.h.onStatus('stale');
      this.timer = setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 5000);
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
