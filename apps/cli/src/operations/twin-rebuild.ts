import { FleetstreamConfig, telemetryRules, twinSettings } from '@fleetstream/config';
import { applyCommand, DeviceTwin, initialTwin, sameTwinState, TwinCommand, TwinSettings } from '@fleetstream/domain';
import { ConsumedRecord, ConsumerGroupAdmin, EndOffsets, fleetGroups, FleetTopics, idempotentProducerConfig, readTopicsToEnd } from '@fleetstream/kafka';
import { fromTwinSnapshot, readAvroSchema, RegistryCodec, toTwinSnapshot, TwinCommandReader, TwinSnapshot } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Kafka } from 'kafkajs';

export interface RebuildDeps {
  config: FleetstreamConfig;
  kafka: Kafka;
  registry: SchemaRegistry;
  topics: FleetTopics;
}

/** A command with where it came from, in the order the twin processor would see it. */
interface SourcedCommand {
  command: TwinCommand;
  timestamp: number;
}

export interface TwinRebuildPlan {
  /** Devices with retained telemetry or device events. */
  folded: number;
  unchanged: number;
  /** Twins to write: missing from fleet.twins or different from the fold. */
  changed: { deviceId: string; live: DeviceTwin | null; rebuilt: DeviceTwin }[];
  /** Devices the fold says were removed that still have a twin: tombstones to write. */
  removed: string[];
  /** Twins whose events are no longer retained (older than the topics' retention): left as they are. */
  keptWithoutEvents: number;
  /** Where the fold stopped on telemetry and device events; the twin processor continues from here. */
  ends: EndOffsets;
}

export type RebuildProgress = (phase: 'read events' | 'read twins' | 'write twins', done: number, total: number) => void;

/**
 * Fold one device's commands the way the twin processor does: each topic in offset order, the two
 * topics interleaved by record time (the processor sees them as they arrive, which is that order).
 */
export function foldDevice(deviceId: string, telemetry: readonly SourcedCommand[], events: readonly SourcedCommand[], settings: TwinSettings): DeviceTwin {
  let twin = initialTwin(deviceId);
  let t = 0;
  let e = 0;
  while (t < telemetry.length || e < events.length) {
    const takeEvent = t >= telemetry.length || (e < events.length && events[e]!.timestamp < telemetry[t]!.timestamp);
    const next = takeEvent ? events[e++]! : telemetry[t++]!;
    const applied = applyCommand(twin, next.command, settings);
    if ('twin' in applied) twin = applied.twin;
  }
  return twin;
}

/**
 * Recomputes every twin from the retained telemetry and device events with the pure decider and
 * compares it with fleet.twins; nothing is written. Reads a consistent cut: both topics up to their
 * end offsets at the start.
 */
export async function planTwinRebuild(deps: RebuildDeps, onProgress?: RebuildProgress): Promise<TwinRebuildPlan> {
  const { config, kafka, registry, topics } = deps;
  const reader = new TwinCommandReader(registry, telemetryRules(config));
  const byDevice = new Map<string, { telemetry: SourcedCommand[]; events: SourcedCommand[] }>();
  const collect = async (records: ConsumedRecord[]) => {
    for (const record of records) {
      const isEvent = record.topic === topics.deviceEvents;
      const read = isEvent ? await reader.deviceEvent(record) : await reader.telemetry(record);
      if (!('command' in read)) continue;
      const deviceId = read.command.data.deviceId;
      const streams = byDevice.get(deviceId) ?? { telemetry: [], events: [] };
      (isEvent ? streams.events : streams.telemetry).push({ command: read.command, timestamp: record.timestamp });
      byDevice.set(deviceId, streams);
    }
  };
  const ends = await readTopicsToEnd(kafka, [topics.telemetry, topics.deviceEvents], collect, {
    groupPrefix: `${config.TOPIC_PREFIX}.ops-rebuild`,
    onProgress: (done, total) => onProgress?.('read events', done, total),
  });

  const live = await readTwins(deps, (done, total) => onProgress?.('read twins', done, total));
  const settings = twinSettings(config);
  const plan: TwinRebuildPlan = { folded: byDevice.size, unchanged: 0, changed: [], removed: [], keptWithoutEvents: 0, ends };
  for (const [deviceId, { telemetry, events }] of byDevice) {
    const rebuilt = foldDevice(deviceId, telemetry, events, settings);
    const current = live.get(deviceId) ?? null;
    if (rebuilt.removed) {
      if (current) plan.removed.push(deviceId);
      else plan.unchanged++;
    } else if (current && sameTwinState(current, rebuilt)) {
      plan.unchanged++;
    } else {
      // a changed twin gets a version past the live one, so ETags and If-Match never see an old number again
      plan.changed.push({ deviceId, live: current, rebuilt: { ...rebuilt, version: Math.max(rebuilt.version, (current?.version ?? 0) + 1) } });
    }
  }
  plan.keptWithoutEvents = [...live.keys()].filter((deviceId) => !byDevice.has(deviceId)).length;
  return plan;
}

