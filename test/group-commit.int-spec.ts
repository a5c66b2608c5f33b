import { createConfluentKafka, GroupCommitProducer, kafkaSettings, readTopicsToEnd, WrittenOffsets } from '@fleetstream/kafka';
import type { Message } from 'kafkajs';
import { createTestStack, TestStack } from './support/test-stack';

/**
 * The offsets a group commit reports for each write are where its records are on the topic: a
 * processor puts its committed state in its store and its read model skips exactly those offsets
 * when it reads them back. A wrong offset would make the read model skip someone else's record.
 */
describe('group commit on the real broker', () => {
  let stack: TestStack;
  let committer: GroupCommitProducer;

  beforeAll(async () => {
    stack = await createTestStack();
    // no consumed offsets here: no consumer to commit them with
    const confluent = createConfluentKafka(kafkaSettings(stack.config, 'it-group-commit'));
    committer = new GroupCommitProducer(confluent, `${stack.config.TOPIC_PREFIX}.group-commit-test`, () => undefined);
    await committer.connect();
  });

  afterAll(() => committer.disconnect());

  const messages = (write: string, partition: number, count: number, bytes = 16): Message[] =>
    Array.from({ length: count }, (_, i) => ({ key: `${write}-${i}`, value: Buffer.alloc(bytes, i % 251), partition }));

  it('reports, per write, the offsets its records landed at — across shared transactions and large records', async () => {
    const topic = stack.topics.twins;
    // submitted together, so they share transactions; the large records fill several produce requests
    const writes = [
      messages('a', 0, 50),
      messages('b', 0, 30),
      messages('c', 1, 40),
      [...messages('large', 2, 12, 100_000), ...messages('large-0', 0, 5)],
    ];
    const results: WrittenOffsets[] = await Promise.all(writes.map((batch) => committer.submit({ topicMessages: [{ topic, messages: batch }] })));

    const onTopic = new Map<string, string>();
    await readTopicsToEnd(stack.kafka, [topic], (records) => {
      for (const record of records) onTopic.set(`${record.partition}@${record.offset}`, record.key!.toString());
    }, { groupPrefix: `${stack.config.TOPIC_PREFIX}.check`, timeoutMs: 30_000 });

    writes.forEach((batch, index) => {
      const reported = results[index]!.get(topic)!;
      for (const partition of new Set(batch.map((message) => message.partition!))) {
        const expectedKeys = batch.filter((message) => message.partition === partition).map((message) => message.key);
        const keysAtReportedOffsets = (reported.get(partition) ?? []).map((offset) => onTopic.get(`${partition}@${offset}`));
        expect(keysAtReportedOffsets).toEqual(expectedKeys);
      }
    });
  });

  it('reports nothing for records the partitioner placed (their positions are not known)', async () => {
    const [written] = await Promise.all([committer.submit({ topicMessages: [{ topic: stack.topics.deviceCommands, messages: [{ key: 'x', value: 'y' }] }] })]);
    expect(written.get(stack.topics.deviceCommands)).toBeUndefined();
  });
});
