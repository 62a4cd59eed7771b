/** A real `ws` client of /api/live that keeps every message and can wait for one. */
import WebSocket from 'ws';
import type { LiveMessage } from '../../hub/live/live.ts';

export type LiveClient = {
  ws: WebSocket;
  messages: LiveMessage[];
  waitFor<T extends LiveMessage>(pred: (m: LiveMessage) => m is T, what: string, timeoutMs?: number): Promise<T>;
  waitFor(pred: (m: LiveMessage) => boolean, what: string, timeoutMs?: number): Promise<LiveMessage>;
  lastSeq(): number;
  closed: Promise<number>;
  close(): void;
};

/** Asks for a live ticket with a bearer token, as the dashboard does. */
export async function liveTicket(httpUrl: string, token: string): Promise<string> {
  const res = await fetch(`${httpUrl}/api/live/ticket`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  const body = await res.json() as { ticket?: string; message?: string };
  if (res.status !== 201 || !body.ticket) throw new Error(`live ticket: HTTP ${res.status} ${body.message ?? ''}`);
  return body.ticket;
}

/** Opens the live channel for the session of `token`: a ticket first, then the socket. */
export async function connectLive(httpUrl: string, token: string, params: Record<string, string> = {}, opts: WebSocket.ClientOptions = {}): Promise<LiveClient> {
  return openLive(httpUrl, { ticket: await liveTicket(httpUrl, token), ...params }, opts);
}

/** Opens the live channel with exactly these query parameters. */
export async function openLive(httpUrl: string, params: Record<string, string>, opts: WebSocket.ClientOptions = {}): Promise<LiveClient> {
  const q = new URLSearchParams(params);
  const ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/api/live?${q}`, opts);
  const messages: LiveMessage[] = [];
  const waiters: { pred: (m: LiveMessage) => boolean; resolve: (m: LiveMessage) => void }[] = [];
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString()) as LiveMessage;
    messages.push(m);
    for (const w of [...waiters]) if (w.pred(m)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`live: HTTP ${res.statusCode}`)));
  });
  const client: LiveClient = {
    ws, messages, closed,
    waitFor(pred: (m: LiveMessage) => boolean, what: string, timeoutMs = 10_000) {
      const found = messages.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise<LiveMessage>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`live: timed out waiting for ${what}; got ${JSON.stringify(messages.map((m) => m.type === 'alarm' ? `${m.change}:${m.alarm.type}` : m.type))}`)), timeoutMs);
        waiters.push({ pred, resolve: (m) => { clearTimeout(timer); resolve(m); } });
      });
    },
    lastSeq() {
      return messages.reduce((s, m) => Math.max(s, m.seq), 0);
    },
    close() { ws.close(); },
  } as LiveClient;
  return client;
}