/**
 * Writes the plan's snapshots and tombstones to fleet.twins (readers keep serving and pick them up
 * as ordinary updates), then moves the twin processor's group to where the fold stopped, so it
 * continues after the events the rebuild already folded. The group must be stopped for that step.
 */
export async function applyTwinRebuild(deps: RebuildDeps, plan: TwinRebuildPlan, onProgress?: RebuildProgress): Promise<{ offsetsMoved: boolean }> {
  const { config, kafka, registry, topics } = deps;
  const groupId = fleetGroups(config.TOPIC_PREFIX).twinProcessor;
  const groups = new ConsumerGroupAdmin(kafka);
  try {
    const group = await groups.members(groupId);
    const processorStopped = group.members.length === 0;
    const codec = new RegistryCodec<TwinSnapshot>(registry, readAvroSchema('device-twin'));
    const schemaId = await codec.register(`${topics.twins}-value`);
    const producer = kafka.producer(idempotentProducerConfig);
    await producer.connect();
    try {
      const messages = [
        ...(await Promise.all(plan.changed.map(async ({ deviceId, rebuilt }) => ({ key: deviceId, value: await codec.encode(schemaId, toTwinSnapshot(rebuilt)) })))),
        ...plan.removed.map((deviceId) => ({ key: deviceId, value: null })),
      ];
      const chunk = 1000;
      for (let start = 0; start < messages.length; start += chunk) {
        await producer.send({ topic: topics.twins, acks: -1, messages: messages.slice(start, start + chunk) });
        onProgress?.('write twins', Math.min(start + chunk, messages.length), messages.length);
      }
    } finally {
      await producer.disconnect();
    }
    if (!processorStopped) return { offsetsMoved: false };
    for (const [topic, partitions] of plan.ends) {
      const changes = [...partitions].map(([partition, offset]) => ({ topic, partition, from: null, to: offset, delta: 0 }));
      await groups.applyReset(groupId, changes);
    }
    return { offsetsMoved: true };
  } finally {
    await groups.close();
  }
}

/** fleet.twins as it is now: latest snapshot per device, tombstoned devices left out. */
async function readTwins(deps: RebuildDeps, onProgress: (done: number, total: number) => void): Promise<Map<string, DeviceTwin>> {
  const codec = new RegistryCodec<TwinSnapshot>(deps.registry, readAvroSchema('device-twin'));
  const twins = new Map<string, DeviceTwin>();
  await readTopicsToEnd(
    deps.kafka,
    [deps.topics.twins],
    async (records) => {
      for (const record of records) {
        if (record.key === null) continue;
        const deviceId = record.key.toString('utf8');
        if (record.value === null) {
          twins.delete(deviceId);
          continue;
        }
        const decoded = await codec.decode(record.value);
        if (!decoded.ok) throw new Error(`${deps.topics.twins} partition ${record.partition} offset ${record.offset} does not decode: ${decoded.rejection.error}`);
        twins.set(deviceId, fromTwinSnapshot(decoded.value));
      }
    },
    { groupPrefix: `${deps.config.TOPIC_PREFIX}.ops-rebuild`, onProgress },
  );
  return twins;
}
