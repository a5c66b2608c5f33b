import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Browser, BrowserContext, Page } from '../apps/console/node_modules/playwright-core';
import { freePort } from '../bench/support/free-port';
import { consolePage, launchChromium, SCREENSHOTS } from './support/console-browser';
import { ServerProcess } from './support/server-process';
import { createTestStack, TestStack } from './support/test-stack';

const AUDIENCE = 'fleetstream-api';
const CLIENT_ID = 'fleetstream-console';

/**
 * The console's sign-in through an identity provider: the authorization code flow with PKCE, in
 * Debian's headless Chromium, against node-oidc-provider (an OpenID Certified provider, its own
 * process: test/support/oidc-provider.mjs) and the built service on the real stack.
 */
describe('console sign-in with OIDC (e2e, headless Chromium)', () => {
  let stack: TestStack;
  let provider: ChildProcess;
  let issuer: string;
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let complaints: string[];

  beforeAll(async () => {
    stack = await createTestStack();
    const providerPort = await freePort();
    issuer = `http://127.0.0.1:${providerPort}`;
    server = await ServerProcess.create(stack, {
      PROCESSORS: 'twins',
      SQL_HTTP_PORT: '0',
      OIDC_ISSUER: issuer,
      OIDC_AUDIENCE: AUDIENCE,
      OIDC_JWKS_URL: `${issuer}/jwks`,
      OIDC_CONSOLE_CLIENT_ID: CLIENT_ID,
      OIDC_CONSOLE_SCOPE: 'openid api',
    });
    provider = spawn(process.execPath, [join(__dirname, 'support/oidc-provider.mjs'), String(providerPort), `${server.url}/signin-callback`, AUDIENCE, CLIENT_ID], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [listening] = (await once(createInterface({ input: provider.stdout! }), 'line')) as [string];
    expect(JSON.parse(listening)).toEqual({ issuer, jwksUrl: `${issuer}/jwks` });
    await server.start();
    browser = await launchChromium();
  });

  beforeEach(async () => {
    ({ context, page, complaints } = await consolePage(browser, server.url));
  });

  afterEach(async () => {
    await context?.close();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    provider?.kill();
  });

  /** From the console's sign-in page through the provider's login form, as a person would. */
  async function signInAtProvider(login: string): Promise<void> {
    await page.goto('/');
    await page.getByRole('button', { name: `Sign in with 127.0.0.1:${new URL(issuer).port}` }).click();
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
  }

  it('tells the console how to sign in, and lets it reach the provider (CSP connect-src)', async () => {
    const methods = await fetch(`${server.url}/auth/sign-in-methods`, { headers: { accept: 'application/json' } });
    expect(await methods.json()).toEqual({ apiKey: true, oidc: { issuer, clientId: CLIENT_ID, scope: 'openid api', audience: AUDIENCE } });
    const index = await fetch(`${server.url}/`, { headers: { accept: 'text/html' } });
    expect(index.headers.get('content-security-policy')).toContain(`connect-src 'self' ${issuer}`);
  });

  it('signs in with the authorization code and PKCE (S256); the token carries the roles, and neither it nor the code stays in the URL', async () => {
    const authorize: URL[] = [];
    const tokenRequests: string[] = [];
    page.on('request', (request) => {
      if (request.url().startsWith(`${issuer}/auth?`)) authorize.push(new URL(request.url()));
      if (request.url() === `${issuer}/token` && request.method() === 'POST') tokenRequests.push(request.postData() ?? '');
    });
    await signInAtProvider('operator-ann');
    await page.getByRole('heading', { name: 'Fleet', exact: true }).waitFor();
    await expect(page.getByTestId('signed-in-as').textContent()).resolves.toContain('oidc:operator-ann (operator)');
    expect(page.url()).toBe(`${server.url}/fleet`);
    // the code flow with a challenge, and the verifier sent with the code (the provider refuses the code without it)
    expect(authorize[0]?.searchParams.get('response_type')).toBe('code');
    expect(authorize[0]?.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize[0]?.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    const exchange = new URLSearchParams(tokenRequests[0]);
    expect([exchange.get('grant_type'), exchange.get('client_id'), exchange.get('code_verifier')?.length]).toEqual(['authorization_code', CLIENT_ID, expect.any(Number)]);
    // the tab keeps the access token, a JWT for the service's audience; nothing in localStorage
    // page.evaluate takes the browser's code as text here: the tests are compiled without the DOM's types
    const stored = (await page.evaluate("({ session: sessionStorage.getItem('fleetstream.apiKey'), local: Object.keys(localStorage) })")) as { session: string | null; local: string[] };
    expect(stored.local).toEqual([]);
    const claims = JSON.parse(Buffer.from(stored.session!.split('.')[1]!, 'base64url').toString()) as { aud: string; iss: string; roles: string[]; sub: string };
    expect(claims).toMatchObject({ aud: AUDIENCE, iss: issuer, roles: ['operator'], sub: 'operator-ann' });
    // the provider's own pages load a web font and a favicon that are not there: only the console's complaints count
    complaints.length = 0;
    await page.reload();
    await expect(page.getByTestId('signed-in-as').textContent()).resolves.toContain('oidc:operator-ann (operator)');
    await page.screenshot({ path: join(SCREENSHOTS, 'console-oidc-signed-in.png') });
    expect(complaints).toEqual([]);
    // a stale return to the callback (the back button, a reload) leaves the session as it is
    await page.goto('/signin-callback?code=stale&state=used');
    await page.waitForURL(`${server.url}/fleet`);
    await expect(page.getByTestId('signed-in-as').textContent()).resolves.toContain('oidc:operator-ann (operator)');
  });

  it('sends a login whose token holds no fleetstream role back to sign-in, saying why', async () => {
    await signInAtProvider('nobody-zed');
    await expect(page.getByRole('alert').textContent()).resolves.toContain('Sign-in through the identity provider failed: your roles (none) may not read the fleet');
    expect(page.url()).toBe(`${server.url}/`);
    await expect(page.evaluate("sessionStorage.getItem('fleetstream.apiKey')")).resolves.toBeNull();
  });

  it('turns away a provider answer it did not ask for (state unknown to this tab)', async () => {
    await page.goto('/signin-callback?code=forged&state=not-ours');
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/Sign-in through the identity provider failed: .*state/i);
    await expect(page.evaluate("sessionStorage.getItem('fleetstream.apiKey')")).resolves.toBeNull();
  });
});
