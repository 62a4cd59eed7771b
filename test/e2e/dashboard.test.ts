/**
 * The operator's dashboard in a real browser against a real hub: two operators, a device that
 * presses its button, claiming, resolving, a GPS alarm's map, and a hub that goes away and
 * comes back. Screenshots go to test-results/screenshots.
 */
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../hub/core/topics.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { accessible, signInPage } from '../helpers/dashboard.ts';
import { connectDevice, nextEventId, type Registered, registerDevice, startTestHub, tempDir, type TestHub } from '../helpers/hub.ts';
import { freePort } from '../helpers/influxd.ts';

const SHOTS = 'test-results/screenshots';
let browser: Browser;
/** Script errors in any page; every test ends by requiring none. */
const pageErrors: string[] = [];
let t: TestHub;
let httpPort: number;
const dataDir = tempDir('hub-e2e-');

async function start(): Promise<TestHub> {
  return startTestHub({ dataDir, config: { httpPort, map: { tileUrl: 'http://127.0.0.1:9/{z}/{x}/{y}.png', attribution: 'test' } } });
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  httpPort = await freePort();
  t = await start();
  await t.api('POST', '/api/tenants', { id: '0301', name: 'Oslo' });
  for (const u of ['ola', 'kari']) await t.api('POST', '/api/users', { username: u, password: 'Nattevakt-Kaffe-7', role: 'operator', tenantIds: ['0301'] });
  browser = await launchBrowser();
}, 120_000);
afterEach(() => {
  expect(pageErrors).toEqual([]);
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

async function signIn(username: string): Promise<Page> {
  const page = await signInPage(browser, `http://127.0.0.1:${httpPort}/`, username, pageErrors);
  await page.waitForSelector('[data-testid=live-status]:has-text("Direkte")');
  return page;
}

async function press(dev: Registered, type = 'button_pressed', extra: Record<string, unknown> = {}): Promise<void> {
  const client = await connectDevice(t.mqttUrl, dev);
  await client.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: new Date().toISOString(), type, ...extra }), { qos: 1 });
  await client.endAsync();
}

const row = (page: Page, deviceAlarmId: string) => page.locator(`[data-alarm-id="${deviceAlarmId}"]`);

