import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
// playwright-core is the console package's dev dependency (apps/console), installed with its lockfile
import type { Browser, BrowserContext, Page } from '../../apps/console/node_modules/playwright-core';
import { launchChromium, signIn } from '../../bench/support/chromium';

export { launchChromium, signIn };

const ROOT = resolve(__dirname, '../..');
export const SCREENSHOTS = join(ROOT, '.data/screenshots');
mkdirSync(SCREENSHOTS, { recursive: true });

/** A page at 1280×800 that records what the browser console and CSP complain about. */
export async function consolePage(browser: Browser, baseURL: string): Promise<{ context: BrowserContext; page: Page; complaints: string[] }> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const complaints: string[] = [];
  page.on('console', (message) => message.type() === 'error' && complaints.push(message.text()));
  page.on('pageerror', (error) => complaints.push(error.message));
  return { context, page, complaints };
}
