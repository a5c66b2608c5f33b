import { DeviceCommandResponder, TelemetryProducer } from '@fleetstream/kafka';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandView } from '../apps/server/src/commands/command.view';
import { ServerProcess } from './support/server-process';
import { connectedTelemetryProducer, createTestStack, eventually, reading, TestStack } from './support/test-stack';

/**
 * A transient fault must never become a permanent one: with the broker or the registry killed for
 * 20 s while devices keep publishing, every processor resumes by itself once it is back — history
 * holds every acknowledged reading once, each twin shows its device's last reading, the saga runs a
 * new command to the end — and /ready says so meanwhile. This file stops the shared local broker and
 * registry, so it runs in-band like every integration test.
 */
// OUTAGE_MS in the environment makes it longer, to look into a failure that a longer outage brings out
const OUTAGE_MS = Number(process.env.OUTAGE_MS ?? 20_000);
const DEVICES = Array.from({ length: 10 }, (_, i) => `outage-${String(i).padStart(2, '0')}`);
const STACK = resolve(__dirname, '../infra/local/stack.sh');

function stackCommand(...args: string[]): void {
  execFileSync('bash', [STACK, ...args], { stdio: 'ignore', timeout: 180_000 });
}

/** Devices publishing a reading each every 100 ms until stopped; a batch that fails is sent again until Kafka takes it. */
class Load {
  private stopped = false;
  /** Sequence numbers go on across loads: a device's readings stay distinct through both outages. */
  private static seq = 0;
  private readonly running: Promise<void>;

  constructor(private readonly producer: TelemetryProducer) {
    this.running = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const seq = ++Load.seq;
      const batch = DEVICES.map((deviceId) => reading(deviceId, seq));
      for (;;) {
        try {
          await this.producer.send(batch);
          break;
        } catch {
          await sleep(500); // the broker is away: the device keeps its reading and tries again
        }
      }
      await sleep(100);
    }
  }

  async stop(): Promise<number> {
    this.stopped = true;
    await this.running;
    return Load.seq;
  }
}

describe('processors when Kafka or the registry goes away for 20 s under load', () => {
  let stack: TestStack;
  let server: ServerProcess;
  let producer: TelemetryProducer;

  beforeAll(async () => {
    stack = await createTestStack({ TWIN_SILENCE_S: '3600' });
    server = await (await ServerProcess.create(stack)).start();
    producer = await connectedTelemetryProducer(stack);
  });

  afterAll(async () => {
    stackCommand('start'); // whatever happened, leave the stack running for the next file
    await producer?.disconnect().catch(() => undefined);
    await server?.stop();
  });

  /** Kills a component for OUTAGE_MS under load and restarts it; returns what /ready said meanwhile and the load's last seq. */
  async function outage(component: 'kafka' | 'registry'): Promise<{ notReadyDuringOutage: boolean; lastSeq: number }> {
    const load = new Load(producer);
    await sleep(3000);
    stackCommand('kill', component);
    let notReadyDuringOutage = false;
    const outageEnds = Date.now() + OUTAGE_MS;
    while (Date.now() < outageEnds) {
      const ready = await fetch(`${server.url}/ready`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status === 200, () => false);
      if (!ready) notReadyDuringOutage = true;
      await sleep(1000);
    }
    stackCommand('start', component);
    await sleep(5000);
    return { notReadyDuringOutage, lastSeq: await load.stop() };
  }

  /** Every processor caught up: history has every reading once, twins show the last one, a new command runs to its end. */
  async function expectEveryProcessorResumed(lastSeq: number, label: string): Promise<void> {
    await eventually(() => server.request('GET', '/ready'), (ready) => ready.status === 200, 120_000);
    for (const deviceId of DEVICES) {
      const history = await eventually(
        () => server.request<{ readings: { seq: number }[] }>('GET', `/devices/${deviceId}/telemetry?limit=10000&from=${new Date(Date.now() - 3_600_000).toISOString()}`),
        (response) => response.status === 200 && response.body.readings.length >= lastSeq,
        60_000,
      );
      const seqs = history.body.readings.map((row) => row.seq);
      expect(new Set(seqs).size).toBe(seqs.length); // once each
      expect(Math.max(...seqs)).toBe(lastSeq);
      const twin = await eventually(
        () => server.request<{ reported: Record<string, { value: number }> }>('GET', `/devices/${deviceId}/twin`),
        (response) => response.status === 200 && response.body.reported.temperature?.value === 20 + lastSeq,
        60_000,
      );
      expect(twin.body.reported.temperature!.value).toBe(20 + lastSeq);
    }
    const device = new DeviceCommandResponder(stack.kafka, stack.registry, stack.topics, {
      groupId: `${stack.config.TOPIC_PREFIX}.device-${label}`,
      react: () => ({ answer: true, stages: ['delivered', 'accepted', 'succeeded'] }),
    });
    await device.start();
    try {
      const posted = await server.request<CommandView>('POST', `/devices/${DEVICES[0]}/commands`, { name: `after-${label}` });
      expect(posted.status).toBe(202);
      await eventually(() => server.request<CommandView>('GET', `/commands/${posted.body.commandId}`), (view) => view.body.state === 'succeeded', 60_000);
    } finally {
      await device.stop();
    }
  }

  /** The server's log lines kept where a failed run can be read (CI prints only the assertion). */
  async function keepingServerLog<T>(label: string, check: () => Promise<T>): Promise<T> {
    try {
      return await check();
    } catch (error) {
      const file = resolve(__dirname, `../.data/logs/outage-${label}-server.log`);
      mkdirSync(dirname(file), { recursive: true });
      const ready = await server.request('GET', '/ready').catch((failure: Error) => ({ failure: failure.message }));
      writeFileSync(file, `${server.logs()}\n/ready at the failure: ${JSON.stringify(ready)}\n`);
      (error as Error).message += `\nthe server's log, and /ready at the failure: ${file}`;
      throw error;
    }
  }

  it('resumes every processor by itself after the broker is killed and restarted', async () => {
    const { notReadyDuringOutage, lastSeq } = await outage('kafka');
    expect(notReadyDuringOutage).toBe(true);
    await keepingServerLog('kafka', () => expectEveryProcessorResumed(lastSeq, 'kafka'));
  }, 300_000);

  it('resumes every processor by itself after the registry is killed and restarted', async () => {
    const { notReadyDuringOutage, lastSeq } = await outage('registry');
    expect(notReadyDuringOutage).toBe(true);
    await keepingServerLog('registry', () => expectEveryProcessorResumed(lastSeq, 'registry'));
  }, 300_000);
});
