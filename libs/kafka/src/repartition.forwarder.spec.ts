import { crc32 } from 'node:zlib';
import type { ConsumedRecord } from './batch-consumer';
import { partitionOf } from './kafka-client';
import { forwardedMessage, misplacedRecordTarget, RepartitionForwarder, REPARTITIONED_FROM_HEADER } from './repartition.forwarder';

const PARTITIONS = 6;

const record = (key: string | null, partition: number, topic = 'telemetry'): ConsumedRecord => ({
  topic,
  partition,
  offset: '17',
  key: key === null ? null : Buffer.from(key),
  value: Buffer.from([0, 0, 0, 0, 1, 2]),
  headers: { trace: Buffer.from('abc') },
  timestamp: 1_700_000_000_123,
});

/** A key librdkafka's default partitioner (CRC32) and murmur2 place apart. */
function keyPlacedApart(): { key: string; murmur2: number; crc32: number } {
  for (let n = 0; ; n++) {
    const key = `dev-${n}`;
    const placed = { key, murmur2: partitionOf(key, PARTITIONS), crc32: crc32(key) % PARTITIONS };
    if (placed.murmur2 !== placed.crc32) return placed;
  }
}

describe('where a record belongs', () => {
  const { key, murmur2, crc32: placedByCrc32 } = keyPlacedApart();

  it('forwards a record read from another partition than its key’s murmur2 partition to that one', () => {
    expect(misplacedRecordTarget(record(key, placedByCrc32), PARTITIONS)).toBe(murmur2);
  });

  it('keeps a record that is where its key belongs', () => {
    expect(misplacedRecordTarget(record(key, murmur2), PARTITIONS)).toBeUndefined();
  });

  it('keeps a record without a key or with an empty one: it belongs nowhere, its processor deals with the fault', () => {
    expect(misplacedRecordTarget(record(null, 0), PARTITIONS)).toBeUndefined();
    expect(misplacedRecordTarget(record('', partitionOf('', PARTITIONS) + 1), PARTITIONS)).toBeUndefined();
  });

  it('places by the key’s bytes, as the Java client does, not by their UTF-8 reading', () => {
    // bytes that are not UTF-8 and whose replacement-character reading lands elsewhere
    let bytes = Buffer.alloc(0);
    for (let n = 0; n < 256; n++) {
      bytes = Buffer.from([0xff, n, 0xfe]);
      if (partitionOf(bytes, PARTITIONS) !== partitionOf(bytes.toString('utf8'), PARTITIONS)) break;
    }
    const placed = partitionOf(bytes, PARTITIONS);
    expect(misplacedRecordTarget({ key: bytes, partition: placed }, PARTITIONS)).toBeUndefined();
    expect(misplacedRecordTarget({ key: bytes, partition: partitionOf(bytes.toString('utf8'), PARTITIONS) }, PARTITIONS)).toBe(placed);
  });
});

describe('a forwarded record', () => {
  it('carries the original key, value, headers and timestamp, at the named partition, and says where it came from', () => {
    const original = record('dev-1', 4);
    expect(forwardedMessage(original, 2)).toEqual({
      key: original.key,
      value: original.value,
      partition: 2,
      timestamp: '1700000000123',
      headers: { trace: Buffer.from('abc'), [REPARTITIONED_FROM_HEADER]: 'telemetry/4@17' },
    });
  });

  it('is forwarded only from the source topic: records read from the repartition topic are processed where they are', () => {
    const forwarder = new RepartitionForwarder('telemetry', 'telemetry.repartition');
    const { key, murmur2, crc32: placedByCrc32 } = keyPlacedApart();
    expect(forwarder.forward(record(key, placedByCrc32), PARTITIONS)?.partition).toBe(murmur2);
    expect(forwarder.forward(record(key, placedByCrc32, 'telemetry.repartition'), PARTITIONS)).toBeUndefined();
    expect(forwarder.forward(record(key, placedByCrc32, 'device-events'), PARTITIONS)).toBeUndefined();
  });
});
