/**
 * The technician's day in a real browser against a real hub: land on the fleet, register a
 * device, import a CSV (a dry run with an error, fixed, imported; the credential sheet and its
 * CSV), prove a device with a chain test that passes live, rotate its password, set and end
 * maintenance, filter the fleet; and an administrator switching between the views.
 * Screenshots go to test-results/screenshots.
 */
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../hub/core/topics.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { accessible, signInPage } from '../helpers/dashboard.ts';
import { apiClient, connectDevice, nextEventId, startTestHub, type TestHub } from '../helpers/hub.ts';

const SHOTS = 'test-results/screenshots';
let browser: Browser;
let t: TestHub;
let url: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  t = await startTestHub();
  url = `${t.httpUrl}/`;
  await t.api('POST', '/api/tenants', { id: '0301', name: 'Oslo' });
  await t.api('POST', '/api/users', { username: 'tekniker', password: 'Nattevakt-Kaffe-7', role: 'technician', tenantIds: ['0301'] });
  await t.api('POST', '/api/users', { username: 'operator', password: 'Nattevakt-Kaffe-7', role: 'operator', tenantIds: ['0301'] });
  browser = await launchBrowser();
}, 120_000);
afterEach(() => { expect(pageErrors).toEqual([]); });
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

async function technician(): Promise<Page> {
  const page = await signInPage(browser, url, 'tekniker', pageErrors);
  await page.getByTestId('fleet').waitFor();
  return page;
}

const sheet = async (page: Page) => page.getByTestId('credential').evaluateAll((blocks) => blocks.map((b) => ({
  id: b.getAttribute('data-device-id') ?? '', password: b.querySelector('[data-testid=password]')?.textContent ?? '',
})));

