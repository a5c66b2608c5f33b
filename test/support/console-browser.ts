import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
// playwright-core is the console package's dev dependency (apps/console), installed with its lockfile
import { Browser, BrowserContext, chromium, Page } from '../../apps/console/node_modules/playwright-core';

const ROOT = resolve(__dirname, '../..');
export const SCREENSHOTS = join(ROOT, '.data/screenshots');

/**
 * Debian's headless Chromium (infra/local/ensure-chromium.sh installs it when missing) under
 * playwright-core. No background networking: this machine's closed network refuses those
 * connections, and a test must not depend on them anyway. playwright's launch() gives each browser a
 * new empty profile (user data dir) of its own.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = execFileSync('bash', [join(ROOT, 'infra/local/ensure-chromium.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page at 1280×800 that records what the browser console and CSP complain about. */
export async function consolePage(browser: Browser, baseURL: string): Promise<{ context: BrowserContext; page: Page; complaints: string[] }> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const complaints: string[] = [];
  page.on('console', (message) => message.type() === 'error' && complaints.push(message.text()));
  page.on('pageerror', (error) => complaints.push(error.message));
  return { context, page, complaints };
}

/** Signs in through the sign-in form, as a person would, and waits for the fleet table. */
export async function signIn(page: Page, key: string): Promise<void> {
  await page.goto('/');
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Fleet' }).waitFor();
}
