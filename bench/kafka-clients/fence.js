// KIP-447 zombie fencing check: does a member that stalls mid-transaction (SIGSTOP) past its session timeout,
// loses its partition to another member and wakes up (SIGCONT) still manage to commit its transaction
// (output records + consumer offsets via sendOffsets)?
//   node fence.js ckjs|kafkajs|platformatic      (orchestrator; spawns two members of this same file)
// env: KAFKA_BROKERS, CKJS_PATH, KAFKAJS_PATH (see common.js), SESSION_MS (6000), WAKE_DELAY_MS (0: the zombie
// calls sendOffsets at once after SIGCONT; e.g. 8000: it first waits, giving its consumer time to rejoin the group)
// Prints JSON lines from both members and a summary: the zombie's errors, what read_committed readers
// see on the output topic, and the group's committed offset afterwards.
'use strict';
const { spawn } = require('node:child_process');
const c = require('./common');

// members still running when the orchestrator ends (also on a failed run) are killed with it
const children = [];
process.on('exit', () => { for (const child of children) { try { child.kill('SIGKILL'); } catch {} } });

const SESSION_MS = Number(process.env.SESSION_MS || 6000);

// @platformatic/kafka (pure JS): stream consumer, transaction.addConsumer + addOffset (TxnOffsetCommit with member id and generation)
async function platformaticMember() {
  const { GROUP, IN, OUT, NAME, PAUSE } = process.env;
  const pk = c.loadPlatformatic();
  const consumer = new pk.Consumer({ groupId: GROUP, clientId: NAME, bootstrapBrokers: c.brokers, deserializers: pk.stringDeserializers, sessionTimeout: SESSION_MS, heartbeatInterval: 1000, autocommit: false });
  const producer = new pk.Producer({ clientId: NAME, bootstrapBrokers: c.brokers, serializers: pk.stringSerializers, idempotent: true, transactionalId: `fence-${GROUP}-${NAME}` });
  const stream = await consumer.consume({ topics: [IN], mode: 'committed', fallbackMode: 'earliest', autocommit: false, sessionTimeout: SESSION_MS, heartbeatInterval: 1000 });
  let pause = PAUSE === '1';
  c.log({ ev: 'started', name: NAME });
  for await (const message of stream) {
    const offset = Number(message.offset);
    const tx = await producer.beginTransaction();
    try {
      await tx.send({ messages: [{ topic: OUT, key: String(offset), value: `${NAME}:${offset}` }] });
      if (pause) {
        pause = false;
        c.log({ ev: 'midtx', name: NAME, offset });
        await c.sleep(3000);
        c.log({ ev: 'woke', name: NAME, offset });
        if (Number(process.env.WAKE_DELAY_MS || 0) > 0) { await c.sleep(Number(process.env.WAKE_DELAY_MS)); c.log({ ev: 'after-wake-delay', name: NAME }); }
        await tx.send({ messages: [{ topic: OUT, key: String(offset), value: `${NAME}:after-wake:${offset}` }] });
        c.log({ ev: 'sent-after-wake', name: NAME, offset });
      }
      await tx.addConsumer(consumer);
      await tx.addOffset(message);
      c.log({ ev: 'offsets-sent', name: NAME, offset });
      await tx.commit();
      c.log({ ev: 'committed', name: NAME, offset });
    } catch (error) {
      c.log({ ev: 'error', name: NAME, offset, errName: error.name, code: error.code, message: String(error.message).slice(0, 300), cause: error.errors?.map((e) => e.message).join('; ').slice(0, 300) });
      try { await tx.abort(); c.log({ ev: 'aborted', name: NAME, offset }); } catch (e) { c.log({ ev: 'abort-error', name: NAME, message: e.message }); }
      throw error;
    }
    await c.sleep(100);
  }
}

