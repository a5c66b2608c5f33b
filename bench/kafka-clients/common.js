// Shared helpers for the Kafka client evidence scripts (issue 12): loads kafkajs and
// @confluentinc/kafka-javascript from paths given in env vars, so the repo needs no new dependency.
// Install the Confluent client outside the repo (builds librdkafka against system OpenSSL/zlib, ~2 min):
//   mkdir /tmp/ckjs && cd /tmp/ckjs && npm init -y && CKJS_LINKING=dynamic npm install @confluentinc/kafka-javascript@1.10.1
// then run a script here with CKJS_PATH=/tmp/ckjs/node_modules/@confluentinc/kafka-javascript.
// The scripts create their topics (auto.create.topics.enable=false on the local stack) with unique names.
//   KAFKA_BROKERS  (127.0.0.1:19092)        broker list
//   KAFKAJS_PATH   (the repo's kafkajs)               kafkajs 2.2.4
//   PLATFORMATIC_PATH  @platformatic/kafka's dist/index.js (fence.js, takeover.js); 1.x runs on Node 20, 2.x needs Node 22
//   CKJS_PATH      (@confluentinc/kafka-javascript resolved from the cwd)  e.g. /tmp/ckjs-spike/node_modules/@confluentinc/kafka-javascript
'use strict';
const path = require('node:path');

const brokers = (process.env.KAFKA_BROKERS || '127.0.0.1:19092').split(',');
const kafkajsPath = process.env.KAFKAJS_PATH || require.resolve('kafkajs'); // the repo's own kafkajs 2.2.4

const loadKafkajs = () => require(kafkajsPath);
// resolved only when a script uses it, so kafkajs-only runs need no CKJS_PATH
const loadCkjs = () => require(process.env.CKJS_PATH || require.resolve('@confluentinc/kafka-javascript', { paths: [process.cwd()] }));

// @platformatic/kafka is ESM only; Node >= 20.19 can require() it (give the path of its dist/index.js)
const loadPlatformatic = () => require(process.env.PLATFORMATIC_PATH || require.resolve('@platformatic/kafka', { paths: [process.cwd()] }));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => Date.now();
const log = (event) => console.log(JSON.stringify({ t: now(), pid: process.pid, ...event }));

/** kafkajs client with quiet logs. */
function kafkajs(clientId = 'spike') {
  const { Kafka, logLevel } = loadKafkajs();
  return new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 300 } });
}

/** Confluent client (KafkaJS-compatible layer) with quiet logs. */
function ckjs(clientId = 'spike') {
  const { Kafka, logLevel } = loadCkjs().KafkaJS;
  return new Kafka({ kafkaJS: { clientId, brokers, logLevel: logLevel.NOTHING } });
}

/** Creates topics (idempotently) with the kafkajs admin; 3.9 and 4.x brokers accept its CreateTopics. */
async function createTopics(topics) {
  const admin = kafkajs('spike-admin').admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: topics.map(({ topic, partitions }) => ({ topic, numPartitions: partitions, replicationFactor: 1 })) });
  } finally {
    await admin.disconnect();
  }
}

/** Every record of `topic` a read_committed reader sees (kafkajs consumer), stopping after `idleMs` without one. */
async function readCommitted(topic, idleMs = 4000) {
  const consumer = kafkajs('spike-reader').consumer({ groupId: `reader-${topic}-${now()}`, readUncommitted: false, maxWaitTimeInMs: 200 });
  const out = [];
  let last = now();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ partition, message }) => { out.push({ partition, offset: Number(message.offset), key: message.key?.toString(), value: message.value?.toString() }); last = now(); } });
  const started = now();
  while (now() - last < idleMs || now() - started < idleMs) await sleep(200);
  await consumer.disconnect();
  return out;
}

async function committedOffsets(groupId, topic) {
  const admin = kafkajs('spike-admin').admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return entry.partitions.map(({ partition, offset }) => ({ partition, offset: Number(offset) }));
  } finally {
    await admin.disconnect();
  }
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

module.exports = { brokers, kafkajs, ckjs, loadKafkajs, loadCkjs, loadPlatformatic, createTopics, readCommitted, committedOffsets, sleep, now, log, median, path };
