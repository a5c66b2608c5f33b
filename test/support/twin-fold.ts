import { decide, DeviceTwin, evolve, initialTwin, TwinCommand } from '@fleetstream/domain';
import { readTopicsToEnd } from '@fleetstream/kafka';
import { readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import type { ServerProcess } from './server-process';
import type { TestStack } from './test-stack';

/** The decider settings of a service started with the defaults (TWIN_SILENCE_S=300). */
const settings = { silenceMs: 300_000, maxPatchBytes: 65_536, maxDesiredBytes: 65_536, maxReportedFields: 1000 };

/**
 * The twin every command folds into, as the processor must compute it: decide + evolve in order.
 * Each device's commands must come from one topic, in order (a device never gets both telemetry and gateway reports).
 */
export function expectedTwins(commands: TwinCommand[]): Map<string, DeviceTwin> {
  const twins = new Map<string, DeviceTwin>();
  for (const command of commands) {
    const twin = twins.get(command.data.deviceId) ?? initialTwin(command.data.deviceId);
    const decision = decide(command, twin, settings);
    if ('events' in decision) twins.set(command.data.deviceId, decision.events.reduce(evolve, twin));
  }
  return twins;
}

interface TwinBody {
  version: number;
  reported: Record<string, { value: number | string }>;
  connectivity: { online: boolean; since: string | null };
}

/** Devices whose twin, as `server` answers GET /devices/:id/twin, differs from the fold (empty: all equal). */
export async function matchesFold(server: ServerProcess, expected: Map<string, DeviceTwin>): Promise<string[]> {
  const wrong: string[] = [];
  for (const [deviceId, twin] of expected) {
    const { status, body } = await server.get<TwinBody>(`/devices/${deviceId}/twin`);
    // a gateway device's `since` is its last report's time: equal once the last flip is applied (online alone matches every other flip)
    const since = (at: string | number | null | undefined) => (twin.connectivity.source === 'gateway' && at ? ` since ${new Date(at).toISOString()}` : '');
    const got = `${body?.reported.temperature?.value} ${body?.connectivity.online ? 'online' : 'offline'}${since(body?.connectivity.since)}`;
    const want = `${twin.reported.temperature?.value} ${twin.connectivity.online ? 'online' : 'offline'}${since(twin.connectivity.since)}`;
    if (status !== 200 || got !== want) wrong.push(`${deviceId}: got ${got}, want ${want}`);
  }
  return wrong;
}

/** Every twin snapshot on fleet.twins, read committed: per device, the partitions it was written to and its versions in the order written. */
export async function twinSnapshotsOnTopic(stack: TestStack): Promise<Map<string, { partitions: Set<number>; versions: number[] }>> {
  const codec = new RegistryCodec<{ deviceId: string; version: number }>(stack.registry, readAvroSchema('device-twin'));
  const byDevice = new Map<string, { partitions: Set<number>; versions: number[] }>();
  await readTopicsToEnd(
    stack.kafka,
    [stack.topics.twins],
    async (records) => {
      for (const record of records) {
        const decoded = await codec.decode(record.value);
        if (!decoded.ok) throw new Error(`${record.topic}/${record.partition}@${record.offset}: ${decoded.rejection.error}`);
        const seen = byDevice.get(decoded.value.deviceId) ?? { partitions: new Set<number>(), versions: [] };
        seen.partitions.add(record.partition);
        seen.versions.push(decoded.value.version);
        byDevice.set(decoded.value.deviceId, seen);
      }
    },
    { groupPrefix: `${stack.config.TOPIC_PREFIX}.check-${Date.now()}`, timeoutMs: 30_000 },
  );
  return byDevice;
}

/**
 * fleet.twins itself, read committed: every device's snapshots in the order written. Each change is
 * written once (versions only go up) and the last one has the fold's version: an event applied twice
 * after a crash (say, offsets committed apart from the transaction) shows as extra versions, one lost
 * as a missing one.
 */
export async function snapshotsAgreeWithFold(stack: TestStack, expected: Map<string, DeviceTwin>): Promise<string[]> {
  const versions = new Map([...(await twinSnapshotsOnTopic(stack))].map(([deviceId, written]) => [deviceId, written.versions]));
  const wrong: string[] = [];
  for (const [deviceId, twin] of expected) {
    const written = versions.get(deviceId) ?? [];
    if (written.some((version, i) => i > 0 && version <= written[i - 1]!) || written.at(-1) !== twin.version) {
      wrong.push(`${deviceId}: versions written ${written.join(',')}; the fold has ${twin.version} changes`);
    }
  }
  return wrong;
}

/**
 * The snapshots on fleet.twins against the fold, waiting out a killed instance's open transaction
 * (it hides later records from read-committed readers until the broker aborts it); the last
 * disagreement if it never clears.
 */
export async function settledSnapshotsAgainstFold(stack: TestStack, expected: Map<string, DeviceTwin>, timeoutMs = 90_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const wrong = await snapshotsAgreeWithFold(stack, expected);
    if (wrong.length === 0 || Date.now() > deadline) return wrong;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
