// Smoke test of one client against one broker (e.g. Kafka 4.x, KIP-896 removed old protocol versions):
// admin calls, idempotent produce, consumer group, transaction with sendOffsets, read_committed read, deleteGroups.
//   KAFKA_BROKERS=127.0.0.1:19192 node broker-smoke.js ckjs|kafkajs
// Every step runs even if an earlier one failed; prints one JSON line per step and a SUMMARY.
// env: KAFKA_BROKERS, CKJS_PATH, KAFKAJS_PATH (see common.js)
'use strict';
const c = require('./common');

async function main(client) {
  const isCk = client === 'ckjs';
  const kafka = isCk ? c.ckjs('smoke') : c.kafkajs('smoke');
  const run = `${client}-${c.now()}`;
  const T = `smoke-${run}`, OUT = `smoke-out-${run}`, G = `smoke-${run}`;
  const steps = [];
  const step = async (name, fn) => {
    const t0 = c.now();
    try { const detail = await fn(); steps.push({ name, ok: true }); console.log(JSON.stringify({ name, ok: true, ms: c.now() - t0, detail })); }
    catch (e) { steps.push({ name, ok: false, error: `${e.name} ${e.type || ''} ${e.message}`.slice(0, 300) }); console.log(JSON.stringify({ name, ok: false, ms: c.now() - t0, error: e.name, type: e.type, code: e.code, message: String(e.message).slice(0, 300) })); }
  };
  const admin = kafka.admin();
  await step('admin.connect', () => admin.connect());
  await step('admin.createTopics', () => admin.createTopics({ topics: [{ topic: T, numPartitions: 3, replicationFactor: 1 }, { topic: OUT, numPartitions: 3, replicationFactor: 1 }] }));
  await step('admin.listTopics', async () => (await admin.listTopics()).includes(T));
  await step('admin.fetchTopicMetadata', async () => {
    const r = await admin.fetchTopicMetadata({ topics: [T] });
    // kafkajs answers { topics: [...] }; the Confluent layer answers the array itself
    const topic = Array.isArray(r) ? r[0] : r.topics[0];
    return { shape: Array.isArray(r) ? 'array' : '{ topics }', partitions: topic.partitions.length };
  });
  await step('admin.describeConfigs', async () => {
    if (typeof admin.describeConfigs !== 'function') throw new Error('admin.describeConfigs is not a function');
    const r = await admin.describeConfigs({ resources: [{ type: 2, name: T, configNames: ['cleanup.policy'] }], includeSynonyms: false });
    return r.resources[0].configEntries.map((e) => `${e.configName}=${e.configValue}`);
  });
  const producer = kafka.producer(isCk ? { kafkaJS: { idempotent: true, maxInFlightRequests: 1 } } : { idempotent: true, maxInFlightRequests: 1 });
  await step('producer.connect', () => producer.connect());
  await step('producer.send (idempotent)', async () => (await producer.send({ topic: T, messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) })).length);
  await step('admin.fetchTopicOffsets', async () => (await admin.fetchTopicOffsets(T)).map((p) => `${p.partition}:${p.high}`).join(','));

  const consumer = isCk
    ? kafka.consumer({ kafkaJS: { groupId: G, fromBeginning: true, autoCommit: false } })
    : kafka.consumer({ groupId: G });
  const txProducer = kafka.producer(isCk ? { kafkaJS: { transactionalId: `smoke-tx-${run}`, idempotent: true, maxInFlightRequests: 1 } } : { transactionalId: `smoke-tx-${run}`, idempotent: true, maxInFlightRequests: 1 });
  await step('txProducer.connect', () => txProducer.connect());
  let consumed = 0, txCommitted = 0, txError;
  await step('consumer group + transaction with sendOffsets', async () => {
    await consumer.connect();
    await consumer.subscribe(isCk ? { topics: [T] } : { topic: T, fromBeginning: true });
    await consumer.run({
      ...(isCk ? {} : { autoCommit: false }),
      eachMessage: async ({ topic, partition, message }) => {
        consumed++;
        const tx = await txProducer.transaction();
        try {
          await tx.send({ topic: OUT, messages: [{ key: message.key, value: message.value }] });
          const topics = [{ topic, partitions: [{ partition, offset: String(Number(message.offset) + 1) }] }];
          await tx.sendOffsets(isCk ? { consumer, topics } : { consumerGroupId: G, topics });
          await tx.commit();
          txCommitted++;
        } catch (e) { txError = e; await tx.abort().catch(() => {}); throw e; }
      },
    });
    const t0 = c.now();
    while (txCommitted < 30 && c.now() - t0 < 60000 && !txError) await c.sleep(100);
    if (txError) throw txError;
    return { consumed, txCommitted };
  });
  await step('consumer.disconnect', () => consumer.disconnect());
  await step('admin.fetchOffsets (group)', async () => {
    const r = await admin.fetchOffsets({ groupId: G, topics: [T] });
    return r[0].partitions.map((p) => `${p.partition}:${p.offset}`).join(',');
  });
  await step('read_committed output = 30', async () => { const out = await c.readCommitted(OUT, 3000); if (out.length !== 30) throw new Error(`saw ${out.length}`); return out.length; });
  await step('admin.deleteGroups', () => admin.deleteGroups([G]));
  await step('admin.deleteTopics', () => admin.deleteTopics({ topics: [T, OUT] }));
  await producer.disconnect().catch(() => {}); await txProducer.disconnect().catch(() => {}); await admin.disconnect().catch(() => {});
  console.log('SUMMARY ' + JSON.stringify({ client, brokers: c.brokers, passed: steps.filter((s) => s.ok).length, failed: steps.filter((s) => !s.ok) }));
}

main(process.argv[2] || 'ckjs').then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
