import type { TwinCommand } from '@fleetstream/domain';
import { DeviceCommandResponder, fleetGroups, TelemetryProducer } from '@fleetstream/kafka';
import { Admin } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { commandEventsOnTopic, notEndedOnce } from './support/command-topic';
import { answeringDevices, committedOffsets, FleetLoad, groupAssignments } from './support/fleet-load';
import { ServerProcess } from './support/server-process';
import { connectedTelemetryProducer, createTestStack, eventually, TestStack } from './support/test-stack';
import { expectedTwins, settledSnapshotsAgainstFold } from './support/twin-fold';

const PARTITIONS = 6;
const devices = Array.from({ length: 40 }, (_, i) => `fence-${String(i).padStart(2, '0')}`);
const SESSION_TIMEOUT_MS = 6000;

/**
 * Every committed offset a group ever had, sampled: a group's committed offsets only move forward
 * while each commit comes from the partition's owner. A zombie that commits after its partitions
 * moved writes back an older position (and with it outputs from an older state).
 */
class CommittedOffsetWatch {
  private readonly seen = new Set<string>();
  private readonly highest = new Map<string, number>();
  private running = true;
  private readonly loop: Promise<void>;

  constructor(admin: Admin, watched: { group: string; topic: string }[]) {
    this.loop = (async () => {
      while (this.running) {
        for (const { group, topic } of watched) {
          for (const [partition, offset] of await committedOffsets(admin, group, topic).catch(() => new Map<number, number>())) {
            const key = `${group} ${topic}[${partition}]`;
            const highest = this.highest.get(key) ?? -1;
            if (offset < highest) this.seen.add(`${key}: committed ${offset} after ${highest}`);
            this.highest.set(key, Math.max(highest, offset));
          }
        }
        await sleep(50);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Each committed offset seen lower than one before it, once. */
  get regressions(): string[] {
    return [...this.seen];
  }
}

/**
 * Zombie fencing (KIP-447), on the built service and the real broker: of two instances, A is frozen
 * with SIGSTOP while it works through a burst, past its session timeout, until B owns and processes all
 * its partitions; then A wakes up (SIGCONT) with the batches it was in the middle of. It must commit
 * nothing more for those partitions: the committed offsets never go back, each command has exactly one
 * terminal state on fleet.commands, and the last twin on fleet.twins is the fold of its telemetry.
 * The bug it catches: a transactional offset commit without the group generation (kafkajs 2.2.4's
 * TxnOffsetCommit v0/v1), which the broker accepts from the zombie.
 */
describe('an instance frozen past its session and woken up again', () => {
  let stack: TestStack;
  let producer: TelemetryProducer;
  let responder: DeviceCommandResponder;
  let admin: Admin;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    stack = await createTestStack({ TELEMETRY_PARTITIONS: String(PARTITIONS) });
    producer = await connectedTelemetryProducer(stack);
    responder = await answeringDevices(stack);
    admin = stack.kafka.admin();
    await admin.connect();
    const common = { COMMAND_BACKOFF_INITIAL_MS: '200', COMMAND_TICK_MS: '50', KAFKA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS) };
    b = await ServerProcess.create(stack, { ...common, PROCESSORS: 'history,twins,commands', KAFKA_CLIENT_ID: 'fence-b', INSTANCE_ID: 'fence-b' });
    await b.start();
    a = await ServerProcess.create(stack, { ...common, PROCESSORS: 'twins,commands', HISTORY_URL: b.url, KAFKA_CLIENT_ID: 'fence-a', INSTANCE_ID: 'fence-a' });
    await a.start();
  });

  afterAll(async () => {
    a?.resume();
    await Promise.all([a, b].map((server) => server?.stop().catch(() => undefined)));
    await responder?.stop();
    await producer?.disconnect();
    await admin?.disconnect();
  });

  it('commits nothing for the partitions it lost: offsets never go back, one terminal state per command, twins equal to the fold', async () => {
    const groups = fleetGroups(stack.config.TOPIC_PREFIX);
    const twoMembers = (group: string, topic: string) =>
      eventually(() => groupAssignments(admin, group, topic), ({ state, byClient }) => state === 'Stable' && Object.keys(byClient).length === 2 && Object.values(byClient).every((p) => p.length > 0), 60_000);
    const twins = await twoMembers(groups.twinProcessor, stack.topics.telemetry);
    await twoMembers(groups.commandSaga, stack.topics.commands);
    const partitionsOfA = twins.byClient['fence-a']!;

    const load = new FleetLoad(producer, new Set([b]), devices, 250, 100).start();
    await sleep(3000);
    const watch = new CommittedOffsetWatch(admin, [
      { group: groups.twinProcessor, topic: stack.topics.telemetry },
      { group: groups.twinProcessor, topic: stack.topics.deviceEvents },
      { group: groups.commandSaga, topic: stack.topics.commands },
      { group: groups.commandSaga, topic: stack.topics.deviceAcks },
    ]);
    // A is frozen the moment it commits part of a burst: the rest of the burst is in its hands
    const commits = () => committedOffsets(admin, groups.twinProcessor, stack.topics.telemetry);
    const before = await commits();
    await load.burst(20);
    await eventually(commits, (now) => partitionsOfA.some((p) => (now.get(p) ?? -1) > (before.get(p) ?? -1)), 10_000, 0);
    a.pause();
    const frozenAt = Date.now();
    const atFreeze = await commits();

    // B owns every partition and has processed past where A was
    await eventually(() => groupAssignments(admin, groups.twinProcessor, stack.topics.telemetry), ({ state, byClient }) => state === 'Stable' && Object.keys(byClient).join() === 'fence-b', 60_000);
    await eventually(commits, (now) => partitionsOfA.every((p) => (now.get(p) ?? -1) > (atFreeze.get(p) ?? -1)), 30_000);
    const movedAfterMs = Date.now() - frozenAt;
    await load.burst(20);
    await sleep(2000);

    a.resume();
    // A wakes up with its old batches, is refused, rejoins and gets partitions back; the load goes on meanwhile
    await sleep(SESSION_TIMEOUT_MS + 4000);
    await twoMembers(groups.twinProcessor, stack.topics.telemetry);
    load.live.add(a);
    await sleep(3000);
    await load.stop();
    await sleep(3000);
    await watch.stop();
    const fenced = a.logs().split('\n').filter((line) => /fenced|generation|UNKNOWN_MEMBER_ID|ILLEGAL_GENERATION|FENCED_INSTANCE_ID/i.test(line));
    console.log(`fencing: A froze holding telemetry partitions ${partitionsOfA.join(',')}; B processed them ${movedAfterMs} ms later; A's log lines about being fenced after waking: ${fenced.length}${fenced[0] ? ` (first: ${fenced[0].slice(0, 300)})` : ''}`);

    expect(watch.regressions).toEqual([]);
    expect(load.refused).toEqual([]);
    const onTopic = await commandEventsOnTopic(stack);
    expect(load.commands.filter(({ commandId }) => !onTopic.has(commandId))).toEqual([]);
    expect(notEndedOnce(onTopic)).toEqual([]);
    const expected = expectedTwins(load.readings.map((data): TwinCommand => ({ type: 'RecordTelemetry', data, metadata: { now: data.eventTime } })));
    expect(await settledSnapshotsAgainstFold(stack, expected)).toEqual([]);
  }, 180_000);
});
