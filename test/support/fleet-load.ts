import type { Telemetry } from '@fleetstream/domain';
import { DeviceCommandResponder, TelemetryProducer } from '@fleetstream/kafka';
import { Admin, AssignerProtocol } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandView } from '../../apps/server/src/commands/command.view';
import type { ServerProcess } from './server-process';
import { reading, TestStack } from './test-stack';

/** The partitions of `topic` each member of a group holds, by the member's client id (KAFKA_CLIENT_ID). */
export async function groupAssignments(admin: Admin, groupId: string, topic: string): Promise<{ state: string; byClient: Record<string, number[]> }> {
  const { groups } = await admin.describeGroups([groupId]);
  const byClient: Record<string, number[]> = {};
  for (const member of groups[0]?.members ?? []) {
    const assignment = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
    byClient[member.clientId] = [...(byClient[member.clientId] ?? []), ...(assignment?.assignment[topic] ?? [])];
  }
  return { state: groups[0]?.state ?? 'Dead', byClient };
}

export async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, number>> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((offsets?.partitions ?? []).map(({ partition, offset }) => [partition, Number(offset)]));
}

/**
 * The simulated fleet: every device reports on a steady beat and commands go to the instances over
 * REST, from start() to stop(); it can run again, its sequence numbers going on. What was sent is
 * kept, to check every table and topic against.
 */
export class FleetLoad {
  readonly readings: Telemetry[] = [];
  readonly commands: { commandId: string; deviceId: string; via: string }[] = [];
  readonly refused: string[] = [];
  private seq = 1;
  private sentCommands = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private pendingBurst: { rounds: number; sent: () => void } | undefined;

  constructor(
    private readonly producer: TelemetryProducer,
    /** The instances commands may be sent to now; the test takes one out before it kills it. */
    readonly live: Set<ServerProcess>,
    private readonly devices: readonly string[],
    /** One reading from every device this often... */
    private readonly roundMs = 500,
    /** ...and a command over REST this often, to the next live instance, for the next device. */
    private readonly commandEveryMs = 250,
  ) {}

  start(): this {
    this.running = true;
    this.loops = [this.report(), this.command()];
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /**
   * The next beat carries `rounds` rounds at once, as a fleet does when its gateways reconnect with
   * what they buffered; resolves once the broker has them.
   */
  burst(rounds: number): Promise<void> {
    return new Promise((resolve) => (this.pendingBurst = { rounds, sent: resolve }));
  }

  private async report(): Promise<void> {
    while (this.running) {
      const started = Date.now();
      const burst = this.pendingBurst;
      this.pendingBurst = undefined;
      const rounds = burst?.rounds ?? 1;
      // event times go up with seq for each device, a buffered round being older than the next live one
      const beat = Array.from({ length: rounds }, (_, r) => this.seq + r).flatMap((n, r) =>
        this.devices.map((deviceId, d) => reading(deviceId, n, started - (rounds - 1 - r) * this.roundMs + d, { temperature: n * 100 + d, battery: 100 - (n % 100) })),
      );
      this.seq += rounds;
      await this.producer.send(beat);
      this.readings.push(...beat);
      burst?.sent();
      await sleep(Math.max(0, this.roundMs - (Date.now() - started)));
    }
  }

  private async command(): Promise<void> {
    while (this.running) {
      const i = this.sentCommands++;
      const targets = [...this.live];
      const via = targets[i % targets.length]!;
      const deviceId = this.devices[(i * 7) % this.devices.length]!;
      const response = await via.request<CommandView>('POST', `/devices/${deviceId}/commands`, { name: 'sync', params: { i } });
      if (response.status === 202) this.commands.push({ commandId: response.body.commandId, deviceId, via: via.url });
      else this.refused.push(`${via.url} ${deviceId}: ${response.status} ${JSON.stringify(response.body)}`);
      await sleep(this.commandEveryMs);
    }
  }
}

/** Devices that answer every command at once: delivered, accepted, succeeded (started). */
export async function answeringDevices(stack: TestStack): Promise<DeviceCommandResponder> {
  const responder = new DeviceCommandResponder(stack.kafka, stack.registry, stack.topics, {
    groupId: `${stack.config.TOPIC_PREFIX}.devices`,
    react: () => ({ answer: true, stages: ['delivered', 'accepted', 'succeeded'], result: { ok: true } }),
    stageDelayMs: 20,
  });
  await responder.start();
  return responder;
}