describe('the technician\'s workspace', () => {
  it('lands on the fleet, registers a device and shows its credentials once', async () => {
    const resident = (await t.api('POST', '/api/residents', { tenantId: '0301', name: 'Kari Nordmann', address: 'Storgata 1, 0155 Oslo' })).body.id;
    const page = await technician();
    await accessible(page, 'empty fleet');
    await page.getByTestId('tab-register').click();
    await page.getByTestId('register-serial').fill('TA-0001');
    await page.getByTestId('register-resident').selectOption(resident);
    await accessible(page, 'register form');
    await page.getByTestId('register-submit').click();
    await page.getByTestId('credentials').waitFor();
    const [created] = await sheet(page);
    expect(created?.password.length).toBeGreaterThan(20);
    await accessible(page, 'credential sheet');
    // The credentials work.
    const client = await connectDevice(t.mqttUrl, { id: created!.id, password: created!.password });
    await client.endAsync();
    await page.getByTestId('credentials-done').click();
    await page.getByTestId('register').waitFor();
    await page.context().close();
  });

  it('imports a CSV: the dry run shows the error by line, the fixed file imports whole, the sheet downloads as CSV', async () => {
    const page = await technician();
    await page.getByTestId('tab-import').click();
    const bad = 'tenantId;kind;serial;heartbeatIntervalSeconds\n0301;safety_alarm;IMP-001;300\n0301;brødrister;IMP-002;\n0301;door_lock;IMP-003;\n';
    await page.getByTestId('import-text').fill(bad);
    await page.getByTestId('import-check').click();
    await page.getByTestId('import-error').filter({ hasText: 'Typen «brødrister» finnes ikke' }).waitFor();
    expect(await page.getByTestId('import-error').getAttribute('data-line')).toBe('3');
    expect(await page.getByTestId('import-submit').count()).toBe(0);
    await page.screenshot({ path: `${SHOTS}/import-preview.png` });
    await accessible(page, 'import preview with an error');

    await page.getByTestId('import-text').fill(bad.replace('brødrister', 'medicine_dispenser'));
    await page.getByTestId('import-check').click();
    await page.getByTestId('import-summary').filter({ hasText: 'Alle 3 radene er i orden' }).waitFor();
    expect(await page.getByTestId('import-row').count()).toBe(3);
    await accessible(page, 'import preview');
    await page.getByTestId('import-submit').click();
    await page.getByTestId('credentials').waitFor();
    const devices = await sheet(page);
    expect(devices).toHaveLength(3);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-csv').click()]);
    const text = readFileSync(await download.path(), 'utf8');
    expect(text.charCodeAt(0)).toBe(0xfeff);
    expect(text).toContain('serial;kind;tenantId;deviceId;username;password;hub');
    for (const d of devices) expect(text).toContain(`${d.id};${d.id};${d.password};mqtt://127.0.0.1:${t.hub.mqttPort}`);
    await page.context().close();
  });

  it('proves a device with a chain test that passes live when the operator confirms it', async () => {
    const page = await technician();
    await page.getByTestId('filter-serial').fill('IMP-001');
    const row = page.getByTestId('fleet-row').filter({ hasText: 'IMP-001' });
    await row.waitFor();
    await page.screenshot({ path: `${SHOTS}/fleet.png` });
    await accessible(page, 'fleet');
    const deviceId = await row.getAttribute('data-device-id');
    await row.getByRole('link', { name: 'IMP-001' }).click();
    await page.getByTestId('device-page').waitFor();
    await page.getByTestId('start-test').click();
    await page.locator('[data-testid=test-status][data-state=waiting]').waitFor();
    await accessible(page, 'device page with a test waiting');

    // The technician presses the test button: a new password first, as the sheet gave it.
    page.once('dialog', (d) => { void d.accept(); });
    await page.getByTestId('rotate').click();
    await page.getByTestId('credentials').waitFor();
    const [rotated] = await sheet(page);
    await page.getByTestId('credentials-done').click();
    const device = await connectDevice(t.mqttUrl, { id: deviceId!, password: rotated!.password });
    await device.publishAsync(topics.events(deviceId!), JSON.stringify({ id: nextEventId(), ts: new Date().toISOString(), type: 'test_alarm' }), { qos: 1 });
    await device.endAsync();
    await page.locator('[data-testid=test-status][data-state=alarm_raised]').waitFor();

    const token = (await t.api('POST', '/api/auth/login', { username: 'operator', password: 'Nattevakt-Kaffe-7' }, null)).body.token;
    const operator = apiClient(t.httpUrl, () => token);
    const alarm = (await operator('GET', `/api/alarms?deviceId=${deviceId}`)).body[0];
    expect(alarm.test).toBe(true);
    expect((await operator('POST', `/api/alarms/${alarm.id}/resolve`, { reason: 'test_ok', note: 'Testalarm mottatt' })).status).toBe(200);
    await page.locator('[data-testid=test-status][data-state=passed]').waitFor();
    await page.getByTestId('last-test').filter({ hasText: 'Bestått' }).waitFor();
    await page.getByTestId('rotations').filter({ hasText: 'tekniker' }).waitFor();
    await page.screenshot({ path: `${SHOTS}/test-passed.png` });
    await accessible(page, 'device page with a passed test');

    // Maintenance, set and ended.
    await page.getByTestId('maintenance-until').fill(new Date(Date.now() + 3 * 3600_000 + 3600_000).toISOString().slice(0, 16));
    await page.getByTestId('set-maintenance').click();
    await page.getByTestId('maintenance-status').waitFor();
    await page.getByTestId('end-maintenance').click();
    await page.getByTestId('set-maintenance').waitFor();
    await page.context().close();
  });

  it('filters the fleet by state, and speaks English', async () => {
    const page = await technician();
    await page.getByTestId('filter-state').selectOption('never_tested');
    await page.getByTestId('fleet-page').filter({ hasText: 'av 3' }).waitFor();
    // Three never tested: the registered one and two imported; the one that passed is not among them.
    const states = await page.getByTestId('fleet-row').evaluateAll((rows) => rows.map((r) => r.querySelector('[data-state=never_tested]') !== null));
    expect(states.every(Boolean)).toBe(true);
    await page.getByTestId('language').selectOption('en');
    await page.getByTestId('tab-fleet').filter({ hasText: 'All devices' }).waitFor();
    await page.getByTestId('fleet-page').filter({ hasText: 'of 3' }).waitFor();
    await accessible(page, 'fleet in English');
    await page.context().close();
  });

  it('lets an administrator switch between the alarm queue and the fleet', async () => {
    const page = await signInPage(browser, url, 'admin', pageErrors, 'test-admin-password');
    await page.waitForSelector('[data-testid=live-status]:has-text("Direkte")');
    await page.getByTestId('view-fleet').click();
    await page.getByTestId('fleet').waitFor();
    // The summary arrives with its own request after the panel shows.
    await page.getByTestId('fleet-summary').first().waitFor();
    expect(await page.getByTestId('fleet-summary').count()).toBe(1);
    await page.getByTestId('view-queue').click();
    await page.waitForSelector('[data-testid=live-status]:has-text("Direkte")');
    await page.context().close();
  });
});
