/**
 * Takeover benchmark: after kill -9 of one of two instances under load, how long until its partitions
 * are processed again.
 *
 *   npm run bench:takeover                   (bench/takeover.sh: deps, stack, build, then this file)
 *   node dist/bench/takeover.bench.js        (the stack must be running and dist/ built)
 *
 * Two instances of the built server (PROCESSORS=twins,commands, each with its own INSTANCE_ID and data
 * directory) share fresh `bench.<id>.*` topics while telemetry arrives at BENCH_RATE readings/s. Then,
 * BENCH_KILLS times, alternately, one instance is killed with SIGKILL:
 * - restart: it is started again at once with the same INSTANCE_ID and data directory (what a
 *   supervisor does). Measured: kill → every partition it held has a new committed offset on the twin
 *   processor's group (processed again), and kill → the new process answers /ready;
 * - no restart (BENCH_STAY_DEAD_KILLS, default 1): it stays dead until the other instance has processed
 *   its partitions, which waits for its session (KAFKA_SESSION_TIMEOUT_MS) to expire.
 *
 * Settings (env): BENCH_KILLS (5), BENCH_STAY_DEAD_KILLS (1), BENCH_RATE (200), BENCH_DEVICES (200),
 * BENCH_PARTITIONS (6), KAFKA_SESSION_TIMEOUT_MS (the server's default unless set), KAFKA_BROKERS,
 * SCHEMA_REGISTRY_URL, BENCH_SERVER_MAIN (another build's dist/apps/server/src/main.js; default this
 * build's). A benchmark never fails a run: what cannot be measured is printed as such.
 */
import { loadConfig } from '@fleetstream/config';
import type { Telemetry } from '@fleetstream/domain';
import { createKafka, ensureTopics, fleetGroups, fleetTopicDefinitions, fleetTopics, kafkaSettings, TelemetryProducer } from '@fleetstream/kafka';
import { readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Admin, AssignerProtocol } from 'kafkajs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, envInt, log, machine, percentile, table } from './support/bench-report';
import { BenchServer } from './support/bench-server';

const settings = {
  kills: envInt('BENCH_KILLS', 5),
  stayDeadKills: envInt('BENCH_STAY_DEAD_KILLS', 1),
  rate: envInt('BENCH_RATE', 200),
  devices: envInt('BENCH_DEVICES', 200),
  partitions: envInt('BENCH_PARTITIONS', 6),
};

interface Kill {
  restart: boolean;
  victim: string;
  partitions: number[];
  /** SIGKILL → every partition the victim held has a newer committed offset. */
  takeoverMs?: number;
  /** SIGKILL → the restarted process answers /ready (restart only). */
  readyMs?: number;
  /** Who holds the partitions afterwards. */
  after?: string;
  error?: string;
}

/** The twin partitions each member holds, by client id (KAFKA_CLIENT_ID = INSTANCE_ID here). */
async function assignment(admin: Admin, group: string, topic: string): Promise<{ stable: boolean; byClient: Map<string, number[]> }> {
  const { groups } = await admin.describeGroups([group]);
  const byClient = new Map<string, number[]>();
  for (const member of groups[0]?.members ?? []) {
    const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
    byClient.set(member.clientId, [...(byClient.get(member.clientId) ?? []), ...(decoded?.assignment[topic] ?? [])]);
  }
  return { stable: groups[0]?.state === 'Stable', byClient };
}

async function committed(admin: Admin, group: string, topic: string): Promise<Map<number, number>> {
  const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return new Map((offsets?.partitions ?? []).map(({ partition, offset }) => [partition, Number(offset)]));
}

