// Does the Confluent client log in the ways libs/kafka's settings allow? SASL PLAIN / SCRAM-SHA-256 / SCRAM-SHA-512 over
// SASL_PLAINTEXT, and SCRAM-SHA-512 over SASL_SSL with the local CA and a client certificate passed as PEM strings
// (as kafka-settings.ts reads them). Each case: admin listTopics + one produced record.
//   KAFKA_SASL_PORT=19094 KAFKA_SASL_SSL_PORT=19095 TLS_DIR=/tmp/h12a-stack/kafka/tls node sasl-tls.js
// The user and password are the local stack's well-known ones (infra/local/stack.sh).
'use strict';
const fs = require('node:fs');
const c = require('./common');

const saslPort = process.env.KAFKA_SASL_PORT || '19094';
const sslPort = process.env.KAFKA_SASL_SSL_PORT || '19095';
const tls = process.env.TLS_DIR || '/tmp/h12a-stack/kafka/tls';
const user = 'fleetstream', password = 'fleetstream-local';

async function tryCase(name, kafkaJS, outer) {
  const { Kafka, logLevel } = c.loadCkjs().KafkaJS;
  const kafka = new Kafka({ kafkaJS: { clientId: 'sasl-tls', logLevel: logLevel.NOTHING, connectionTimeout: 3000, authenticationTimeout: 5000, ...kafkaJS }, ...outer });
  const t0 = c.now();
  try {
    const admin = kafka.admin();
    await admin.connect();
    const topics = await admin.listTopics({ timeout: 8000 });
    await admin.disconnect();
    const producer = kafka.producer({ 'message.timeout.ms': 8000 });
    await producer.connect();
    await producer.send({ topic: 'probe', messages: [{ value: name }] });
    await producer.disconnect();
    console.log(JSON.stringify({ name, ok: true, ms: c.now() - t0, topics: topics.length }));
  } catch (e) {
    console.log(JSON.stringify({ name, ok: false, ms: c.now() - t0, code: e.code, message: String(e.message).slice(0, 200) }));
  }
}

(async () => {
  await c.createTopics([{ topic: 'probe', partitions: 1 }]);
  const sasl = (mechanism, pw = password) => ({ mechanism, username: user, password: pw });
  const pems = { 'ssl.ca.pem': fs.readFileSync(`${tls}/ca.pem`, 'utf8'), 'ssl.certificate.pem': fs.readFileSync(`${tls}/client.pem`, 'utf8'), 'ssl.key.pem': fs.readFileSync(`${tls}/client.key`, 'utf8') };
  for (const m of ['plain', 'scram-sha-256', 'scram-sha-512']) await tryCase(`SASL_PLAINTEXT ${m}`, { brokers: [`127.0.0.1:${saslPort}`], sasl: sasl(m) }, {});
  await tryCase('SASL_PLAINTEXT scram-sha-512 wrong password (must fail)', { brokers: [`127.0.0.1:${saslPort}`], sasl: sasl('scram-sha-512', 'wrong') }, {});
  await tryCase('SASL_SSL scram-sha-512 + CA + client cert (PEM strings)', { brokers: [`127.0.0.1:${sslPort}`], ssl: true, sasl: sasl('scram-sha-512') }, pems);
  await tryCase('SASL_SSL without client cert (must fail: ssl.client.auth=required)', { brokers: [`127.0.0.1:${sslPort}`], ssl: true, sasl: sasl('scram-sha-512') }, { 'ssl.ca.pem': pems['ssl.ca.pem'] });
  process.exit(0);
})();