describe('the operator dashboard', () => {
  it('shows a button press to two operators; one claims, the other sees it; open, read the resident, resolve', async () => {
    const ola = await signIn('ola');
    const kari = await signIn('kari');
    const dev = await registerDevice(t.api, 'safety_alarm');
    await t.api('PUT', `/api/residents/${dev.residentId}`, {
      name: 'Kari Nordmann', address: 'Storgata 1, 0155 Oslo', phone: '+47 22 00 00 00', keyInfo: 'Nøkkelboks ved inngangen, kode 4711',
      nextOfKin: [{ name: 'Per Nordmann', relation: 'sønn', phone: '+47 900 00 000' }], actionPlan: 'Ring bruker først. Send hjemmetjenesten ved fall.',
    });
    const other = await registerDevice(t.api, 'door_lock');
    await press(other, 'open_too_long', { openSeconds: 900 });
    await press(dev);
    const alarm = (await t.api('GET', '/api/alarms?state=open')).body.find((a: { deviceId: string }) => a.deviceId === dev.id);
    for (const page of [ola, kari]) {
      await row(page, alarm.id).getByTestId('alarm-resident').filter({ hasText: 'Kari Nordmann' }).waitFor();
      await row(page, alarm.id).getByTestId('alarm-address').filter({ hasText: 'Storgata 1, 0155 Oslo' }).waitFor();
      await row(page, alarm.id).getByTestId('alarm-status').filter({ hasText: 'Ikke tatt' }).waitFor();
    }
    // Most urgent first: the button press (P1) above the open door (P3).
    const order = await ola.locator('[data-testid=alarm-row]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-alarm-id')));
    expect(order[0]).toBe(alarm.id);
    // Announced to screen readers, naming the resident.
    await ola.getByTestId('announcer').filter({ hasText: 'Ny alarm: Alarmknapp, Kari Nordmann' }).waitFor({ state: 'attached' });
    await ola.screenshot({ path: `${SHOTS}/queue.png` });
    await accessible(ola, 'queue');

    await row(ola, alarm.id).getByTestId('claim').click();
    await row(kari, alarm.id).locator('text=Tatt av ola').waitFor();
    expect(await row(kari, alarm.id).getAttribute('data-state')).toBe('acknowledged');
    await row(ola, alarm.id).locator('text=Tatt av deg').waitFor();

    await ola.getByTestId('alarm-detail').waitFor();
    await expect(ola.getByTestId('resident-name').textContent()).resolves.toBe('Kari Nordmann');
    await expect(ola.getByTestId('resident-address').textContent()).resolves.toContain('Storgata 1, 0155 Oslo');
    await expect(ola.getByTestId('resident-keyinfo').textContent()).resolves.toContain('Nøkkelboks');
    await ola.locator('text=Per Nordmann').waitFor();
    // The history in Norwegian: what happened, and who.
    await ola.locator('li', { hasText: /Utløst · systemet/ }).first().waitFor();
    await ola.locator('li', { hasText: /Tatt · ola/ }).first().waitFor();
    await ola.screenshot({ path: `${SHOTS}/alarm.png` });
    await accessible(ola, 'alarm detail');

    await ola.getByTestId('resolve-reason').selectOption('staff_sent');
    await ola.getByTestId('resolve-note').fill('Hjemmetjenesten var på stedet, bruker ok');
    await ola.getByTestId('resolve-submit').click();
    for (const page of [ola, kari]) await row(page, alarm.id).waitFor({ state: 'detached' });
    const resolved = (await t.api('GET', `/api/alarms/${alarm.id}`)).body;
    expect(resolved).toMatchObject({ state: 'resolved', resolution: { reason: 'staff_sent', note: 'Hjemmetjenesten var på stedet, bruker ok' }, resolvedBy: { name: 'ola' } });

    // Resolved alarms of the last 24 h are searchable.
    await kari.getByTestId('tab-resolved').click();
    await kari.getByTestId('resolved-row').first().waitFor();
    await kari.getByTestId('resolved-search').fill('hjemmetjenesten');
    await kari.getByTestId('resolved-row').filter({ hasText: 'Personell sendt' }).waitFor();
    expect(await kari.getByTestId('resolved-row').count()).toBe(1);
    await accessible(kari, 'resolved alarms');
    await kari.getByTestId('resolved-search').fill('ingen slik tekst');
    await kari.getByTestId('resolved-row').first().waitFor({ state: 'detached' });
    await ola.context().close();
    await kari.context().close();
  });

  it('shows a GPS alarm on a map with the safe zone, also when tiles cannot load', async () => {
    const page = await signIn('ola');
    const dev = await registerDevice(t.api, 'gps_tracker');
    await t.api('PUT', `/api/residents/${dev.residentId}`, {
      name: 'Per Hansen', address: 'Thereses gate 10, 0168 Oslo',
      safeZone: { type: 'circle', center: { lat: 59.927, lon: 10.737 }, radiusMetres: 250 },
    });
    const client = await connectDevice(t.mqttUrl, dev);
    await client.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: new Date().toISOString(), type: 'position', lat: 59.9302, lon: 10.7401, accuracy: 15 }), { qos: 1 });
    await client.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ts: new Date().toISOString(), type: 'sos_pressed', lat: 59.9302, lon: 10.7401 }), { qos: 1 });
    await client.endAsync();
    const alarm = (await t.api('GET', '/api/alarms?state=open')).body.find((a: { deviceId: string }) => a.deviceId === dev.id);
    await row(page, alarm.id).click();
    await page.getByTestId('map').waitFor();
    await page.locator('path.position-marker').waitFor();
    await page.getByTestId('map-no-tiles').waitFor();
    await page.getByTestId('map-no-tiles').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/gps-alarm.png` });
    await accessible(page, 'GPS alarm with map');
    await page.context().close();
  });

  it('shows the newest position when the tracker\'s clock is years off, and tells the technician about the clock', async () => {
    const page = await signIn('ola');
    const dev = await registerDevice(t.api, 'gps_tracker');
    await t.api('PUT', `/api/residents/${dev.residentId}`, {
      name: 'Ola Skeiv', address: 'Bogstadveien 1, 0355 Oslo',
      safeZone: { type: 'circle', center: { lat: 59.927, lon: 10.737 }, radiusMetres: 250 },
    });
    const client = await connectDevice(t.mqttUrl, dev);
    const send = (e: Record<string, unknown>) => client.publishAsync(topics.events(dev.id), JSON.stringify({ id: nextEventId(), ...e }), { qos: 1 });
    // The tracker's clock is in 2099 for the first fix, then in 1999 for the newest.
    await send({ ts: '2099-06-01T12:00:00Z', type: 'position', lat: 59.9271, lon: 10.7371, accuracy: 10 });
    await new Promise((r) => setTimeout(r, 20));
    await send({ ts: '1999-06-01T12:00:00Z', type: 'position', lat: 59.9400, lon: 10.7500, accuracy: 10 });
    await send({ ts: '1999-06-01T12:00:05Z', type: 'sos_pressed' });
    await client.endAsync();
    const alarm = (await t.api('GET', '/api/alarms?state=open')).body.find((a: { deviceId: string }) => a.deviceId === dev.id);
    await row(page, alarm.id).click();
    await page.locator('[data-testid=map][aria-label*="59.94000, 10.75000"]').waitFor();
    await page.getByTestId('device-flags').locator('[data-flag=clock_skew]').filter({ hasText: 'bak huben' }).waitFor();
    await page.getByTestId('device-flags').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/gps-skewed-clock.png` });
    await accessible(page, 'alarm with device flags');
    await page.context().close();
  });

  it('returns to sign-in with a notice when the session ends elsewhere', async () => {
    const page = await signIn('kari');
    const token = await page.evaluate(`JSON.parse(sessionStorage.getItem('velferd.session') ?? '{}').token`) as string | undefined;
    expect(token).toBeTruthy();
    const res = await fetch(`http://127.0.0.1:${httpPort}/api/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(204);
    await page.getByTestId('session-ended').waitFor();
    await page.getByTestId('login').waitFor();
    await accessible(page, 'sign-in after the session ended');
    await page.context().close();
  });

  it('warns when the live connection drops, reconnects by itself and catches up', async () => {
    const page = await signIn('kari');
    const dev = await registerDevice(t.api, 'safety_alarm');
    await t.close({ keepData: true });
    await page.getByTestId('stale-banner').waitFor();
    await expect(page.getByTestId('stale-banner').textContent()).resolves.toContain('kan være utdatert');
    await page.screenshot({ path: `${SHOTS}/stale.png` });
    await accessible(page, 'stale banner');

    t = await start();
    await press(dev, 'fall_detected');
    const alarm = (await t.api('GET', '/api/alarms?state=open')).body.find((a: { deviceId: string }) => a.deviceId === dev.id);
    await row(page, alarm.id).waitFor({ timeout: 20_000 });
    await page.getByTestId('stale-banner').waitFor({ state: 'detached' });
    await page.locator('[data-testid=live-status]:has-text("Direkte")').waitFor();
    await page.context().close();
  });

  it('claims with the keyboard, silences the sound only for a while, and lets a technician edit the resident', async () => {
    await t.api('POST', '/api/users', { username: 'tekniker', password: 'Nattevakt-Kaffe-7', role: 'technician', tenantIds: ['0301'] });
    // A technician lands on the fleet and switches to the alarm queue.
    const page = await signInPage(browser, `http://127.0.0.1:${httpPort}/`, 'tekniker', pageErrors);
    await page.getByTestId('fleet').waitFor();
    await page.getByTestId('view-queue').click();
    await page.waitForSelector('[data-testid=live-status]:has-text("Direkte")');
    const dev = await registerDevice(t.api, 'safety_alarm');
    await press(dev, 'fall_detected');
    const alarm = (await t.api('GET', '/api/alarms?state=open')).body.find((a: { deviceId: string }) => a.deviceId === dev.id);
    await row(page, alarm.id).waitFor();
    await row(page, alarm.id).focus();
    await page.keyboard.press('t');
    await row(page, alarm.id).locator('text=Tatt av deg').waitFor();
    expect((await t.api('GET', `/api/alarms/${alarm.id}`)).body.acknowledgedBy.name).toBe('tekniker');

    await page.getByTestId('silence-5').click();
    const silenced = await page.getByTestId('silenced').textContent();
    expect(silenced).toMatch(/Lyd dempet til \d{2}:\d{2}:\d{2}/);
    expect(await page.locator('[data-testid^=silence-]').count()).toBe(0); // no way to silence for good

    await page.keyboard.press('Enter');
    await page.getByTestId('resident').locator('button', { hasText: 'Rediger' }).click();
    const editor = page.getByTestId('resident-editor');
    await editor.locator('textarea').first().fill('Nøkkelboks bak huset, kode 1234');
    await editor.locator('button[type=submit]').click();
    await page.getByTestId('resident-keyinfo').filter({ hasText: 'bak huset' }).waitFor();
    expect((await t.api('GET', `/api/residents/${dev.residentId}`)).body.keyInfo).toBe('Nøkkelboks bak huset, kode 1234');
    await page.context().close();
  });

  it('speaks English when asked, with times in Europe/Oslo', async () => {
    const page = await signIn('ola');
    await page.getByTestId('language').selectOption('en');
    await page.locator('[data-testid=live-status]:has-text("Live")').waitFor();
    await page.locator('text=Alarm queue').first().waitFor();
    await accessible(page, 'queue in English');
    await page.context().close();
  });
});
