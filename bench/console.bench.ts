/**
 * Console benchmark: how fast the console's pages render in a browser with a large fleet in the store.
 *
 *   npm run bench:console                    (bench/console.sh: deps, stack, Chromium, build, then this file)
 *   node dist/bench/console.bench.js         (the stack must be running, dist/ and the console built)
 *
 * BENCH_CONSOLE_TWINS twin snapshots are produced straight to the bench's fleet.twins, the built
 * server (dist/, serving apps/console/dist) restores them, and Debian's headless Chromium
 * (playwright-core) signs in and loads each page BENCH_CONSOLE_LOADS times. Time to first render is
 * from the navigation's start (performance.timeOrigin) to the moment the page shows its data: the
 * fleet page's first device row, the device page's twin. The fleet counts (read from pages of at
 * most 1000 devices) are timed apart, as they come later.
 *
 * Everything lives under a random `bench.<id>` topic prefix with its own data directory; topics,
 * groups and data are deleted at the end (BENCH_KEEP=1 keeps them).
 *
 * Settings (env): BENCH_CONSOLE_TWINS (100000), BENCH_CONSOLE_LOADS (5), KAFKA_BROKERS, SCHEMA_REGISTRY_URL.
 */
import { loadConfig } from '@fleetstream/config';
import { createKafka, ensureTopics, fleetTopicDefinitions, fleetTopics, kafkaSettings } from '@fleetstream/kafka';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeError, envInt, log, machine, percentile, table } from './support/bench-report';
import { BenchServer } from './support/bench-server';
import { launchChromium, signIn } from './support/chromium';
import { produceTwinSnapshots } from './support/twin-snapshots';

const settings = {
  twins: envInt('BENCH_CONSOLE_TWINS', 100_000),
  loads: envInt('BENCH_CONSOLE_LOADS', 5),
  keep: process.env.BENCH_KEEP === '1',
};
const deviceId = (n: number) => `dev-${String(n).padStart(7, '0')}`;

/** Milliseconds from the navigation's start to now, in the page. */
const SINCE_NAVIGATION = 'performance.now()';

async function main(): Promise<void> {
  const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const prefix = `bench.${id}`;
  const config = loadConfig({ ...process.env, TOPIC_PREFIX: prefix });
  const topics = fleetTopics(prefix);
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetstream-bench-console-'));
  const kafka = createKafka(kafkaSettings(config, `bench-${id}`));
  const registry = new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL });
  console.log('fleetstream console benchmark');
  console.log(machine());
  const definitions = fleetTopicDefinitions(topics, 6);
  await ensureTopics(kafka, definitions);
  let server: BenchServer | undefined;
  const rows: string[][] = [['what', 'median', 'max']];
  try {
    log(`producing ${settings.twins.toLocaleString('en-US')} twin snapshots into ${topics.twins}`);
    await produceTwinSnapshots(kafka, registry, topics, settings.twins, deviceId);
    const started = await BenchServer.start({ TOPIC_PREFIX: prefix, TELEMETRY_PARTITIONS: '6', FLEETSTREAM_DATA_DIR: dataDir, SQL_HTTP_PORT: '0' });
    server = started.server;
    log(`server ready with ${started.started.twins} twins after ${(started.started.readyMs / 1000).toFixed(1)} s`);
    const browser = await launchChromium();
    try {
      const page = await (await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 800 } })).newPage();
      await signIn(page, server.headers.authorization!.replace(/^Bearer /, ''));
      const fleet: number[] = [];
      const counts: number[] = [];
      const device: number[] = [];
      for (let i = 0; i < settings.loads; i++) {
        await page.goto('/fleet');
        await page.locator('table[data-testid=devices] tbody tr').first().waitFor();
        fleet.push((await page.evaluate(SINCE_NAVIGATION)) as number);
        await page.getByTestId('count-online').waitFor();
        counts.push((await page.evaluate(SINCE_NAVIGATION)) as number);
        await page.goto(`/fleet/${deviceId(Math.floor(Math.random() * settings.twins))}`);
        await page.getByTestId('twin').waitFor();
        device.push((await page.evaluate(SINCE_NAVIGATION)) as number);
      }
      const ms = (values: number[], q: number) => `${Math.round(percentile(values, q))} ms`;
      rows.push([`fleet page: first device row (${settings.twins.toLocaleString('en-US')} twins, ${settings.loads} loads)`, ms(fleet, 50), ms(fleet, 100)]);
      rows.push(['fleet page: online/offline/silent counts shown', ms(counts, 50), ms(counts, 100)]);
      rows.push(['device page: twin shown', ms(device, 50), ms(device, 100)]);
    } finally {
      await browser.close();
    }
  } catch (error) {
    rows.push(['the benchmark could not run', describeError(error), '']);
  } finally {
    await server?.stop();
    if (!settings.keep) {
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: definitions.map((t) => t.topic) }).catch((error: unknown) => log(`could not delete the bench topics: ${describeError(error)}`));
      await admin.disconnect();
      rmSync(dataDir, { recursive: true, force: true });
      log(`deleted the ${prefix}.* topics and ${dataDir} (BENCH_KEEP=1 keeps them)`);
    }
  }
  console.log(table(rows));
  console.log('- Kafka, the registry, the server and Chromium share the machine; other load on it lowers every figure');
}

main().catch((error: unknown) => {
  console.error(`console benchmark failed: ${describeError(error)}`);
  process.exit(1);
});
