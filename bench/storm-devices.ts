/**
 * A part of the storm benchmark's devices, in a process of its own (one process may not hold
 * more than its open-file limit of sockets). Driven over IPC by bench/storm.ts: each request
 * `{ id, op, ... }` is answered `{ id, result }`. Times are epoch milliseconds, comparable
 * across the processes.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { topics } from '../hub/core/topics.ts';

type Cred = { id: string; password?: string };
type Request =
  | { id: number; op: 'connect'; url: string; creds: Cred[]; parallel: number }
  | { id: number; op: 'publish'; from: number; n: number; tag: string }
  | { id: number; op: 'status' }
  | { id: number; op: 'reset' }
  | { id: number; op: 'end' };

/** Errors that only say the server is not there (down, restarting); anything else is a refusal. */
const DOWN = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);
const clients: MqttClient[] = [];
const creds: Cred[] = [];
let connects: number[] = [];
let refusals = 0;
/** What the refusals were, by code or message. */
let causes: Record<string, number> = {};

async function connect(url: string, list: Cred[], parallel: number): Promise<number> {
  const start = creds.length;
  creds.push(...list);
  let next = start;
  const one = async (): Promise<void> => {
    while (next < creds.length) {
      const i = next++;
      const c = creds[i] as Cred;
      // Devices come back on their own schedule: 1 to 3 s between attempts.
      const client = mqtt.connect(url, {
        clientId: c.id, username: c.id, password: c.password, clean: true, keepalive: 600,
        reconnectPeriod: 1000 + Math.floor(Math.random() * 2000), connectTimeout: 30_000, resubscribe: true,
      });
      client.on('connect', () => { connects.push(Date.now()); });
      client.on('error', (err: Error & { code?: string | number }) => {
        if (DOWN.has(String(err.code))) return;
        refusals++;
        const cause = String(err.code ?? err.message).slice(0, 60);
        causes[cause] = (causes[cause] ?? 0) + 1;
      });
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      await client.subscribeAsync(topics.commands(c.id), { qos: 1 });
      clients[i] = client;
    }
  };
  await Promise.all(Array.from({ length: parallel }, one));
  return clients.length;
}

/** Devices `from..from+n` (of this process) publish `mains_lost` now; the latencies of their PUBACKs. */
async function publish(from: number, n: number, tag: string): Promise<number[]> {
  return Promise.all(Array.from({ length: n }, async (_, k) => {
    const i = from + k;
    const sent = performance.now();
    await (clients[i] as MqttClient).publishAsync(topics.events((creds[i] as Cred).id), JSON.stringify({ id: `${tag}-${(creds[i] as Cred).id}`, ts: new Date().toISOString(), type: 'mains_lost' }), { qos: 1 });
    return performance.now() - sent;
  }));
}

process.on('message', (m: Request) => {
  const answer = (result: unknown) => process.send?.({ id: m.id, result });
  switch (m.op) {
    case 'connect': void connect(m.url, m.creds, m.parallel).then(answer); break;
    case 'publish': void publish(m.from, m.n, m.tag).then(answer); break;
    case 'status': answer({ connected: clients.filter((c) => c?.connected).length, connects, refusals, causes }); break;
    case 'reset': connects = []; refusals = 0; causes = {}; answer(null); break;
    case 'end': void Promise.all(clients.map((c) => c.endAsync(true))).then(() => { answer(null); process.exit(0); }); break;
  }
});
process.send?.({ id: 0, result: 'ready' });
