import { javaCompatiblePartitioner } from '@fleetstream/kafka';
import { CompressionTypes, Kafka, Message } from 'kafkajs';

/**
 * `total` records onto each of `topics` as fast as the broker takes them: chunks of 10,000 made by
 * `chunk(size)`, up to 8 requests in flight, the same messages on every topic. Not TelemetryProducer:
 * it is idempotent with one request in flight (the right choice for a device gateway), which caps a
 * bulk load at ~20k records/s here; the bytes are the same. Keys go where the service's partitioner
 * puts them. Returns the bytes sent per topic (keys and values).
 */
export async function bulkProduce(
  kafka: Kafka,
  topics: readonly string[],
  total: number,
  chunk: (size: number) => Promise<Message[]>,
  progress: (sent: number) => void = () => undefined,
): Promise<{ bytes: number }> {
  const producer = kafka.producer({ createPartitioner: javaCompatiblePartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  const chunkSize = 10_000;
  const maxInFlight = 8;
  const inFlight = new Set<Promise<unknown>>();
  let sent = 0;
  let bytes = 0;
  try {
    while (sent < total) {
      const messages = await chunk(Math.min(chunkSize, total - sent));
      for (const { key, value } of messages) bytes += (value as Buffer).length + (key ? Buffer.byteLength(key) : 0);
      for (const topic of topics) {
        const send: Promise<unknown> = producer
          .send({ topic, acks: -1, compression: CompressionTypes.None, messages })
          .finally(() => inFlight.delete(send));
        inFlight.add(send);
        if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      }
      sent += messages.length;
      progress(sent);
    }
    await Promise.all(inFlight);
  } finally {
    await producer.disconnect();
  }
  return { bytes };
}
