import { FleetTopics, javaCompatiblePartitioner } from '@fleetstream/kafka';
import { readAvroSchema, RegistryCodec, TwinSnapshot } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Kafka, Message } from 'kafkajs';
import { log } from './bench-report';

/**
 * `count` twin snapshots, as the twin processor would have written them, straight onto fleet.twins:
 * a large fleet in seconds, for a benchmark that needs one. Devices reported an hour ago, online.
 */
export async function produceTwinSnapshots(kafka: Kafka, registry: SchemaRegistry, topics: FleetTopics, count: number, deviceId: (n: number) => string): Promise<{ ms: number; bytes: number }> {
  const codec = new RegistryCodec<TwinSnapshot>(registry, readAvroSchema('device-twin'));
  const schemaId = await codec.register(`${topics.twins}-value`);
  const producer = kafka.producer({ createPartitioner: javaCompatiblePartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  const at = Date.now() - 3_600_000;
  const inFlight = new Set<Promise<unknown>>();
  const t0 = performance.now();
  let bytes = 0;
  try {
    for (let from = 0; from < count; from += 10_000) {
      const messages: Message[] = await Promise.all(
        Array.from({ length: Math.min(10_000, count - from) }, async (_, i) => {
          const n = from + i;
          const snapshot: TwinSnapshot = {
            deviceId: deviceId(n),
            version: 3,
            reported: { temperature: { value: 15 + (n % 100) / 10, at }, battery: { value: n % 101, at }, firmware: { value: `1.${n % 7}.0`, at } },
            desiredJson: n % 10 === 0 ? '{"mode":"eco"}' : '{}',
            firstSeen: at - 86_400_000,
            lastSeen: at,
            lastReadingTime: at,
            lastReadingSeq: 3,
            online: true,
            connectivitySince: at - 86_400_000,
            connectivitySource: 'telemetry',
            desiredChangedAt: null,
            desiredChangedBy: null,
          };
          const value = await codec.encode(schemaId, snapshot);
          bytes += value.length;
          return { key: snapshot.deviceId, value };
        }),
      );
      const sent = producer.send({ topic: topics.twins, messages, acks: 1 });
      inFlight.add(sent);
      void sent.finally(() => inFlight.delete(sent));
      if (inFlight.size >= 8) await Promise.race(inFlight);
      if ((from / 10_000) % 20 === 0) log(`  ${from.toLocaleString('en-US')} twins produced`);
    }
    await Promise.all(inFlight);
  } finally {
    await producer.disconnect();
  }
  return { ms: performance.now() - t0, bytes };
}