async function until<T>(check: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, pollMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

async function main(): Promise<void> {
  const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const prefix = `bench.${id}`;
  const config = loadConfig({ ...process.env, TOPIC_PREFIX: prefix });
  const topics = fleetTopics(prefix);
  const group = fleetGroups(prefix).twinProcessor;
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetstream-bench-takeover-'));
  const kafka = createKafka(kafkaSettings(config, `bench-${id}`));
  const registry = new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL });
  const definitions = fleetTopicDefinitions(topics, settings.partitions);
  console.log('fleetstream takeover benchmark');
  console.log(machine());
  log(`topic prefix ${prefix}, data in ${dataDir}, ${settings.rate} readings/s from ${settings.devices} devices`);
  await ensureTopics(kafka, definitions);
  const admin = kafka.admin();
  await admin.connect();
  const producer = new TelemetryProducer(kafka, new RegistryCodec<Telemetry>(registry, readAvroSchema('telemetry')), topics.telemetry);
  await producer.connect();
  const names = ['takeover-a', 'takeover-b'];
  const envOf = (name: string) => ({
    TOPIC_PREFIX: prefix,
    TELEMETRY_PARTITIONS: String(settings.partitions),
    PROCESSORS: 'twins,commands',
    INSTANCE_ID: name,
    KAFKA_CLIENT_ID: name,
    SQL_HTTP_PORT: '0',
    FLEETSTREAM_DATA_DIR: join(dataDir, name),
  });
  const servers = new Map<string, BenchServer>();
  let producing = true;
  const kills: Kill[] = [];
  let sessionMs = 'the server default';
  try {
    for (const name of names) servers.set(name, (await BenchServer.start(envOf(name))).server);
    if (process.env.KAFKA_SESSION_TIMEOUT_MS) sessionMs = `${process.env.KAFKA_SESSION_TIMEOUT_MS} ms`;
    const load = (async () => {
      for (let seq = 1; producing; seq++) {
        const started = Date.now();
        const beat = Array.from({ length: Math.max(1, Math.round(settings.rate / 10)) }, (_, i) => ({
          deviceId: `takeover-${(seq * 7 + i) % settings.devices}`, eventTime: started, seq, metrics: { temperature: seq % 100 }, attributes: {},
        }));
        await producer.send(beat).catch(() => undefined);
        await sleep(Math.max(0, 100 - (Date.now() - started)));
      }
    })();
    const both = () => until(() => assignment(admin, group, topics.telemetry), ({ stable, byClient }) => stable && names.every((name) => (byClient.get(name) ?? []).length > 0), 120_000, 200);
    await both();
    await sleep(3000);
    const plan = [...Array.from({ length: settings.kills }, () => true), ...Array.from({ length: settings.stayDeadKills }, () => false)];
    for (const [k, restart] of plan.entries()) {
      const victim = names[k % 2]!;
      const kill: Kill = { restart, victim, partitions: [] };
      kills.push(kill);
      try {
        const before = await both();
        kill.partitions = before.byClient.get(victim)!;
        const atKill = await committed(admin, group, topics.telemetry);
        const killedAt = Date.now();
        await servers.get(victim)!.kill();
        const restarted = restart ? BenchServer.start(envOf(victim)) : undefined;
        restarted?.catch(() => undefined);
        await until(() => committed(admin, group, topics.telemetry), (now) => kill.partitions.every((p) => (now.get(p) ?? -1) > (atKill.get(p) ?? -1)), 120_000);
        kill.takeoverMs = Date.now() - killedAt;
        const during = await assignment(admin, group, topics.telemetry);
        kill.after = [...during.byClient].map(([client, partitions]) => `${client}:${partitions.join(',')}`).join(' ');
        if (restarted) {
          servers.set(victim, (await restarted).server);
          kill.readyMs = Date.now() - killedAt;
        } else {
          servers.set(victim, (await BenchServer.start(envOf(victim))).server);
        }
        log(`kill ${k + 1} (${restart ? 'restarted at once' : 'stays dead'}): ${victim} held ${kill.partitions.join(',')}; processed again after ${kill.takeoverMs} ms (${kill.after})${kill.readyMs ? `, its /ready after ${kill.readyMs} ms` : ''}`);
        await sleep(3000);
      } catch (error) {
        kill.error = describeError(error);
        log(`kill ${k + 1}: ${kill.error}`);
      }
    }
    producing = false;
    await load;
  } finally {
    producing = false;
    await Promise.all([...servers.values()].map((server) => server.stop().catch(() => undefined)));
    await producer.disconnect().catch(() => undefined);
    const groups = fleetGroups(prefix);
    await admin.deleteGroups([groups.twinProcessor, groups.commandSaga]).catch(() => undefined);
    await admin.deleteTopics({ topics: definitions.map((t) => t.topic) }).catch((error: unknown) => log(`could not delete the bench topics: ${describeError(error)}`));
    await admin.disconnect();
    rmSync(dataDir, { recursive: true, force: true });
  }

  console.log('\n================ fleetstream takeover benchmark ================');
  console.log(machine());
  const summary = (restart: boolean) => {
    const runs = kills.filter((kill) => kill.restart === restart && kill.takeoverMs !== undefined);
    const takeover = runs.map((kill) => kill.takeoverMs!).sort((x, y) => x - y);
    const ready = runs.map((kill) => kill.readyMs ?? NaN).filter(Number.isFinite).sort((x, y) => x - y);
    return { runs: runs.length, takeover, ready };
  };
  const restarted = summary(true);
  const stayedDead = summary(false);
  const ms = (values: number[]) => (values.length ? `median ${percentile(values, 50)} ms, max ${values.at(-1)} ms (${values.join(', ')})` : 'n/a');
  console.log(table([
    ['kill -9 of one of two instances, under load', 'kills', 'measured', 'target'],
    ['restarted at once (same INSTANCE_ID): its partitions processed again', String(restarted.runs), ms(restarted.takeover), '≤ 5 s'],
    ['restarted at once: kill → /ready of the new process', String(restarted.runs), ms(restarted.ready), '≤ 5 s + restore'],
    [`stays dead: the other instance processes its partitions (session timeout: ${sessionMs})`, String(stayedDead.runs), ms(stayedDead.takeover), ''],
  ]));
  for (const kill of kills.filter((k) => k.error)) console.log(`- a kill of ${kill.victim} could not be measured: ${kill.error}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`takeover benchmark could not run: ${describeError(error)}`);
    process.exit(0);
  },
);
