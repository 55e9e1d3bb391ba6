// Debian's Chromium driven by playwright-core (which downloads no browser). Locally, a machine
// without Chromium skips the browser suites; under CI=true a Chromium that cannot start fails them.
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { artifactsDir } from './fixtures.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'];

export interface BrowserHandle {
  browser: Browser | null;
  /** Why there is no browser (only ever set outside CI). */
  reason: string | null;
}

export async function launchChromium(): Promise<BrowserHandle> {
  try {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true, timeout: 30_000 });
    return { browser, reason: null };
  } catch (err) {
    const reason = `Chromium (${CHROMIUM}) could not start: ${(err as Error).message.split('\n')[0]}`;
    if (process.env.CI === 'true') throw new Error(`${reason}. The dashboard's browser tests need it under CI: apt-get install -y chromium.`);
    return { browser: null, reason };
  }
}

/**
 * A page that records what would show an XSS: dialogs, console errors, page errors and any request
 * to a host other than the dashboard's (the page must work offline).
 */
export async function openPage(browser: Browser, origin: string): Promise<{ page: Page; problems: string[]; close(): Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith('data:')) return route.continue();
    problems.push(`external request: ${url}`);
    return route.abort();
  });
  return { page, problems, close: () => context.close() };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifactsDir, { recursive: true });
  const path = `${artifactsDir}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}
