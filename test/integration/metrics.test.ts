/**
 * /metrics in Prometheus' text format: read with the METRICS_TOKEN or by an administrator,
 * refused to anyone else, and its numbers move with what the hub does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../hub/core/topics.ts';
import { connectDevice, nextEventId, type Registered, registerDevice, startTestHub, type TestHub } from '../helpers/hub.ts';

const TOKEN = 'prometheus-scrape-token-0123456789';
let t: TestHub;
let dev: Registered;

beforeAll(async () => {
  t = await startTestHub({ config: { metricsToken: TOKEN } });
  await t.api('POST', '/api/tenants', { id: '0301', name: 'Oslo' });
  dev = await registerDevice(t.api, 'safety_alarm', '0301');
});
afterAll(async () => { await t.close(); });

async function scrape(token: string | null): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${t.httpUrl}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

/** The sum of all samples of `name` whose labels include `labels`. */
function sum(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
  }
  return total;
}

describe('/metrics', () => {
  it('is read with the metrics token or an administrator\'s session, and refused otherwise', async () => {
    const withToken = await scrape(TOKEN);
    expect(withToken.status).toBe(200);
    expect(withToken.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(withToken.text).toContain('# TYPE hub_puback_seconds histogram');
    expect(withToken.text).toContain('process_resident_memory_bytes');
    expect(withToken.text).toContain('nodejs_eventloop_lag_seconds');
    expect((await scrape(t.adminToken)).status).toBe(200);
    expect((await scrape(null)).status).toBe(401);
    expect((await scrape('prometheus-scrape-token-wrong-0000')).status).toBe(401);
    await t.api('POST', '/api/users', { username: 'ola', password: 'Nattevakt-Kaffe-7', role: 'operator', tenantIds: ['0301'] });
    const op = (await t.api('POST', '/api/auth/login', { username: 'ola', password: 'Nattevakt-Kaffe-7' }, null)).body.token;
    const refused = await scrape(op);
    expect(refused.status).toBe(403);
    expect(refused.text).not.toContain('hub_');
  });

  it('counts messages, rejections, alarms, connections and acknowledgement times as they happen', async () => {
    const before = (await scrape(TOKEN)).text;
    const c = await connectDevice(t.mqttUrl, dev);
    await c.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: new Date().toISOString(), type: 'button_pressed' }), { qos: 1 });
    await c.publishAsync(topics.events(dev.id), '{not json', { qos: 1 });
    const during = (await scrape(TOKEN)).text;
    await c.endAsync();

    const stored = { kind: 'safety_alarm', outcome: 'stored' };
    expect(sum(during, 'hub_messages_total', stored)).toBe(sum(before, 'hub_messages_total', stored) + 1);
    expect(sum(during, 'hub_puback_seconds_count', { class: 'care' })).toBe(sum(before, 'hub_puback_seconds_count', { class: 'care' }) + 1);
    expect(sum(during, 'hub_rejections_total')).toBe(sum(before, 'hub_rejections_total') + 1);
    expect(sum(during, 'hub_connected_devices')).toBe(1);
    expect(sum(during, 'hub_alarms_total', { action: 'raised' })).toBe(sum(before, 'hub_alarms_total', { action: 'raised' }) + 1);
    expect(sum(during, 'hub_alarms_open')).toBe(1);
    expect(sum(during, 'hub_commit_seconds_count')).toBeGreaterThan(sum(before, 'hub_commit_seconds_count'));

    const alarm = (await t.api('GET', '/api/alarms')).body[0];
    expect((await t.api('POST', `/api/alarms/${alarm.id}/acknowledge`, {})).status).toBe(200);
    const after = (await scrape(TOKEN)).text;
    expect(sum(after, 'hub_time_to_acknowledge_seconds_count', { category: alarm.category })).toBe(1);
    expect(sum(after, 'hub_alarms_total', { action: 'acknowledged', category: alarm.category })).toBe(1);
    expect(sum(after, 'hub_connected_devices')).toBe(0);
  });
});
