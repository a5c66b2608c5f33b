import { Browser, BrowserContext, Page, Route } from '../apps/console/node_modules/playwright-core';
import { join } from 'node:path';
import { cliContext } from '../apps/cli/src/cli-context';
import { revokeKey } from '../apps/cli/src/commands/keys.command';
import { DeviceCommandResponder } from '@fleetstream/kafka';
import { apiKeyFor } from './support/api-keys';
import { answeringDevices } from './support/fleet-load';
import { consolePage, launchChromium, SCREENSHOTS, signIn } from './support/console-browser';
import { TEST_ADMIN_KEY } from './support/http';
import { ServerProcess } from './support/server-process';
import { connectedTelemetryProducer, createTestStack, eventually, reading, stackEnv, TestStack } from './support/test-stack';

/** 60 devices: three pages of 25 (25, 25, 10); every fifth one with a low battery. */
const DEVICES = Array.from({ length: 60 }, (_, i) => `console-${String(i).padStart(3, '0')}`);
const lowBattery = (i: number) => i % 5 === 0;

/**
 * The console in Debian's headless Chromium (playwright-core), served by the built service (dist/ and
 * apps/console/dist) on the real stack, with devices made by telemetry on Kafka.
 */
describe('console (e2e, headless Chromium)', () => {
  let stack: TestStack;
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let complaints: string[];
  let devices: DeviceCommandResponder;

  beforeAll(async () => {
    stack = await createTestStack();
    // the alert processor too (not in the default PROCESSORS): the device page acknowledges an alarm
    server = await ServerProcess.create(stack, { PROCESSORS: 'history,twins,commands,alerts', ALERT_TICK_MS: '200' }).then((process) => process.start());
    const producer = await connectedTelemetryProducer(stack);
    await producer.send(DEVICES.map((deviceId, i) => reading(deviceId, 1, Date.now(), { battery: lowBattery(i) ? 10 : 90, temperature: 20 })));
    await producer.disconnect();
    await eventually(
      () => fetch(`${server.url}/devices?limit=1000`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } }).then((response) => response.json() as Promise<{ count: number }>),
      (page) => page.count === DEVICES.length,
      60_000,
    );
    devices = await answeringDevices(stack);
    browser = await launchChromium();
  });

  beforeEach(async () => {
    ({ context, page, complaints } = await consolePage(browser, server.url));
  });

  /** One reading of `deviceId` on Kafka, as a device would send it. */
  const report = async (deviceId: string, seq: number, metrics: Record<string, number>) => {
    const producer = await connectedTelemetryProducer(stack);
    await producer.send([reading(deviceId, seq, Date.now(), metrics)]);
    await producer.disconnect();
  };

  afterEach(async () => {
    await context?.close();
  });

  afterAll(async () => {
    await browser?.close();
    await devices?.stop();
    await server?.stop();
  });

  describe('serving', () => {
    it('serves index.html (revalidated) at / and at client routes, and hashed assets cached for a year', async () => {
      const index = await fetch(`${server.url}/fleet`, { headers: { accept: 'text/html' } });
      expect(index.status).toBe(200);
      expect(index.headers.get('cache-control')).toBe('no-cache');
      const html = await index.text();
      const script = /src="(\/assets\/index-[\w-]+\.js)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      const asset = await fetch(`${server.url}${script}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await fetch(`${server.url}/`, { headers: { accept: 'text/html' } })).headers.get('content-type')).toContain('text/html');
    });

    it('leaves the API, /docs and /ready as they were: JSON for API clients, HTML only for page loads of unknown paths', async () => {
      expect((await fetch(`${server.url}/devices`)).status).toBe(401);
      expect((await fetch(`${server.url}/ready`)).status).toBe(200);
      expect((await fetch(`${server.url}/docs/openapi.json`)).headers.get('content-type')).toContain('application/json');
      const unknownForApi = await fetch(`${server.url}/no-such-route`, { headers: { accept: 'application/json' } });
      expect(unknownForApi.status).toBe(404);
      expect(unknownForApi.headers.get('content-type')).toContain('application/json');
      // `/` is no API route: a client that takes any type (curl) gets the console, one that asks for JSON only the 404
      expect((await fetch(`${server.url}/`, { headers: { accept: '*/*' } })).headers.get('content-type')).toContain('text/html');
      expect((await fetch(`${server.url}/`, { headers: { accept: 'application/json' } })).status).toBe(404);
      // a page load of an API path is still the API's answer, never the console
      const twinAsPage = await fetch(`${server.url}/devices/console-000/twin`, { headers: { accept: 'text/html', authorization: `Bearer ${TEST_ADMIN_KEY}` } });
      expect(twinAsPage.headers.get('content-type')).toContain('application/json');
    });
  });

  describe('signing in', () => {
    it('refuses a key the server does not accept, beside the field', async () => {
      await page.goto('/');
      await page.getByLabel('API key').fill('fsk_not-a-real-key-0000000000000000000000');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expectText(page.locator('#api-key-help'), 'does not accept this API key');
      expect(await page.getByLabel('API key').getAttribute('aria-invalid')).toBe('true');
    });

    it('keeps the key in session storage, never in the URL, and shows the fleet', async () => {
      await signIn(page, TEST_ADMIN_KEY);
      expect(page.url()).not.toContain(TEST_ADMIN_KEY);
      expect(await page.evaluate("sessionStorage.getItem('fleetstream.apiKey')")).toBe(TEST_ADMIN_KEY);
      // who the server says the key is (GET /auth/whoami), never the key
      await expectText(page.getByTestId('signed-in-as'), 'Signed in as key:bootstrap-admin (admin)');
      expect(await page.evaluate('document.body.innerHTML')).not.toContain(TEST_ADMIN_KEY);
      // exact counts from GET /devices/summary, and the ingest figures beside them
      await expectCount(page, 'online', 60);
      await expectCount(page, 'offline', 0);
      await expectCount(page, 'silent', 0);
      await expectText(page.getByTestId('ingest-rate'), 'records/s on ');
      await expectText(page.getByTestId('ingest-lag'), 'history-writer lag: ');
      await page.locator('tr[data-device="console-000"]').waitFor();
      // the CSP (helmet) lets the console's own scripts and styles load: nothing complained
      expect(complaints).toEqual([]);
      await page.screenshot({ path: join(SCREENSHOTS, 'console-fleet.png') });
    });

    it('goes back to sign-in with a message when the key stops being accepted (401)', async () => {
      const key = await apiKeyFor(stack, 'console-revoked', 'viewer');
      await signIn(page, key);
      await revokeKey(cliContext('test', { ...process.env, ...stackEnv(stack) }), 'console-revoked');
      // the revocation reaches the server's key view shortly; every read after that is a 401
      await eventually(
        async () => {
          if (await page.getByRole('button', { name: 'Apply filters' }).isVisible()) await page.getByRole('button', { name: 'Apply filters' }).click();
          return page.getByRole('alert').first().textContent({ timeout: 1000 }).catch(() => '');
        },
        (text) => (text ?? '').includes('did not accept your API key'),
      );
      await page.getByLabel('API key').waitFor();
    });

    it('a viewer reads the fleet; a key whose role may not is told so (403), by the server', async () => {
      await signIn(page, await apiKeyFor(stack, 'console-viewer', 'viewer'));
      await page.locator('tr[data-device="console-000"]').waitFor();
      const metricsOnly = await consolePage(browser, server.url);
      await metricsOnly.page.goto('/');
      await metricsOnly.page.getByLabel('API key').fill(await apiKeyFor(stack, 'console-metrics', 'metrics'));
      await metricsOnly.page.getByRole('button', { name: 'Sign in' }).click();
      await expectText(metricsOnly.page.locator('#api-key-help'), 'its role (metrics) may not read the fleet');
      await metricsOnly.context.close();
    });
  });

  describe('usable by keyboard and on a tablet', () => {
    it('signs in and opens a device with the keyboard alone', async () => {
      await page.goto('/');
      await page.keyboard.press('Tab');
      expect(await page.evaluate('document.activeElement.id')).toBe('api-key');
      await page.keyboard.type(TEST_ADMIN_KEY);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Fleet', exact: true }).waitFor();
      await page.getByRole('link', { name: 'console-000' }).focus();
      await page.keyboard.press('Enter');
      await page.getByTestId('twin').waitFor();
      expect(page.url()).toBe(`${server.url}/fleet/console-000`);
    });

    it('fits a tablet (768 px): no page-wide horizontal scrolling on the fleet and device pages', async () => {
      await page.setViewportSize({ width: 768, height: 1024 });
      await signIn(page, TEST_ADMIN_KEY);
      await page.locator('tr[data-device="console-000"]').waitFor();
      const overflow = 'document.documentElement.scrollWidth - document.documentElement.clientWidth';
      expect(await page.evaluate(overflow)).toBe(0);
      await page.goto('/fleet/console-000');
      await page.getByTestId('twin').waitFor();
      expect(await page.evaluate(overflow)).toBe(0);
      await page.screenshot({ path: join(SCREENSHOTS, 'console-device-tablet.png'), fullPage: true });
    });
  });

  describe('the fleet table', () => {
    it('pages with the cursor, 25 at a time, forward and back', async () => {
      await signIn(page, TEST_ADMIN_KEY);
      const rows = page.locator('table[data-testid=devices] tbody tr');
      await rows.first().waitFor();
      expect(await rowIds(page)).toEqual(DEVICES.slice(0, 25));
      await page.getByRole('button', { name: 'Next' }).click();
      await expectText(page.getByTestId('page-number'), 'Page 2');
      await eventually(() => rowIds(page), (ids) => ids[0] === DEVICES[25]);
      expect(await rowIds(page)).toEqual(DEVICES.slice(25, 50));
      await page.getByRole('button', { name: 'Next' }).click();
      await eventually(() => rowIds(page), (ids) => ids[0] === DEVICES[50]);
      expect(await rowIds(page)).toEqual(DEVICES.slice(50));
      expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
      await page.getByRole('button', { name: 'Previous' }).click();
      await eventually(() => rowIds(page), (ids) => ids[0] === DEVICES[25]);
    });

    it('filters by metric range, and shows the API validation message beside the field', async () => {
      await signIn(page, TEST_ADMIN_KEY);
      await page.getByLabel('Metric range (name:min:max)').fill('battery::20');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await eventually(() => rowIds(page), (ids) => ids.length === DEVICES.filter((_, i) => lowBattery(i)).length);
      expect(await rowIds(page)).toEqual(DEVICES.filter((_, i) => lowBattery(i)));
      await page.screenshot({ path: join(SCREENSHOTS, 'console-fleet-filtered.png'), fullPage: true });

      await page.getByLabel('Metric range (name:min:max)').fill('battery');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await expectText(page.locator('#metric-error'), 'metric must be name:min:max');
    });

    it('updates a row live from the twin stream', async () => {
      await signIn(page, TEST_ADMIN_KEY);
      const row = page.locator('tr[data-device="console-001"]');
      await row.waitFor();
      await expectText(page.getByTestId('stream-state'), 'Live');
      const before = Number(await row.getByTestId('version').textContent());
      await report('console-001', 2, { battery: 42, temperature: 21 });
      await eventually(() => row.getByTestId('version').textContent(), (version) => Number(version) > before);
      expect(await row.getAttribute('data-updated')).toBe('true');
      expect(await row.locator('.reported').textContent()).toContain('battery=42');
    });

    it('says when live updates are interrupted, and once live again reads the page again: the stream does not replay what it missed', async () => {
      // the stream's requests fail (a restart, a proxy dropping it): the console keeps retrying
      const failing = (route: Route) => route.abort('connectionreset');
      await page.route('**/devices/twins/stream**', failing);
      await signIn(page, TEST_ADMIN_KEY);
      const row = page.locator('tr[data-device="console-002"]');
      await row.waitFor();
      await expectText(page.getByTestId('stream-state'), 'Live updates interrupted: reconnecting…');
      const before = Number(await row.getByTestId('version').textContent());
      await report('console-002', 2, { battery: 43, temperature: 21 });
      await eventually(() => fetch(`${server.url}/devices/console-002/twin`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } }).then((response) => response.json() as Promise<{ version: number }>), (twin) => twin.version > before);
      await page.unroute('**/devices/twins/stream**', failing);
      await expectText(page.getByTestId('stream-state'), 'Live: rows update as devices report');
      await eventually(() => row.getByTestId('version').textContent(), (version) => Number(version) > before);
      expect(await row.locator('.reported').textContent()).toContain('battery=43');
    });

    it('renders the fleet page within a bound after navigation (measured, logged)', async () => {
      await signIn(page, TEST_ADMIN_KEY);
      await page.reload();
      await page.locator('table[data-testid=devices] tbody tr').first().waitFor();
      // browser-side expressions as text: the tests compile without the DOM's types
      const { firstRenderMs, domContentLoadedMs } = (await page.evaluate(
        "({ firstRenderMs: performance.now(), domContentLoadedMs: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd })",
      )) as { firstRenderMs: number; domContentLoadedMs: number };
      console.log(`fleet page: DOMContentLoaded ${domContentLoadedMs.toFixed(0)} ms, device table rendered ${firstRenderMs.toFixed(0)} ms after navigation start`);
      expect(firstRenderMs).toBeLessThan(5000);
    });
  });

  describe('the device page', () => {
    const admin = { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' };
    it('shows the twin with the delta highlighted, and follows it live', async () => {
      const patched = await fetch(`${server.url}/devices/console-002/twin/desired`, { method: 'PATCH', headers: admin, body: JSON.stringify({ setpoint: 21 }) });
      expect(patched.status).toBe(200);
      await signIn(page, TEST_ADMIN_KEY);
      await page.getByRole('link', { name: 'console-002' }).click();
      const setpoint = page.locator('tr[data-field="setpoint"]');
      await setpoint.waitFor();
      expect(await setpoint.getAttribute('data-delta')).toBe('true');
      await expectText(page.getByTestId('delta'), 'setpoint');
      expect(page.url()).toBe(`${server.url}/fleet/console-002`);
      // the device reports the desired value: the delta clears, live
      await report('console-002', 2, { battery: 90, temperature: 20, setpoint: 21 });
      await eventually(() => setpoint.getAttribute('data-delta'), (delta) => delta === null);
      expect(await setpoint.getByTestId('reported-value').textContent()).toBe('21');
    });

    it('edits desired state with If-Match; a 412 conflict is shown and resolved by sending against the current twin', async () => {
      await signIn(page, await apiKeyFor(stack, 'console-operator-desired', 'operator'));
      await page.goto('/fleet/console-005');
      await page.getByTestId('twin').waitFor();
      // the operator starts editing at the version shown…
      await page.getByLabel('JSON merge patch (a key set to null is removed)').fill('{"setpoint": 18}');
      const seen = Number(await page.getByTestId('twin').getAttribute('data-version'));
      // …while someone else changes the twin
      const other = await fetch(`${server.url}/devices/console-005/twin/desired`, { method: 'PATCH', headers: { ...admin, 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ mode: 'eco' }) });
      expect(other.status).toBe(200);
      await eventually(() => page.getByTestId('twin').getAttribute('data-version'), (version) => Number(version) > seen);
      await page.getByRole('button', { name: 'Send patch' }).click();
      await expectText(page.getByTestId('desired-conflict'), `changed since version ${seen}`);
      expect(await page.locator('tr[data-field="setpoint"]').count()).toBe(0);
      await page.getByRole('button', { name: /^Send against version/ }).click();
      await expectText(page.getByTestId('desired-sent'), 'Applied');
      const setpoint = page.locator('tr[data-field="setpoint"]');
      await setpoint.waitFor();
      expect(await setpoint.getAttribute('data-delta')).toBe('true');
      expect(await page.locator('tr[data-field="mode"]').getAttribute('data-delta')).toBe('true');
    });

    it('charts a metric from the per-minute rollups, raw readings when zoomed in, and over a custom range', async () => {
      const rollup = `${server.url}/devices/console-003/telemetry/rollup?bucket=1m&metrics=battery&from=${new Date(Date.now() - 3_600_000).toISOString()}`;
      await eventually(() => fetch(rollup, { headers: admin }).then((response) => response.json() as Promise<{ points?: unknown[] }>), (body) => (body.points?.length ?? 0) > 0, 60_000);
      await signIn(page, TEST_ADMIN_KEY);
      await page.goto('/fleet/console-003');
      const chart = page.getByTestId('chart');
      await chart.waitFor();
      expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThan(0);
      expect(await chart.getAttribute('data-kind')).toBe('1m');
      expect(await chart.locator('canvas').count()).toBe(1);

      // drag across the last tenth of the hour: six minutes, drawn from the raw readings
      await chart.scrollIntoViewIfNeeded(); // mouse positions are the viewport's
      const area = (await chart.locator('.u-over').boundingBox())!;
      await page.mouse.move(area.x + area.width * 0.9, area.y + area.height / 2);
      await page.mouse.down();
      await page.mouse.move(area.x + area.width - 1, area.y + area.height / 2, { steps: 5 });
      await page.mouse.up();
      await eventually(() => page.getByTestId('chart').getAttribute('data-kind'), (kind) => kind === 'raw');
      expect(Number(await page.getByTestId('chart').getAttribute('data-points'))).toBeGreaterThan(0);
      await page.getByRole('button', { name: 'Reset zoom' }).click();
      await eventually(() => page.getByTestId('chart').getAttribute('data-kind'), (kind) => kind === '1m');

      // a custom range of two days: per-minute rollups still (at most 5000 minutes)
      await page.getByLabel('Time range').selectOption('custom');
      const local = (ms: number) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
      await page.getByLabel('From', { exact: true }).fill(local(Date.now() - 2 * 86_400_000));
      await page.getByLabel('To', { exact: true }).fill(local(Date.now() + 60_000));
      await page.getByRole('button', { name: 'Show' }).click();
      await eventually(() => page.getByTestId('chart').getAttribute('data-points').catch(() => null), (points) => Number(points) > 0);
      expect(await page.getByTestId('chart').getAttribute('data-kind')).toBe('1m');
    });

    it("acknowledges a device's alarm, and the fleet counts it by severity", async () => {
      const rule = await fetch(`${server.url}/alert-rules`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ name: 'console-overheat', severity: 'critical', condition: { type: 'threshold', metric: 'temperature', op: '>', value: 80, forSeconds: 0 } }),
      });
      expect(rule.status).toBe(201);
      // the rule reaches the alert processor through its compacted topic: report until it raises the alarm
      let seq = 2;
      await eventually(
        async () => {
          await report('console-006', seq++, { battery: 90, temperature: 95 });
          return (await fetch(`${server.url}/devices/console-006/alerts?state=active`, { headers: admin }).then((response) => response.json())) as { count: number };
        },
        (page) => page.count === 1,
        60_000,
        1000,
      );
      await signIn(page, await apiKeyFor(stack, 'console-operator-alarms', 'operator'));
      await expectText(page.getByTestId('active-alarms'), 'critical: 1');
      // console-006 has just been reporting: the history writer consumed records in the last minute
      await eventually(() => page.getByTestId('ingest-rate').textContent(), (rate) => /^\d/.test(rate ?? '') && !(rate ?? '').startsWith('0 '), 15_000);
      await page.goto('/fleet/console-006');
      const alarm = page.locator('table[data-testid=alarms] tbody tr').first();
      await alarm.waitFor();
      await expectText(alarm, 'critical');
      await alarm.getByRole('button', { name: 'Acknowledge' }).click();
      await expectText(alarm.getByTestId('acknowledgement'), 'by key:console-operator-alarms');
    });

    it('an operator sends a command and watches it reach succeeded', async () => {
      await report('console-004', 2, { battery: 90, temperature: 20 });
      await signIn(page, await apiKeyFor(stack, 'console-operator', 'operator'));
      await page.goto('/fleet/console-004');
      await page.getByLabel('Name').fill('reboot');
      await page.getByLabel('Params (JSON object)').fill('{"delaySeconds": 1}');
      // per-stage timeouts and attempts: one the API refuses is said beside its field, and nothing is sent
      await page.getByText('TTL, timeouts and attempts').click();
      await page.getByLabel('Delivery timeout (s)').fill('0.01');
      await page.getByRole('button', { name: 'Send command' }).click();
      await expectText(page.locator('[id="timeouts.deliverySeconds-error"]'), 'timeouts.deliverySeconds must not be less than 0.05');
      expect(await page.getByTestId('command-state').count()).toBe(0);
      await page.getByLabel('Delivery timeout (s)').fill('20');
      await page.getByLabel('Delivery attempts').fill('3');
      await page.getByRole('button', { name: 'Send command' }).click();
      await expectText(page.getByTestId('command-state'), 'succeeded');
      const commandId = /\(([^)]+)\)/.exec((await page.getByTestId('command-state').textContent()) ?? '')?.[1];
      const sent = await fetch(`${server.url}/commands/${commandId}`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } }).then((response) => response.json() as Promise<{ maxAttempts: number }>);
      expect(sent.maxAttempts).toBe(3);
      // the device's command list follows it too, with its event history
      const listed = page.locator('details[data-command]').first();
      await expectText(listed.getByTestId('command-list-state'), 'succeeded');
      await listed.locator('summary').click();
      await expectText(listed.getByTestId('command-history'), 'succeeded');
      expect(await listed.getByTestId('command-history').locator('li').count()).toBeGreaterThanOrEqual(3);
      await page.screenshot({ path: join(SCREENSHOTS, 'console-device.png'), fullPage: true });
    });

    it('cancels a command that waits for a silent device', async () => {
      // last heard from ten minutes ago: silent (TWIN_SILENCE_S is 300), so its commands wait
      const producer = await connectedTelemetryProducer(stack);
      await producer.send([reading('console-asleep', 1, Date.now() - 600_000, { battery: 50, temperature: 20 })]);
      await producer.disconnect();
      await signIn(page, await apiKeyFor(stack, 'console-operator-cancel', 'operator'));
      await page.goto('/fleet/console-asleep');
      await expectText(page.getByTestId('twin'), 'silent');
      await page.getByLabel('Name').fill('update-firmware');
      await page.getByRole('button', { name: 'Send command' }).click();
      const listed = page.locator('details[data-command]').first();
      await listed.waitFor();
      await listed.locator('summary').click();
      await listed.getByRole('button', { name: 'Cancel update-firmware' }).click();
      await expectText(listed.getByTestId('command-list-state'), 'cancelled');
      expect(await listed.getByRole('button', { name: 'Cancel update-firmware' }).count()).toBe(0);
      // the fleet header counts it as silent, not as offline
      await page.goto('/');
      await expectCount(page, 'silent', 1);
      await expectCount(page, 'offline', 0);
    });

    it('shows actions by role: a viewer gets no command form, desired-state editor, Cancel or Acknowledge; an operator gets them all', async () => {
      // an active alarm on a device that reports, and a command waiting for a silent one (TWIN_SILENCE_S is 300)
      const rule = await fetch(`${server.url}/alert-rules`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ name: 'console-roles-hot', severity: 'major', condition: { type: 'threshold', metric: 'pressure', op: '>', value: 5, forSeconds: 0 } }),
      });
      expect(rule.status).toBe(201);
      let seq = 2;
      await eventually(
        async () => {
          await report('console-roles-hot', seq++, { battery: 90, temperature: 20, pressure: 9 });
          return (await fetch(`${server.url}/devices/console-roles-hot/alerts?state=active`, { headers: admin }).then((response) => response.json())) as { count: number };
        },
        (page) => page.count === 1,
        60_000,
        1000,
      );
      const producer = await connectedTelemetryProducer(stack);
      await producer.send([reading('console-roles-asleep', 1, Date.now() - 600_000, { battery: 50, temperature: 20 })]);
      await producer.disconnect();
      await eventually(() => fetch(`${server.url}/devices/console-roles-asleep/twin`, { headers: admin }), (response) => response.status === 200);
      const queued = await fetch(`${server.url}/devices/console-roles-asleep/commands`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'update-firmware' }) });
      expect(queued.status).toBe(202);

      const actionsSeenBy = async (role: 'viewer' | 'operator') => {
        const { context: roleContext, page: rolePage } = await consolePage(browser, server.url);
        try {
          await signIn(rolePage, await apiKeyFor(stack, `console-roles-${role}`, role));
          await expectText(rolePage.getByTestId('signed-in-as'), `key:console-roles-${role} (${role})`);
          await rolePage.goto('/fleet/console-roles-hot');
          await expectText(rolePage.locator('table[data-testid=alarms] tbody tr').first(), 'major');
          const onHotDevice = {
            commandForm: await rolePage.getByTestId('command-form').count(),
            desiredEditor: await rolePage.getByTestId('desired-editor').count(),
            acknowledge: await rolePage.getByRole('button', { name: 'Acknowledge' }).count(),
          };
          await rolePage.goto('/fleet/console-roles-asleep');
          const listed = rolePage.locator('details[data-command]').first();
          await listed.waitFor();
          await listed.locator('summary').click();
          return { ...onHotDevice, cancel: await listed.getByRole('button', { name: 'Cancel update-firmware' }).count() };
        } finally {
          await roleContext.close();
        }
      };
      expect(await actionsSeenBy('viewer')).toEqual({ commandForm: 0, desiredEditor: 0, acknowledge: 0, cancel: 0 });
      expect(await actionsSeenBy('operator')).toEqual({ commandForm: 1, desiredEditor: 1, acknowledge: 1, cancel: 1 });
    });

    it("the server still decides: a viewer whose tab claims commands:write gets the form, and the server's 403 takes it away", async () => {
      await signIn(page, await apiKeyFor(stack, 'console-viewer-2', 'viewer'));
      await page.goto('/fleet/console-004');
      await page.getByTestId('read-only').waitFor();
      expect(await page.getByTestId('command-form').count()).toBe(0);
      // what a person could do in the browser's devtools: the console shows more, the server allows nothing more
      await page.evaluate(`{
        const identity = JSON.parse(sessionStorage.getItem('fleetstream.identity'));
        sessionStorage.setItem('fleetstream.identity', JSON.stringify({ ...identity, rights: [...identity.rights, 'commands:write'] }));
      }`);
      await page.reload();
      await page.getByLabel('Name').fill('reboot');
      await page.getByRole('button', { name: 'Send command' }).click();
      await expectText(page.getByTestId('command-forbidden'), 'Your role may not send commands');
      expect(await page.getByTestId('command-form').count()).toBe(0);
    });
  });

  describe('the alarms page', () => {
    it('lists active alarms filtered by severity, shows a new one live, and acknowledges one', async () => {
      const admin = { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' };
      const created = await fetch(`${server.url}/alert-rules`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ name: 'console-battery-empty', severity: 'minor', condition: { type: 'threshold', metric: 'battery', op: '<', value: 5, forSeconds: 0 } }),
      });
      expect(created.status).toBe(201);
      const ruleId = ((await created.json()) as { id: string }).id;
      const producer = await connectedTelemetryProducer(stack);
      let seq = 10;
      const drain = (deviceId: string) => producer.send([reading(deviceId, seq++, Date.now(), { battery: 1, temperature: 20 })]);
      const activeOf = (deviceId: string) => fetch(`${server.url}/alerts?state=active&ruleId=${ruleId}&deviceId=${deviceId}`, { headers: admin }).then((response) => response.json() as Promise<{ count: number }>);
      try {
        // the rule reaches the alert processor through its compacted topic: report until it raises the alarm
        await eventually(async () => (await drain('console-007'), activeOf('console-007')), (page) => page.count === 1, 60_000, 1000);
        await signIn(page, await apiKeyFor(stack, 'console-operator-alarms-page', 'operator'));
        await page.getByRole('link', { name: 'Alarms', exact: true }).click();
        await page.getByLabel('Severity').selectOption('minor');
        await page.getByRole('button', { name: 'Apply filters' }).click();
        const row = (deviceId: string) => page.locator('table[data-testid=alarms] tbody tr', { hasText: deviceId });
        await row('console-007').waitFor();
        expect(await page.locator('table[data-testid=alarms] tbody tr', { hasText: 'console-overheat' }).count()).toBe(0);
        await expectText(page.getByTestId('stream-state'), 'Live');
        // raised while the page is open: it appears without a reload
        await drain('console-008');
        await row('console-008').waitFor();
        await row('console-007').getByRole('button', { name: 'Acknowledge' }).click();
        await expectText(row('console-007').getByTestId('acknowledgement'), 'by key:console-operator-alarms-page');
      } finally {
        await producer.disconnect();
      }
    });
  });

  describe('the dead letters page', () => {
    const garbageKey = 'console-dlq-not-avro';
    const garbage = '{"temperature":"not avro"}';

    beforeAll(async () => {
      const raw = stack.kafka.producer();
      await raw.connect();
      await raw.send({ topic: stack.topics.telemetry, messages: [{ key: garbageKey, value: Buffer.from(garbage) }] });
      await raw.disconnect();
      const admin = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
      await eventually(
        () => fetch(`${server.url}/dead-letters?reason=not-confluent-framed`, { headers: admin }).then((response) => response.json() as Promise<{ items: Array<{ key: string }> }>),
        (page) => page.items.some((item) => item.key === garbageKey),
        60_000,
      );
    });

    it('an admin finds a dead letter by reason and source, and inspects its payload as text and hex', async () => {
      await signIn(page, TEST_ADMIN_KEY);
      await page.getByRole('link', { name: 'Dead letters' }).click();
      // the pickers offer what the counts hold
      await page.getByLabel('Reason').selectOption('not-confluent-framed');
      await page.getByLabel('Source topic').selectOption(stack.topics.telemetry);
      const row = page.locator('table[data-testid=dead-letters] tbody tr', { hasText: garbageKey });
      await row.waitFor();
      expect(await row.textContent()).toContain('not-confluent-framed');
      await row.getByRole('button', { name: 'Inspect' }).click();
      const details = page.getByTestId('dead-letter-details');
      await expectText(details.getByTestId('dead-letter-text'), garbage);
      // '{"' is 7b 22: the first bytes, in hex
      await expectText(details.getByTestId('dead-letter-hex'), '00000000  7b 22 74 65');
      await page.screenshot({ path: join(SCREENSHOTS, 'dead-letters.png'), fullPage: true });
    });

    it('a viewer has no Dead letters link, and the server refuses the page its data', async () => {
      await signIn(page, await apiKeyFor(stack, 'console-viewer-dlq', 'viewer'));
      await page.getByRole('link', { name: 'Alarms', exact: true }).waitFor();
      expect(await page.getByRole('link', { name: 'Dead letters' }).count()).toBe(0);
      // the console's page is /dlq: /dead-letters is the API's, and a page load there gets the API's JSON
      await page.goto('/dlq');
      await expectText(page.getByRole('alert'), 'Your role may not do this.');
      expect(await page.locator('table[data-testid=dead-letters]').count()).toBe(0);
    });
  });
});

async function rowIds(page: Page): Promise<string[]> {
  return page.locator('table[data-testid=devices] tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-device') ?? ''));
}

/** The fleet header's count of devices in this connectivity state, exactly. */
async function expectCount(page: Page, state: 'online' | 'offline' | 'silent', count: number): Promise<void> {
  await eventually(() => page.getByTestId(`count-${state}`).locator('.value').textContent().catch(() => ''), (value) => value === String(count), 15_000);
}

async function expectText(locator: ReturnType<Page['locator']>, text: string): Promise<void> {
  await eventually(() => locator.first().textContent().catch(() => ''), (content) => (content ?? '').includes(text), 15_000);
}
