/**
 * The MQTT port's listening sockets (broker/broker.ts, `listen`): several where this Node can
 * share a port between sockets, so a reconnect storm is taken in faster than one connection per
 * turn of the event loop; every one of them serves devices; and a second hub started on the same
 * port by mistake stops instead of sharing the devices with the first.
 */
import mqtt from 'mqtt';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { LISTENERS } from '../../broker/broker.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';

/** Node shares a port between sockets (`reusePort`) from 22.12 and 23.1 on. */
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const SHARES_PORTS = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);

/** Listening TCP sockets on a local port, as the kernel lists them. */
function listeningSockets(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6']
    .flatMap((f) => { try { return readFileSync(f, 'utf8').split('\n').slice(1); } catch { return []; } })
    .map((l) => l.trim().split(/\s+/))
    .filter((c) => c[1]?.endsWith(`:${hex}`) && c[3] === '0A').length;
}

const hubs: TestHub[] = [];
afterAll(async () => { for (const h of hubs) await h.close(); });

describe('the MQTT port', () => {
  it(`is held by ${LISTENERS} sockets where Node shares ports (${SHARES_PORTS ? 'this one does' : 'this one does not: one'}), and a burst of connections is answered on all of them`, async () => {
    const h = await startTestHub();
    hubs.push(h);
    expect(listeningSockets(h.hub.mqttPort)).toBe(SHARES_PORTS ? LISTENERS : 1);
    // Each connection lands on one of the sockets (the kernel spreads them by address and port);
    // every one is read by the broker and refused for its unknown credentials.
    const answers = await Promise.all(Array.from({ length: 64 }, (_, i) => new Promise<string>((resolve) => {
      const c = mqtt.connect(h.mqttUrl, { clientId: `nobody-${i}`, username: `nobody-${i}`, password: 'wrong', reconnectPeriod: 0, connectTimeout: 10_000 });
      c.once('error', (err: Error & { code?: unknown }) => { c.end(true); resolve(String(err.code ?? err.message)); });
      c.once('connect', () => { c.end(true); resolve('connected'); });
    })));
    expect(answers).toEqual(Array.from({ length: 64 }, () => '4'));
  });

  it('stops a second hub started on the same port, and is free for the next hub once closed', async () => {
    const first = await startTestHub();
    const port = first.hub.mqttPort;
    await expect(startTestHub({ config: { mqttPort: port } })).rejects.toThrow(/EADDRINUSE/);
    expect(listeningSockets(port)).toBe(SHARES_PORTS ? LISTENERS : 1);
    await first.close();
    expect(listeningSockets(port)).toBe(0);
    const next = await startTestHub({ config: { mqttPort: port } });
    hubs.push(next);
    expect(next.hub.mqttPort).toBe(port);
    expect(listeningSockets(port)).toBe(SHARES_PORTS ? LISTENERS : 1);
  });
});
