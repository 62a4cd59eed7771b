/** The first administrator signs in with the generated password and must change it first. */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.ts';
import { accessible, signInPage } from '../helpers/dashboard.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';

let browser: Browser;
let t: TestHub;
const pageErrors: string[] = [];
beforeAll(async () => {
  t = await startTestHub({ config: { adminPassword: null } });
  browser = await launchBrowser();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('the first sign-in', () => {
  it('asks for a new password before anything else, and then opens the queue', async () => {
    const page = await signInPage(browser, `${t.httpUrl}/`, 'admin', pageErrors, t.hub.generatedAdminPassword as string);
    await page.getByTestId('change-password').waitFor();
    await accessible(page, 'change password');
    await page.fill('input[name=current]', t.hub.generatedAdminPassword as string);
    await page.fill('input[name=next]', 'password123');
    await page.fill('input[name=repeat]', 'password123');
    await page.click('[data-testid=change-password] button[type=submit]');
    await page.locator('[data-testid=change-password] [role=alert]').filter({ hasText: 'common' }).waitFor();
    await page.fill('input[name=next]', 'Fjellvann-Og-Lyng-4');
    await page.fill('input[name=repeat]', 'Fjellvann-Og-Lyng-4');
    await page.click('[data-testid=change-password] button[type=submit]');
    await page.waitForSelector('[data-testid=live-status]:has-text("Direkte")');
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });
});
