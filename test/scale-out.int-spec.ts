import type { TwinCommand } from '@fleetstream/domain';
import { chdbPath } from '@fleetstream/config';
import { ChdbTransport } from '@fleetstream/history';
import { DeviceCommandResponder, fleetGroups, TelemetryProducer } from '@fleetstream/kafka';
import { Admin } from 'kafkajs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandView } from '../apps/server/src/commands/command.view';
import { adminHeaders } from './support/http';
import { answeringDevices, committedOffsets as committed, FleetLoad, groupAssignments as assignments } from './support/fleet-load';
import { commandEventsOnTopic, notEndedOnce, TERMINAL_EVENTS } from './support/command-topic';
import { rawRows, rollupsAndDistinctRaw } from './support/history-tables';
import { ServerProcess } from './support/server-process';
import { connectedTelemetryProducer, createTestStack, eventually, TestStack } from './support/test-stack';
import { expectedTwins, matchesFold, settledSnapshotsAgainstFold } from './support/twin-fold';

const PARTITIONS = 6;
const DEVICES = 60;
const devices = Array.from({ length: DEVICES }, (_, i) => `scale-${String(i).padStart(2, '0')}`);
/** One reading from every device this often: 120 readings/s. */
const ROUND_MS = 500;
/** A command over REST this often, to the next live instance, for the next device. */
const COMMAND_EVERY_MS = 250;
/** Rounds buffered by the fleet and sent at once just before the kill: 1,200 readings, 400 of them in the victim's partitions. */
const BURST_ROUNDS = 20;
/** Kill -9 and restart at once → the instance's partitions processed again (issue: within 5 s). */
const TAKEOVER_LIMIT_MS = 5000;
/** A fixed range that holds every reading, so that all instances are asked the same question. */
const FROM = new Date(Date.now() - 600_000).toISOString();
const TO = new Date(Date.now() + 3_600_000).toISOString();
const readingsPath = (deviceId: string) => `/devices/${deviceId}/telemetry?from=${FROM}&to=${TO}&limit=10000`;
const rollupPath = (deviceId: string) => `/devices/${deviceId}/telemetry/rollup?bucket=1m&from=${FROM}&to=${TO}`;

/**
 * What every instance must agree on once the load has stopped: each command ended once (fleet.commands),
 * every reading stored once with rollups counting it once (A's chdb through REST), each twin the fold
 * of its telemetry (fleet.twins and every instance's REST), and the same answer from every instance
 * for every device's twin, commands and history.
 */
async function expectAllAgree(stack: TestStack, servers: ServerProcess[], load: FleetLoad): Promise<void> {
  const [a] = servers;
  expect(load.refused).toEqual([]);

  const isEnded = (view: CommandView | undefined) => view !== undefined && TERMINAL_EVENTS.includes(view.state);
  await eventually(
    async () => (await Promise.all(load.commands.map(async ({ commandId }) => isEnded((await a!.get<CommandView>(`/commands/${commandId}`)).body)))).filter((ended) => !ended).length,
    (open) => open === 0,
    60_000,
  ).catch(() => undefined); // the topic says which ones, below
  // on fleet.commands itself: every command sent has exactly one terminal event, the last one
  const onTopic = await commandEventsOnTopic(stack);
  expect(load.commands.filter(({ commandId }) => !onTopic.has(commandId))).toEqual([]);
  expect(notEndedOnce(onTopic)).toEqual([]);

  const sentBy = new Map(devices.map((deviceId) => [deviceId, load.readings.filter((r) => r.deviceId === deviceId).map((r) => r.seq).sort((x, y) => x - y)]));
  const historyWrong = async () => {
    const wrong: string[] = [];
    for (const deviceId of devices) {
      const { status, body } = await a!.get<{ readings: { seq: number }[] }>(readingsPath(deviceId));
      const stored = (body?.readings ?? []).map((r) => r.seq).sort((x, y) => x - y);
      if (status !== 200 || JSON.stringify(stored) !== JSON.stringify(sentBy.get(deviceId))) wrong.push(`${deviceId}: ${status}, ${stored.length} stored, ${sentBy.get(deviceId)!.length} sent`);
    }
    return wrong;
  };
  expect(await eventually(historyWrong, (wrong) => wrong.length === 0, 60_000).catch(historyWrong)).toEqual([]);
  const rollupWrong: string[] = [];
  for (const deviceId of devices) {
    const { body } = await a!.get<{ points: { metric: string; count: number }[] }>(rollupPath(deviceId));
    for (const metric of ['temperature', 'battery']) {
      const counted = body.points.filter((point) => point.metric === metric).reduce((sum, point) => sum + Number(point.count), 0);
      if (counted !== sentBy.get(deviceId)!.length) rollupWrong.push(`${deviceId} ${metric}: rollup counts ${counted}, ${sentBy.get(deviceId)!.length} sent`);
    }
  }
  expect(rollupWrong).toEqual([]);

  // the last snapshot per device on fleet.twins is the fold of its telemetry, each change written once
  const expected = expectedTwins(load.readings.map((data): TwinCommand => ({ type: 'RecordTelemetry', data, metadata: { now: data.eventTime } })));
  expect(await settledSnapshotsAgainstFold(stack, expected)).toEqual([]);
  for (const server of servers) {
    const wrong = await eventually(() => matchesFold(server, expected), (found) => found.length === 0, 30_000).catch(() => matchesFold(server, expected));
    expect({ instance: server.url, wrong }).toEqual({ instance: server.url, wrong: [] });
  }

  // any instance answers for any device, with the same content (B and C forward history reads to A)
  const different: string[] = [];
  for (const deviceId of devices) {
    for (const path of [`/devices/${deviceId}/twin`, `/devices/${deviceId}/commands`, readingsPath(deviceId), rollupPath(deviceId)]) {
      const [fromA, ...others] = await Promise.all(servers.map((server) => getText(server, path)));
      if (!fromA!.startsWith('200 ') || others.some((other) => other !== fromA)) {
        different.push(`${path}: ${[fromA!, ...others].map((text, i) => `${'ABC'[i]} ${text.slice(0, 60)}`).join(' / ')}`);
      }
    }
  }
  expect(different).toEqual([]);
}

