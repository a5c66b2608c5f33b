import { execFileSync } from 'node:child_process';
import { basename, dirname, resolve } from 'node:path';
import type { Browser, BrowserType, Page } from '../../apps/console/node_modules/playwright-core';

/** The checkout's root, from bench/support in the source tree or from dist/bench/support once compiled. */
const ROOT = ((twoUp) => (basename(twoUp) === 'dist' ? dirname(twoUp) : twoUp))(resolve(__dirname, '../..'));

/**
 * Debian's headless Chromium (infra/local/ensure-chromium.sh installs it when missing) under
 * playwright-core, the console package's dev dependency (apps/console). Loaded by absolute path, so
 * the compiled benchmarks (dist/bench) find it too. No background networking: this machine's closed
 * network refuses those connections, and a measurement must not depend on them anyway.
 * playwright's launch() gives each browser a new empty profile (user data dir) of its own.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = execFileSync('bash', [resolve(ROOT, 'infra/local/ensure-chromium.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const { chromium } = require(resolve(ROOT, 'apps/console/node_modules/playwright-core')) as { chromium: BrowserType };
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Signs in to the console through its sign-in form, as a person would, and waits for the fleet page. */
export async function signIn(page: Page, key: string): Promise<void> {
  await page.goto('/');
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // exact: the sign-in page's own heading ("fleetstream console") holds the word too
  await page.getByRole('heading', { name: 'Fleet', exact: true }).waitFor();
}
