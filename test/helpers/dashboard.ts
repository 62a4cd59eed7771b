/** Opening the dashboard in a real browser and signing in, as a user would. */
import { expect } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { accessibilityViolations } from './a11y.ts';

/** Every screen passes the accessibility check (WCAG 2.1 AA), in the state it is in now. */
export async function accessible(page: Page, screen: string): Promise<void> {
  expect(await accessibilityViolations(page), screen).toEqual([]);
}

/** A new browser context on the dashboard's sign-in, in Norwegian and Oslo time; page errors go to `errors`. */
export async function signInPage(browser: Browser, url: string, username: string, errors: string[], password = 'Nattevakt-Kaffe-7'): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, timezoneId: 'Europe/Oslo', locale: 'nb-NO', acceptDownloads: true });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  // Anything the content security policy refuses is an error of the page too.
  page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(m.text()); });
  await page.goto(url);
  await page.getByTestId('login').waitFor();
  await accessible(page, 'sign-in');
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  return page;
}