/** Raw text: what one instance answers must be what every other answers, byte for byte. */
async function getText(server: ServerProcess, path: string): Promise<string> {
  const response = await fetch(`${server.url}${path}`, { headers: adminHeaders });
  return `${response.status} ${await response.text()}`;
}

const partitionsOf = (byClient: Record<string, number[]>) => Object.entries(byClient).map(([client, p]) => `${client}:${p.join(',')}`).join(' ');

/**
 * N instances on one broker (built service, real stack, embedded chdb): A runs history, twins and
 * commands; B and C run twins and commands and forward history reads to A. Under a steady simulated
 * fleet an instance that holds partitions is killed (SIGKILL) the moment it commits, and restarted
 * with its data dir: first B, then A, the history instance.
 */
describe('three instances under load, one killed and restarted', () => {
  let stack: TestStack;
  let producer: TelemetryProducer;
  let responder: DeviceCommandResponder;
  let admin: Admin;
  let load: FleetLoad;
  let a: ServerProcess;
  let b: ServerProcess;
  let c: ServerProcess;
  const historyDataDir = mkdtempSync(join(tmpdir(), 'fleetstream-scale-a-'));
  const groups = () => fleetGroups(stack.config.TOPIC_PREFIX);
  const balanced = (group: string, topic: string) =>
    eventually(() => assignments(admin, group, topic), ({ state, byClient }) => state === 'Stable' && Object.keys(byClient).length === 3 && Object.values(byClient).every((p) => p.length > 0), 60_000);

  /**
   * Kills `victim` while it is busy with the backlog of a burst, the moment its committed twin offsets
   * move (a processor that commits what it read apart from, before, what it wrote has not written it
   * yet); then waits until its partitions are processed again, by others or by itself restarted.
   */
  async function killWhenCommitting(victim: ServerProcess, partitions: number[], restartAtOnce: boolean) {
    load.live.delete(victim);
    await sleep(COMMAND_EVERY_MS * 2); // a request already sent to it finishes
    await load.burst(BURST_ROUNDS);
    const commits = () => committed(admin, groups().twinProcessor, stack.topics.telemetry);
    const beforeKill = await commits();
    await eventually(commits, (now) => partitions.some((p) => (now.get(p) ?? -1) > (beforeKill.get(p) ?? -1)), 10_000, 0);
    const killedAt = Date.now();
    await victim.kill();
    const atKill = await commits();
    const restarted = restartAtOnce ? victim.start() : undefined;
    restarted?.catch(() => undefined); // awaited below; not unhandled if the takeover wait fails first
    await eventually(commits, (now) => partitions.every((p) => (now.get(p) ?? -1) > (atKill.get(p) ?? -1)), 90_000);
    const takeoverMs = Date.now() - killedAt;
    const during = await assignments(admin, groups().twinProcessor, stack.topics.telemetry);
    const restartedAt = Date.now();
    await (restarted ?? victim.start()); // same port and data dir
    const readyMs = Date.now() - (restarted ? killedAt : restartedAt);
    load.live.add(victim);
    const after = await balanced(groups().twinProcessor, stack.topics.telemetry);
    return { takeoverMs, readyMs, during: partitionsOf(during.byClient), after: partitionsOf(after.byClient) };
  }

  beforeAll(async () => {
    stack = await createTestStack({ TELEMETRY_PARTITIONS: String(PARTITIONS) });
    producer = await connectedTelemetryProducer(stack);
    responder = await answeringDevices(stack);
    admin = stack.kafka.admin();
    await admin.connect();
    const common = { COMMAND_BACKOFF_INITIAL_MS: '200', COMMAND_TICK_MS: '50', HISTORY_TRANSPORT: 'chdb' };
    a = await ServerProcess.create(stack, { ...common, PROCESSORS: 'history,twins,commands', KAFKA_CLIENT_ID: 'scale-a', INSTANCE_ID: 'scale-a', FLEETSTREAM_DATA_DIR: historyDataDir });
    b = await ServerProcess.create(stack, { ...common, PROCESSORS: 'twins,commands', HISTORY_URL: a.url, KAFKA_CLIENT_ID: 'scale-b', INSTANCE_ID: 'scale-b' });
    c = await ServerProcess.create(stack, { ...common, PROCESSORS: 'twins,commands', HISTORY_URL: a.url, KAFKA_CLIENT_ID: 'scale-c', INSTANCE_ID: 'scale-c' });
    await Promise.all([a, b, c].map((server) => server.start()));
    load = new FleetLoad(producer, new Set([a, b, c]), devices, ROUND_MS, COMMAND_EVERY_MS);
  });

  afterAll(async () => {
    await load?.stop();
    await Promise.all([a, b, c].map((server) => server?.stop().catch(() => undefined)));
    await responder?.stop();
    await producer?.disconnect();
    await admin?.disconnect();
  });

  it('B killed and restarted: history exact, twins equal to the fold, one terminal state per command, every instance answering for every device', async () => {
    // every instance holds partitions of both processor groups
    const twins = await balanced(groups().twinProcessor, stack.topics.telemetry);
    await balanced(groups().commandSaga, stack.topics.commands);
    load.start();
    await sleep(5000);
    const victimPartitions = twins.byClient['scale-b']!;
    const kill = await killWhenCommitting(b, victimPartitions, false);
    await sleep(5000);
    await load.stop();
    console.log(
      `scale-out, B killed: it held telemetry partitions ${victimPartitions.join(',')}; SIGKILL → processed again after ${kill.takeoverMs} ms (${kill.during}); ` +
        `restart → /ready ${kill.readyMs} ms, group of 3 again (${kill.after}); ${load.readings.length} readings from ${DEVICES} devices, ${load.commands.length} commands so far`,
    );
    await expectAllAgree(stack, [a, b, c], load);
  }, 150_000);

  it('A (the history instance) killed and restarted at once: the same, and the history tables hold each reading once', async () => {
    const twins = await balanced(groups().twinProcessor, stack.topics.telemetry);
    load.start();
    await sleep(3000);
    const kill = await killWhenCommitting(a, twins.byClient['scale-a']!, true);
    await sleep(3000);
    await load.stop();
    console.log(
      `scale-out, A killed and restarted at once: its partitions processed again after ${kill.takeoverMs} ms (${kill.during}); /ready ${kill.readyMs} ms after the kill; ` +
        `${load.readings.length} readings, ${load.commands.length} commands in all`,
    );
    // static membership: A restarted with its INSTANCE_ID gets its partitions back without waiting for its session
    expect(kill.takeoverMs).toBeLessThanOrEqual(TAKEOVER_LIMIT_MS);
    await expectAllAgree(stack, [a, b, c], load);

    // the history tables themselves, once A has stopped (chdb: one process per data dir): no row stored twice, rollups equal the distinct readings
    await a.stop();
    const chdb = new ChdbTransport(chdbPath({ ...stack.config, FLEETSTREAM_DATA_DIR: historyDataDir }));
    try {
      expect(await rawRows(chdb, stack.config.CLICKHOUSE_DATABASE, 'scale-', false)).toBe(load.readings.length);
      for (const { table, rollup, distinctRaw } of await rollupsAndDistinctRaw(chdb, stack.config.CLICKHOUSE_DATABASE, 'scale-')) {
        expect({ table, rollup }).toEqual({ table, rollup: distinctRaw });
      }
    } finally {
      await chdb.close();
    }
  }, 150_000);
});
