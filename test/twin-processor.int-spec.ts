import { decide, DeviceTwin, evolve, initialTwin, Telemetry } from '@fleetstream/domain';
import { TelemetryProducer } from '@fleetstream/kafka';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServerProcess } from './support/server-process';
import { connectedTelemetryProducer, createTestStack, eventually, reading, TestStack } from './support/test-stack';

const settings = { silenceMs: 300_000, maxPatchBytes: 65_536, maxDesiredBytes: 65_536, maxReportedFields: 1000 };
const DEVICES = 30;

/** The twin every reading folds into, as the processor must compute it: decide + evolve in order. */
function expectedTwins(readings: Telemetry[]): Map<string, DeviceTwin> {
  const twins = new Map<string, DeviceTwin>();
  for (const data of readings) {
    const twin = twins.get(data.deviceId) ?? initialTwin(data.deviceId);
    const decision = decide({ type: 'RecordTelemetry', data, metadata: { now: data.eventTime } }, twin, settings);
    if ('events' in decision) twins.set(data.deviceId, decision.events.reduce(evolve, twin));
  }
  return twins;
}

interface TwinBody {
  version: number;
  reported: Record<string, { value: number | string }>;
}

async function matchesFold(server: ServerProcess, expected: Map<string, DeviceTwin>): Promise<string[]> {
  const wrong: string[] = [];
  for (const [deviceId, twin] of expected) {
    const { status, body } = await server.get<TwinBody>(`/devices/${deviceId}/twin`);
    if (status !== 200 || body.version !== twin.version || body.reported.temperature?.value !== twin.reported.temperature?.value) {
      wrong.push(`${deviceId}: got v${body?.version} ${body?.reported.temperature?.value}, want v${twin.version} ${twin.reported.temperature?.value}`);
    }
  }
  return wrong;
}

/** Crash and rebalance on the real stack: the twins must still equal the fold of all telemetry. */
describe('twin processor', () => {
  let stack: TestStack;
  let producer: TelemetryProducer;
  const servers: ServerProcess[] = [];
  const produced: Telemetry[] = [];
  const base = Date.now() - 120_000;

  const produceRounds = async (rounds: number, pauseMs: number) => {
    for (let round = 0; round < rounds; round++) {
      const seq = produced.length / DEVICES + 1;
      const batch = Array.from({ length: DEVICES }, (_, d) => reading(`dev-${d}`, seq, base + seq * 100 + d, { temperature: seq * 10 + d }));
      await producer.send(batch);
      produced.push(...batch);
      await sleep(pauseMs);
    }
  };

  beforeAll(async () => {
    stack = await createTestStack();
    producer = await connectedTelemetryProducer(stack);
  });

  afterAll(async () => {
    await producer.disconnect();
    for (const server of servers) await server.stop().catch(() => undefined);
  });

  describe('when the service is killed mid-stream and restarted', () => {
    it('ends with every twin equal to the fold of all its telemetry', async () => {
      const first = await (await ServerProcess.create(stack, { PROCESSORS: 'twins' })).start();
      servers.push(first);
      await produceRounds(10, 100);
      await first.kill();
      await produceRounds(10, 0);
      const second = await (await ServerProcess.create(stack, { PROCESSORS: 'twins' })).start();
      servers.push(second);
      const expected = expectedTwins(produced);
      await eventually(() => matchesFold(second, expected), (wrong) => wrong.length === 0, 60_000);
    });
  });

  describe('when a second instance joins the group and the first one dies', () => {
    it('moves the partitions and keeps every twin right', async () => {
      const [running] = servers.slice(-1);
      const joining = await (await ServerProcess.create(stack, { PROCESSORS: 'twins' })).start();
      servers.push(joining);
      await produceRounds(10, 100);
      await running!.kill();
      await produceRounds(10, 50);
      const expected = expectedTwins(produced);
      await eventually(() => matchesFold(joining, expected), (wrong) => wrong.length === 0, 90_000);
    });
  });
});
