/**
 * What a PUBACK waits for: a care event only once it and its alarm are committed; a heartbeat not
 * (its state follows in the next group commit). With a commit window of one second, what each
 * acknowledgement means can be read from the store right after it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../hub/core/topics.ts';
import { connectDevice, nextEventId, type Registered, registerDevice, startTestHub, type TestHub } from '../helpers/hub.ts';

let t: TestHub;
let dev: Registered;

beforeAll(async () => {
  t = await startTestHub({ config: { commitWindowMs: 1000 } });
  await t.api('POST', '/api/tenants', { id: '0301', name: 'Oslo' });
  dev = await registerDevice(t.api, 'safety_alarm', '0301');
});
afterAll(async () => { await t.close(); });

describe('acknowledgements', () => {
  it('are sent for a heartbeat before its commit, and for a care event only after it', async () => {
    const c = await connectDevice(t.mqttUrl, dev);
    try {
      await c.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: new Date().toISOString(), type: 'heartbeat', battery: 42, signal: -70, firmware: '2.4.1' }), { qos: 1 });
      // Acknowledged, and not yet in the store: the PUBACK did not wait for the commit.
      expect((await t.api('GET', `/api/devices/${dev.id}`)).body.battery).not.toBe(42);
      await expect.poll(async () => (await t.api('GET', `/api/devices/${dev.id}`)).body.battery, { timeout: 5000 }).toBe(42);

      await c.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: new Date().toISOString(), type: 'button_pressed' }), { qos: 1 });
      // Acknowledged, so already committed with its alarm: no waiting here.
      const alarms = (await t.api('GET', '/api/alarms')).body as { deviceId: string }[];
      expect(alarms.filter((a) => a.deviceId === dev.id)).toHaveLength(1);
    } finally {
      await c.endAsync();
    }
  });
});