async function member() {
  const { CLIENT, GROUP, IN, OUT, NAME, PAUSE } = process.env;
  if (CLIENT === 'platformatic') return platformaticMember();
  const isCk = CLIENT === 'ckjs';
  const kafka = isCk ? c.ckjs(NAME) : c.kafkajs(NAME);
  const transactionalId = `fence-${GROUP}-${NAME}`;
  const consumer = isCk
    ? kafka.consumer({ kafkaJS: { groupId: GROUP, fromBeginning: true, autoCommit: false, sessionTimeout: SESSION_MS, heartbeatInterval: 1000 } })
    : kafka.consumer({ groupId: GROUP, sessionTimeout: SESSION_MS, heartbeatInterval: 1000, readUncommitted: false });
  const producer = isCk
    ? kafka.producer({ kafkaJS: { transactionalId, idempotent: true, maxInFlightRequests: 1 }, 'linger.ms': 0 })
    : kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  await consumer.connect();
  await producer.connect();
  await consumer.subscribe(isCk ? { topics: [IN] } : { topic: IN, fromBeginning: true });
  let pause = PAUSE === '1';
  c.log({ ev: 'started', name: NAME });
  await consumer.run({
    ...(isCk ? {} : { autoCommit: false }),
    eachMessage: async ({ topic, partition, message }) => {
      const offset = Number(message.offset);
      const tx = await producer.transaction();
      try {
        await tx.send({ topic: OUT, messages: [{ key: String(offset), value: `${NAME}:${offset}` }] });
        if (pause) {
          pause = false;
          c.log({ ev: 'midtx', name: NAME, offset });
          await c.sleep(3000); // the orchestrator SIGSTOPs us here
          c.log({ ev: 'woke', name: NAME, offset });
          // WAKE_DELAY_MS: stay inside the transaction a while after waking, so the client may rejoin the group first
          if (Number(process.env.WAKE_DELAY_MS || 0) > 0) { await c.sleep(Number(process.env.WAKE_DELAY_MS)); c.log({ ev: 'after-wake-delay', name: NAME }); }
          await tx.send({ topic: OUT, messages: [{ key: String(offset), value: `${NAME}:after-wake:${offset}` }] });
          c.log({ ev: 'sent-after-wake', name: NAME, offset });
        }
        const topics = [{ topic, partitions: [{ partition, offset: String(offset + 1) }] }];
        await tx.sendOffsets(isCk ? { consumer, topics } : { consumerGroupId: GROUP, topics });
        c.log({ ev: 'offsets-sent', name: NAME, offset });
        await tx.commit();
        c.log({ ev: 'committed', name: NAME, offset });
      } catch (error) {
        c.log({ ev: 'error', name: NAME, offset, errName: error.name, code: error.code, type: error.type, fatal: error.fatal, abortable: error.abortable, message: error.message });
        try { await tx.abort(); c.log({ ev: 'aborted', name: NAME, offset }); } catch (e) { c.log({ ev: 'abort-error', name: NAME, code: e.code, message: e.message }); }
        throw error;
      }
      await c.sleep(100);
    },
  });
}

async function orchestrate(client) {
  const run = `${client}-${c.now()}`;
  const IN = `fence-in-${run}`, OUT = `fence-out-${run}`, GROUP = `fence-${run}`, N = 20;
  await c.createTopics([{ topic: IN, partitions: 1 }, { topic: OUT, partitions: 1 }]);
  const p = c.kafkajs().producer();
  await p.connect();
  await p.send({ topic: IN, messages: Array.from({ length: N }, (_, i) => ({ key: String(i), value: `in-${i}` })) });
  await p.disconnect();

  const events = [];
  const spawnMember = (name, pause) => {
    const child = spawn(process.execPath, [__filename, 'member'], { env: { ...process.env, CLIENT: client, GROUP, IN, OUT, NAME: name, PAUSE: pause ? '1' : '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let buf = '';
    child.stdout.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\n')) >= 0) { const line = buf.slice(0, i); buf = buf.slice(i + 1); try { const e = JSON.parse(line); events.push(e); console.log(line); } catch { console.log(`[${name}] ${line}`); } } });
    child.stderr.on('data', (d) => process.stderr.write(`[${name} stderr] ${d}`));
    return child;
  };
  const waitFor = async (pred, ms) => { const t = c.now(); while (c.now() - t < ms) { const e = events.find(pred); if (e) return e; await c.sleep(50); } throw new Error('timeout waiting'); };

  const a = spawnMember('A', true);
  await waitFor((e) => e.ev === 'midtx', 60000);
  a.kill('SIGSTOP');
  const stoppedAt = c.now();
  console.log(`# SIGSTOP A at ${stoppedAt}`);
  const b = spawnMember('B', false);
  const bFirst = await waitFor((e) => e.name === 'B' && e.ev === 'committed', 90000);
  await waitFor((e) => e.name === 'B' && e.ev === 'committed' && e.offset === N - 1, 90000);
  console.log(`# B took over: first commit ${bFirst.t - stoppedAt} ms after SIGSTOP; B committed all ${N}`);
  a.kill('SIGCONT');
  const contAt = c.now();
  console.log(`# SIGCONT A at ${contAt}`);
  await c.sleep(12000 + Number(process.env.WAKE_DELAY_MS || 0));
  a.kill('SIGTERM'); b.kill('SIGTERM');
  await c.sleep(2000);
  a.kill('SIGKILL'); b.kill('SIGKILL');

  const out = await c.readCommitted(OUT);
  const committed = await c.committedOffsets(GROUP, IN);
  const fromA = out.filter((r) => r.value.startsWith('A:'));
  const perOffset = new Map();
  for (const r of out) perOffset.set(r.key, (perOffset.get(r.key) || 0) + 1);
  const dups = [...perOffset].filter(([, n]) => n > 1);
  const aAfter = events.filter((e) => e.name === 'A' && e.t >= contAt).map(({ ev, offset, code, type, errName, message }) => ({ ev, offset, code, type, errName, message }));
  const summary = {
    client, sessionMs: SESSION_MS, takeoverMs: bFirst.t - stoppedAt,
    zombieEventsAfterSigcont: aAfter,
    visibleRecordsFromZombie: fromA.map((r) => r.value),
    outputRecords: out.length, inputRecords: N, duplicatedInputOffsets: dups.length,
    groupCommittedOffset: committed,
  };
  console.log('SUMMARY ' + JSON.stringify(summary, null, 1));
}

if (process.argv[2] === 'member') member().catch((e) => { c.log({ ev: 'fatal', message: e.message, code: e.code }); setTimeout(() => process.exit(1), 500); });
else orchestrate(process.argv[2] || 'ckjs').then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
