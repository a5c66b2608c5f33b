// Does the Confluent client's built-in `range` assignor co-partition two topics with equal partition counts
// (each member owns the same partition numbers of both topics, what libs/kafka's co-partitioned assigner does)?
//   node range-copartition.js [partitions=6] [maxMembers=3] [protocol=classic|consumer]
// protocol=consumer uses KIP-848 (group.protocol=consumer, group.remote.assignor=range; needs a Kafka 4 broker).
// env: KAFKA_BROKERS, CKJS_PATH (see common.js)
'use strict';
const c = require('./common');

// assignment() returns [{ topic, partition }] (one entry per topic-partition)
function byTopic(entries) {
  const out = {};
  for (const e of entries) for (const p of e.partitions ?? [e.partition]) (out[e.topic] ??= []).push(p);
  for (const t of Object.keys(out)) out[t].sort((x, y) => x - y);
  return out;
}

async function main(P, maxMembers, protocol) {
  const run = c.now();
  const topics = [`copart-a-${run}`, `copart-b-${run}`];
  await c.createTopics(topics.map((topic) => ({ topic, partitions: P })));
  const { PartitionAssigners } = c.loadCkjs().KafkaJS;
  const groupId = `copart-${run}`;
  const members = [];
  const results = [];
  for (let n = 1; n <= maxMembers; n++) {
    const config = protocol === 'consumer'
      ? { kafkaJS: { groupId, fromBeginning: true }, 'group.protocol': 'consumer', 'group.remote.assignor': 'range' }
      : { kafkaJS: { groupId, fromBeginning: true, partitionAssigners: [PartitionAssigners.range], sessionTimeout: 10000 } };
    const consumer = c.ckjs(`m${n}`).consumer(config);
    await consumer.connect();
    await consumer.subscribe({ topics });
    await consumer.run({ eachMessage: async () => {} });
    members.push(consumer);
    if (n < 2) continue;
    // wait until the assignments cover every topic-partition exactly once and stay so for 3 s
    let stableSince = 0, snapshot = '';
    const t0 = c.now();
    while (c.now() - t0 < 60000) {
      const view = members.map((m) => byTopic(m.assignment()));
      const total = view.reduce((sum, v) => sum + Object.values(v).reduce((s, ps) => s + ps.length, 0), 0);
      const s = JSON.stringify(view);
      if (total === 2 * P && s === snapshot) { if (c.now() - stableSince > 3000) break; } else { snapshot = s; stableSince = c.now(); }
      await c.sleep(200);
    }
    const view = JSON.parse(snapshot);
    const coPartitioned = view.every((v) => JSON.stringify(v[topics[0]] || []) === JSON.stringify(v[topics[1]] || []));
    const row = { members: n, protocol, assignment: view.map((v) => ({ a: v[topics[0]] || [], b: v[topics[1]] || [] })), coPartitioned, settledMs: c.now() - t0 };
    results.push(row);
    console.log(JSON.stringify(row));
  }
  for (const m of members) await m.disconnect();
  console.log('SUMMARY ' + JSON.stringify({ allCoPartitioned: results.every((r) => r.coPartitioned), rows: results.length }));
}

main(Number(process.argv[2] || 6), Number(process.argv[3] || 3), process.argv[4] || 'classic').then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
