import type { SkippedRecord } from './compacted-topic-view';
import { deadLetteredRecord, foldRedriveLedger, selectDeadLetters } from './dead-letter-queue';
import { DLQ_HEADERS } from './topics';

const dead = (partition: number, offset: string, reason: string, sourceTopic = 'fleet.telemetry') =>
  deadLetteredRecord(
    {
      topic: 'fleet.telemetry.dlq', partition, offset, key: Buffer.from('dev-1'), value: Buffer.from('x'), timestamp: 0,
      headers: {
        [DLQ_HEADERS.reason]: Buffer.from(reason),
        [DLQ_HEADERS.sourceTopic]: Buffer.from(sourceTopic),
        [DLQ_HEADERS.sourcePartition]: Buffer.from('2'),
        [DLQ_HEADERS.sourceOffset]: Buffer.from('41'),
        'producer.trace': Buffer.from('abc'),
      },
    },
    false,
  );

describe('dead letters', () => {
  it('reads the source from the headers and keeps only the producer\'s own headers for a re-drive', () => {
    const record = dead(0, '7', 'unknown-schema-id');
    expect(record.source).toEqual({ topic: 'fleet.telemetry', partition: 2, offset: '41' });
    expect(Object.keys(record.originalHeaders)).toEqual(['producer.trace']);
  });

  it('selects by reason, source topic and position, all given criteria together', () => {
    const records = [dead(0, '1', 'unknown-schema-id'), dead(0, '2', 'undecodable'), dead(1, '1', 'unknown-schema-id', 'other')];
    expect(selectDeadLetters(records, { reasons: ['unknown-schema-id'] })).toHaveLength(2);
    expect(selectDeadLetters(records, { reasons: ['unknown-schema-id'], sourceTopic: 'fleet.telemetry' })).toEqual([records[0]]);
    expect(selectDeadLetters(records, { positions: ['0:2'] })).toEqual([records[1]]);
  });
});

describe('the re-drive ledger', () => {
  it('reads the DLQ positions and skips records that are not ledger entries', () => {
    const entry = (offset: number, key: string | null) => ({
      topic: 'fleet.telemetry.dlq.redriven', partition: 0, offset: String(offset), headers: {}, timestamp: 0, key: key === null ? null : Buffer.from(key), value: Buffer.from('{}'),
    });
    const positions = new Set<string>();
    const skipped: SkippedRecord[] = [];
    foldRedriveLedger(positions, [entry(0, '2:41'), entry(1, null), entry(2, 'garbage'), entry(3, '0:7')], (skip) => skipped.push(skip));
    expect([...positions]).toEqual(['2:41', '0:7']);
    expect(skipped.map(({ offset, reason }) => [offset, reason])).toEqual([['1', 'missing-key'], ['2', 'invalid-key']]);
  });
});
