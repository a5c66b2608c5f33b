// Produce then consume N small records (~200 bytes) with one client in one process; records/s for each phase.
//   node throughput.js ckjs|kafkajs [records=200000]
// Producer: idempotent, acks=all, no compression, sends in chunks of 1000 (kafkajs: awaited send per chunk;
// ckjs: send() per chunk without awaiting each, the way its docs advise; queue.buffering.max.messages raised
// from 100000, else send() throws ERR__QUEUE_FULL (-184) instead of waiting as kafkajs does). Consumer: a fresh group,
// eachBatch (kafkajs) / eachBatch with js.consumer.max.batch.size 1000 (ckjs), autoCommit off, read_committed.
// env: KAFKA_BROKERS, CKJS_PATH, KAFKAJS_PATH (see common.js)
'use strict';
const c = require('./common');

async function main(client, N) {
  const isCk = client === 'ckjs';
  const kafka = isCk ? c.ckjs('tput') : c.kafkajs('tput');
  const T = `tput-${client}-${c.now()}`;
  await c.createTopics([{ topic: T, partitions: 6 }]);
  const value = Buffer.alloc(200, 'x');
  const producer = kafka.producer(isCk ? { kafkaJS: { idempotent: true, maxInFlightRequests: 5, acks: -1 }, 'linger.ms': 5, 'queue.buffering.max.messages': 500000 } : { idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const CHUNK = 1000;
  const p0 = c.now();
  if (isCk) {
    const pending = [];
    for (let i = 0; i < N; i += CHUNK) pending.push(producer.send({ topic: T, messages: Array.from({ length: Math.min(CHUNK, N - i) }, (_, j) => ({ key: `device-${(i + j) % 5000}`, value })) }));
    await Promise.all(pending);
  } else {
    for (let i = 0; i < N; i += CHUNK) await producer.send({ topic: T, messages: Array.from({ length: Math.min(CHUNK, N - i) }, (_, j) => ({ key: `device-${(i + j) % 5000}`, value })) });
  }
  const produceMs = c.now() - p0;
  await producer.disconnect();

  const consumer = isCk
    ? kafka.consumer({ kafkaJS: { groupId: T, fromBeginning: true, autoCommit: false }, 'js.consumer.max.batch.size': 1000 })
    : kafka.consumer({ groupId: T, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe(isCk ? { topics: [T] } : { topic: T, fromBeginning: true });
  let got = 0, first = 0;
  await consumer.run({
    ...(isCk ? {} : { autoCommit: false }),
    partitionsConsumedConcurrently: 1,
    eachBatch: async ({ batch }) => { if (!first) first = c.now(); got += batch.messages.length; },
  });
  const c0 = c.now();
  while (got < N && c.now() - c0 < 300000) await c.sleep(20);
  const consumeMs = c.now() - c0;
  const consumeFromFirstMs = c.now() - first;
  await consumer.disconnect();
  console.log('SUMMARY ' + JSON.stringify({ client, records: N, produceMs, producePerSec: Math.round(N / produceMs * 1000), consumed: got, consumeMs, consumePerSec: Math.round(got / consumeMs * 1000), consumePerSecFromFirstRecord: Math.round(got / consumeFromFirstMs * 1000) }));
}

main(process.argv[2] || 'ckjs', Number(process.argv[3] || 200000)).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
