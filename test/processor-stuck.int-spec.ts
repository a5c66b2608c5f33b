import { ConfigResourceTypes } from 'kafkajs';
import { TelemetryProducer } from '@fleetstream/kafka';
import { INestApplication } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestApp } from './support/test-app';
import { connectedTelemetryProducer, createTestStack, eventually, readTopic, reading, TestStack } from './support/test-stack';
import { adminHttp } from './support/http';

const STUCK_S = 3;
const DEVICE = 'stuck-twin-1';
/**
 * Over a transaction marker's record batch (about 80 bytes), under a twin snapshot's. Lower, the
 * broker also refuses the abort marker, which leaves the transaction stuck for good (the coordinator
 * treats that refusal as fatal): a broker limit, not the processor's.
 */
const REFUSING_MAX_MESSAGE_BYTES = 128;

interface ReadyBody {
  error?: Record<string, { status: string; message?: string; stalled?: { partition: number }[] }>;
}

/**
 * A twin partition that cannot commit is a transient fault: its batch is retried for as long as it
 * takes, and /ready must say so once it lasted PROCESSOR_STUCK_S. The refusal is the broker's own:
 * fleet.twins' max.message.bytes is lowered under a twin snapshot's size after the service started,
 * so every transaction carrying the device's twin is refused, then raised back.
 */
describe('twin processor while the broker refuses its writes (whole service, real stack)', () => {
  let stack: TestStack;
  let app: INestApplication;
  let producer: TelemetryProducer;

  const ready = async () => {
    const response = await adminHttp(app).get('/ready');
    return { status: response.status, body: response.body as ReadyBody };
  };
  const temperature = async () => {
    const response = await adminHttp(app).get(`/devices/${DEVICE}/twin`);
    return (response.body as { reported?: { temperature?: { value: number } } }).reported?.temperature?.value;
  };
  const setTwinsMaxMessageBytes = async (value: string) => {
    const admin = stack.kafka.admin();
    await admin.connect();
    try {
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: stack.topics.twins, configEntries: [{ name: 'max.message.bytes', value }] }] });
    } finally {
      await admin.disconnect();
    }
  };

  beforeAll(async () => {
    stack = await createTestStack();
    process.env.PROCESSOR_STUCK_S = String(STUCK_S);
    process.env.PROCESSORS = 'twins';
    app = await startTestApp(stack);
    producer = await connectedTelemetryProducer(stack);
  });

  afterAll(async () => {
    await setTwinsMaxMessageBytes('1048588').catch(() => undefined);
    await producer?.disconnect();
    await app?.close();
    delete process.env.PROCESSOR_STUCK_S;
    delete process.env.PROCESSORS;
  });

  it(`goes down naming twins and the partition once it failed for ${STUCK_S} s, and comes back with no reading lost`, async () => {
    await producer.send([reading(DEVICE, 1)]);
    await eventually(temperature, (value) => value === 21);
    expect((await ready()).status).toBe(200);
    const [first] = await readTopic(stack, stack.topics.twins, 1);
    const snapshotBatchBytes = 61 /* record batch header */ + first!.key!.length + first!.value!.length;
    expect(snapshotBatchBytes).toBeGreaterThan(REFUSING_MAX_MESSAGE_BYTES);

    await setTwinsMaxMessageBytes(String(REFUSING_MAX_MESSAGE_BYTES));
    await producer.send([2, 3].map((seq) => reading(DEVICE, seq)));
    const refusedAt = Date.now();

    const stallMessage = /^twins: the batch of partition \d+ has been failing for \d+ s \(\d+ attempts; .*last error: .*(Message size too large|larger than the max message size)/s;
    const down = await eventually(ready, (r) => stallMessage.test(r.body.error?.twins?.message ?? ''), (STUCK_S + 15) * 1000);
    const downAfterS = (Date.now() - refusedAt) / 1000;
    expect(down.status).toBe(503);
    const twins = down.body.error?.twins;
    expect(downAfterS).toBeGreaterThanOrEqual(STUCK_S);
    // down for as long as the refusal lasts
    for (let sample = 0; sample < 6; sample++) {
      await sleep(500);
      expect((await ready()).status).toBe(503);
    }
    expect(await temperature()).toBe(21);

    await setTwinsMaxMessageBytes('1048588');
    await eventually(ready, (r) => r.status === 200, 60_000);
    expect(await eventually(temperature, (value) => value === 23)).toBe(23);
    // on the topic itself: the stalled partition is the device's, and its last snapshot has the last reading
    const snapshots = (await readTopic(stack, stack.topics.twins, 2)).filter((record) => record.key?.toString() === DEVICE);
    expect(twins?.stalled?.map(({ partition }) => partition)).toEqual([snapshots.at(-1)!.partition]);
    expect(await readTopic(stack, stack.topics.telemetryDlq, 1, 3000)).toEqual([]);
    console.log(`processor-stuck: /ready down ${downAfterS.toFixed(1)} s after the refusal began: ${twins?.message}`);
  }, 120_000);
});
