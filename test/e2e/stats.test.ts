/**
 * A leader's statistics in a real browser against a real hub: alarms answered at known speeds,
 * the key figures against the targets, the charts with their tables, the heat map, a CSV
 * download, two municipalities side by side, and English. Screenshots go to test-results/screenshots.
 */
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../hub/core/alarms.ts';
import { topics } from '../../hub/core/topics.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { accessible, signInPage } from '../helpers/dashboard.ts';
import { connectDevice, nextEventId, type Registered, registerDevice, startTestHub, TestClock, type TestHub } from '../helpers/hub.ts';

const SHOTS = 'test-results/screenshots';
const clock = new TestClock();
let browser: Browser;
let t: TestHub;
const pageErrors: string[] = [];

async function press(dev: Registered, type: string, extra: Record<string, unknown> = {}): Promise<Alarm | undefined> {
  const c = await connectDevice(t.mqttUrl, dev);
  await c.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: clock.now().toISOString(), type, ...extra }), { qos: 1 });
  await c.endAsync();
  return ((await t.api('GET', `/api/alarms?deviceId=${dev.id}&state=open`)).body as Alarm[])[0];
}

beforeAll(async () => {
  t = await startTestHub({ clock, config: { scheduler: { tickMs: 250, silenceEveryMs: 1e12 } } });
  for (const [id, name] of [['0301', 'Oslo'], ['4601', 'Bergen']]) await t.api('POST', '/api/tenants', { id, name });
  await t.api('POST', '/api/users', { username: 'leder', password: 'Nattevakt-Kaffe-7', role: 'leader', tenantIds: ['0301', '4601'] });
  const devices: Registered[] = [];
  for (let i = 0; i < 7; i++) devices.push(await registerDevice(t.api, 'safety_alarm', '0301'));
  const door = await registerDevice(t.api, 'door_lock', '0301');
  await registerDevice(t.api, 'safety_alarm', '4601');
  // Alarms answered in 20 s, 45 s, 70 s, 150 s and 400 s; resolved with different reasons.
  const plan: [number, string][] = [[20, 'false_alarm'], [45, 'staff_sent'], [70, 'resolved_by_phone'], [150, 'staff_sent'], [400, 'emergency_services']];
  for (const [i, [ack, reason]] of plan.entries()) {
    const a = await press(devices[i]!, i % 2 ? 'fall_detected' : 'button_pressed');
    clock.advance(ack);
    await t.api('POST', `/api/alarms/${a?.id}/acknowledge`);
    clock.advance(60);
    await t.api('POST', `/api/alarms/${a?.id}/resolve`, { reason, note: 'ok' });
  }
  await press(devices[5]!, 'test_alarm');
  for (let i = 0; i < 3; i++) await press(door, 'unlocked', { by: 'staff', staffId: `s${i}` });
  await t.hub.ctx.series.flush();
  browser = await launchBrowser();
}, 120_000);
afterEach(() => { expect(pageErrors).toEqual([]); });
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

async function leader(): Promise<Page> {
  const page = await signInPage(browser, `${t.httpUrl}/`, 'leder', pageErrors);
  await page.getByTestId('stats-title').waitFor();
  return page;
}

describe('the statistics', () => {
  it('shows a leader the answer times against the targets, the alarms, users, charts and the heat map', async () => {
    const page = await leader();
    await expect(page.getByTestId('stats-title').textContent()).resolves.toContain('Oslo');
    const response = page.getByTestId('stats-response');
    await response.filter({ hasText: '40 %' }).waitFor(); // 2 of 5 within 60 s
    await response.filter({ hasText: '80 %' }).waitFor(); // 4 of 5 within 180 s
    await response.filter({ hasText: 'mål ikke nådd' }).waitFor();
    expect(await page.getByTestId('alarms-total').textContent()).toBe('5');
    expect(await page.getByTestId('users-safety_alarm').textContent()).toBe('7');
    expect(await page.getByTestId('users-door_lock').textContent()).toBe('<5');
    expect(await page.getByTestId('staff-unlocks').textContent()).toBe('3');
    await page.getByTestId('chart-alarms').locator('canvas').waitFor();
    // Each chart's numbers are in a table for screen readers; shown on request.
    const table = page.getByTestId('table-answered');
    expect(await table.getAttribute('class')).toBe('sr-only');
    await page.getByTestId('chart-answered').getByRole('button', { name: 'Vis som tabell' }).click();
    expect(await table.getAttribute('class')).toContain('data');
    await table.filter({ hasText: '40 %' }).waitFor();
    expect(await page.getByTestId('stats-compare').locator('tbody tr').count()).toBe(2);
    await page.getByTestId('stats-heatmap').locator('td.hot').first().waitFor();
    // No names or addresses: the page holds aggregates only.
    expect(await page.locator('body').textContent()).not.toContain('Nordmann');
    await page.screenshot({ path: `${SHOTS}/stats.png`, fullPage: true });
    await accessible(page, 'statistics');
    await page.context().close();
  });

  it('downloads the key figures as CSV, changes period, and speaks English', async () => {
    const page = await leader();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('stats-csv').click()]);
    const bytes = readFileSync(await download.path());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bytes.toString('utf8')).toContain('response;shareWithin60s;0.4;no');
    await page.getByTestId('stats-period').selectOption('last_month');
    await page.getByTestId('alarms-total').filter({ hasText: /^0$/ }).waitFor();
    await page.getByTestId('stats-period').selectOption('this_year');
    await page.getByTestId('alarms-total').filter({ hasText: /^5$/ }).waitFor();
    await page.getByTestId('language').selectOption('en');
    await page.getByTestId('stats-response').filter({ hasText: 'target not met' }).waitFor();
    await page.getByTestId('chart-alarms').filter({ hasText: 'Alarms per week' }).waitFor();
    await accessible(page, 'statistics in English');
    await page.screenshot({ path: `${SHOTS}/stats-en.png` });
    await page.context().close();
  });
});
