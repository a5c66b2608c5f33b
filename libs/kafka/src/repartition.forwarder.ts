import { Message } from 'kafkajs';
import { ConsumedRecord } from './batch-consumer';
import { partitionOf } from './kafka-client';

/** Header on a forwarded record: where its producer had placed it (`topic/partition@offset`), for whoever inspects it later. */
export const REPARTITIONED_FROM_HEADER = 'fleetstream.repartitioned-from';

/**
 * The partition a record's key belongs to (Java murmur2, which places the twins, device events and
 * commands of fleetstream itself) when the record was read from another one; undefined when it is
 * where it belongs. A record without a key, or with an empty one, has no partition of its own
 * (librdkafka places those at random too): it stays where it is and its processor deals with it as
 * the record fault it is.
 */
export function misplacedRecordTarget(record: Pick<ConsumedRecord, 'key' | 'partition'>, partitions: number): number | undefined {
  if (record.key === null || record.key.length === 0) return undefined;
  const target = partitionOf(record.key, partitions);
  return target === record.partition ? undefined : target;
}

/**
 * The record as it goes to a repartition topic: its own key, value, headers and timestamp (the
 * twin decider judges a reading by the record's timestamp, so the copy decides as the original
 * would), at the partition its key belongs to.
 */
export function forwardedMessage(record: ConsumedRecord, partition: number): Message {
  return {
    key: record.key,
    value: record.value,
    partition,
    timestamp: String(record.timestamp),
    headers: { ...record.headers, [REPARTITIONED_FROM_HEADER]: `${record.topic}/${record.partition}@${record.offset}` },
  };
}

/**
 * Kafka Streams' repartitioning for one co-partitioned input: a record a producer placed by another
 * partitioner than murmur2 (librdkafka's CRC32 `consistent_random`, the default of the Python, Go,
 * C and .NET clients) is not processed where it was read but forwarded, in the processor's
 * transaction, to the partition of `repartitionTopic` its key belongs to, which the same processor
 * consumes co-partitioned. So each key is processed by the one member that owns its partition, in
 * every topic, whoever produced it.
 */
export class RepartitionForwarder {
  constructor(
    /** The topic whose records may be misplaced. */
    readonly sourceTopic: string,
    /** The internal topic they are forwarded to: as many partitions as the source. */
    readonly repartitionTopic: string,
  ) {}

  /** The message to forward instead of processing the record, or undefined when the record is processed where it is. */
  forward(record: ConsumedRecord, partitions: number): Message | undefined {
    if (record.topic !== this.sourceTopic) return undefined;
    const target = misplacedRecordTarget(record, partitions);
    return target === undefined ? undefined : forwardedMessage(record, target);
  }
}
