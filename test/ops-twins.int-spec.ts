import { initialTwin, Telemetry } from '@fleetstream/domain';
import { ConsumerGroupAdmin, fleetGroups, TelemetryProducer } from '@fleetstream/kafka';
import { readAvroSchema, RegistryCodec, toTwinSnapshot, TwinSnapshot } from '@fleetstream/serde';
import { rebuildTwins } from '../apps/cli/src/commands/rebuild.command';
import { replay } from '../apps/cli/src/commands/replay.command';
import { ServerProcess } from './support/server-process';
import { connectedTelemetryProducer, createTestStack, eventually, reading, TestStack } from './support/test-stack';

const quiet = { json: true };
const DEVICES = 12;

interface TwinBody {
  version: number;
  reported: Record<string, { value: number | string; at: string }>;
}

async function twinsOf(server: ServerProcess): Promise<Map<string, TwinBody>> {
  const twins = new Map<string, TwinBody>();
  for (let d = 0; d < DEVICES; d++) {
    const { status, body } = await server.get<TwinBody>(`/devices/dev-${d}/twin`);
    if (status === 200) twins.set(`dev-${d}`, { version: body.version, reported: body.reported });
  }
  return twins;
}

/** Replaying and rebuilding the twin projection on the real stack, with the built service as the processor. */
describe('ops: twins replay and rebuild', () => {
  let stack: TestStack;
  let producer: TelemetryProducer;
  let server: ServerProcess | undefined;
  let groupId: string;
  const base = Date.now() - 120_000;

  const startServer = async () => (server = await (await ServerProcess.create(stack, { PROCESSORS: 'twins' })).start());
  const stopServer = async () => {
    await server?.stop();
    server = undefined;
  };
  /** Readings the twin group has still to read on telemetry, from its committed offsets. */
  const lagOfGroup = async () => {
    const admin = new ConsumerGroupAdmin(stack.kafka);
    try {
      return (await admin.lag(groupId, [stack.topics.telemetry])).reduce((sum, p) => sum + p.lag, 0);
    } finally {
      await admin.close();
    }
  };
  const caughtUp = () => eventually(lagOfGroup, (lag) => lag === 0, 60_000);
  const endOffsets = async (topic: string) => {
    const admin = stack.kafka.admin();
    await admin.connect();
    try {
      return (await admin.fetchTopicOffsets(topic)).map(({ partition, high }) => `${partition}:${high}`).sort();
    } finally {
      await admin.disconnect();
    }
  };

  beforeAll(async () => {
    stack = await createTestStack();
    groupId = fleetGroups(stack.config.TOPIC_PREFIX).twinProcessor;
    producer = await connectedTelemetryProducer(stack);
    // three readings per device share each event time: the order of equal times must not matter on replay
    const readings: Telemetry[] = [];
    for (let round = 1; round <= 9; round++) {
      for (let d = 0; d < DEVICES; d++) readings.push(reading(`dev-${d}`, round, base + Math.ceil(round / 3) * 1000, { temperature: round * 10 + d }));
    }
    await producer.send(readings);
    await startServer();
    await caughtUp();
  });

  afterAll(async () => {
    await stopServer();
    await producer.disconnect();
  });

  describe('when the twin group is replayed from the beginning', () => {
    it('reads every reading again and ends with the same twins, versions included, writing no snapshot', async () => {
      const before = await eventually(() => twinsOf(server!), (twins) => twins.size === DEVICES);
      await stopServer();
      const snapshotsBefore = await endOffsets(stack.topics.twins);
      const result = await replay(stack, { group: 'twins', topic: stack.topics.telemetry, start: { kind: 'beginning' }, ...quiet });
      expect(result).toMatchObject({ applied: true, toReprocess: 9 * DEVICES });
      // the group itself moved back (a replay that did nothing would leave it at the end) ...
      expect(await lagOfGroup()).toBe(9 * DEVICES);
      await startServer();
      // ... and the processor committed past every reading again
      await caughtUp();
      expect(await twinsOf(server!)).toEqual(before);
      // applied once only: the processor wrote not one snapshot while reading them again
      expect(await endOffsets(stack.topics.twins)).toEqual(snapshotsBefore);
    });
  });

  describe('when the projection is rebuilt from the retained events', () => {
    it('equals the live projection: nothing to rewrite', async () => {
      await stopServer();
      const result = await rebuildTwins(stack, { dryRun: true, ...quiet });
      expect(result).toMatchObject({ devices: DEVICES, unchanged: DEVICES, changed: [], removed: [] });
    });

    it('puts back a twin that went wrong, with a higher version, while readers keep serving', async () => {
      const codec = new RegistryCodec<TwinSnapshot>(stack.registry, readAvroSchema('device-twin'));
      const schemaId = await codec.register(`${stack.topics.twins}-value`);
      const wrong = { ...initialTwin('dev-3'), version: 40, reported: { temperature: { value: -1, at: base } } };
      const raw = stack.kafka.producer();
      await raw.connect();
      await raw.send({ topic: stack.topics.twins, messages: [{ key: 'dev-3', value: await codec.encode(schemaId, toTwinSnapshot(wrong)) }] });
      await raw.disconnect();

      const reader = await (await ServerProcess.create(stack, { PROCESSORS: '' })).start();
      try {
        await eventually(() => reader.get<TwinBody>('/devices/dev-3/twin'), ({ body }) => body?.version === 40);
        const result = await rebuildTwins(stack, quiet);
        expect(result).toMatchObject({ unchanged: DEVICES - 1, changed: ['dev-3'], written: true, processorOffsetsMoved: true });
        const fixed = await eventually(() => reader.get<TwinBody>('/devices/dev-3/twin'), ({ body }) => body?.version === 41);
        expect(fixed.body.reported.temperature).toEqual({ value: 93, at: new Date(base + 3000).toISOString() });
        expect(await rebuildTwins(stack, { dryRun: true, ...quiet })).toMatchObject({ unchanged: DEVICES, changed: [] });
      } finally {
        await reader.stop();
      }
    });
  });
});
