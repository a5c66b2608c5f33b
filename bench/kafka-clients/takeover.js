// Takeover after kill -9: how long until the killed member's partitions are consumed again.
//   node takeover.js <ckjs|kafkajs|platformatic> <static|dynamic|static-norestart|dynamic-norestart> [kills=5] [sessionMs=6000]
// static: the victim restarts at once with the same group.instance.id (ckjs, platformatic; kafkajs has no static membership).
// dynamic: the victim restarts at once as a new member; the group waits for the dead member's session to expire.
// *-norestart: the victim stays dead until its partitions moved to the survivor (then it is started again for the next kill).
// A producer writes one record to each of 6 partitions every 50 ms; two members (survivor + victim) consume.
// For each kill: the time from SIGKILL until every partition the victim was consuming has a consumption again.
// env: KAFKA_BROKERS, CKJS_PATH, KAFKAJS_PATH, PLATFORMATIC_PATH (see common.js); GROUP_PROTOCOL=consumer: ckjs members use
// KIP-848 (Kafka 4; the session timeout is then the broker's group.consumer.session.timeout.ms, not the argument)
'use strict';
const { spawn } = require('node:child_process');
const c = require('./common');

// members still running when the orchestrator ends (also on a failed run) are killed with it
const children = [];
process.on('exit', () => { for (const child of children) { try { child.kill('SIGKILL'); } catch {} } });

async function member() {
  const { CLIENT, GROUP, TOPIC, NAME, INSTANCE_ID, SESSION_MS } = process.env;
  const sessionTimeout = Number(SESSION_MS);
  let consumer;
  if (CLIENT === 'platformatic') {
    const pk = c.loadPlatformatic();
    consumer = new pk.Consumer({ groupId: GROUP, clientId: NAME, bootstrapBrokers: c.brokers, sessionTimeout, heartbeatInterval: Math.min(3000, sessionTimeout / 3), maxWaitTime: 100, ...(INSTANCE_ID ? { groupInstanceId: INSTANCE_ID } : {}) });
    const stream = await consumer.consume({ topics: [TOPIC], mode: 'committed', fallbackMode: 'latest', autocommit: 1000, sessionTimeout, heartbeatInterval: Math.min(3000, sessionTimeout / 3) });
    for await (const message of stream) process.stdout.write(`m ${NAME} ${message.partition} ${Date.now()}\n`);
    return;
  }
  if (CLIENT === 'ckjs') {
    const extra = INSTANCE_ID ? { 'group.instance.id': INSTANCE_ID } : {};
    consumer = process.env.GROUP_PROTOCOL === 'consumer'
      // KIP-848: the broker owns session timeout and heartbeat interval (group.consumer.*), the client may not set them
      ? c.ckjs(NAME).consumer({ kafkaJS: { groupId: GROUP, fromBeginning: false, maxWaitTimeInMs: 100 }, 'group.protocol': 'consumer', ...extra })
      : c.ckjs(NAME).consumer({ kafkaJS: { groupId: GROUP, fromBeginning: false, sessionTimeout, heartbeatInterval: Math.min(3000, sessionTimeout / 3), maxWaitTimeInMs: 100 }, ...extra });
  } else {
    consumer = c.kafkajs(NAME).consumer({ groupId: GROUP, sessionTimeout, heartbeatInterval: Math.min(3000, sessionTimeout / 3), maxWaitTimeInMs: 100 });
  }
  await consumer.connect();
  await consumer.subscribe(CLIENT === 'ckjs' ? { topics: [TOPIC] } : { topic: TOPIC });
  await consumer.run({ eachMessage: async ({ partition }) => { process.stdout.write(`m ${NAME} ${partition} ${Date.now()}\n`); } });
}

async function orchestrate(client, mode, kills, sessionMs) {
  const run = `${client}-${mode}-${c.now()}`;
  const TOPIC = `takeover-${run}`, GROUP = `takeover-${run}`, P = 6;
  await c.createTopics([{ topic: TOPIC, partitions: P }]);
  const producer = c.kafkajs().producer();
  await producer.connect();
  let producing = true;
  (async () => { while (producing) { await producer.send({ topic: TOPIC, messages: Array.from({ length: P }, (_, partition) => ({ partition, value: 'x'.repeat(100) })) }).catch(() => {}); await c.sleep(50); } })();

  const last = new Map(); // `${name} ${partition}` -> t ; and partition -> [t...]
  const seen = []; // {name, partition, t}
  const spawnMember = (name) => {
    const env = { ...process.env, CLIENT: client, GROUP, TOPIC, NAME: name, SESSION_MS: String(sessionMs) };
    if (mode.startsWith('static')) env.INSTANCE_ID = `${GROUP}-${name}`;
    const child = spawn(process.execPath, [__filename, 'member'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    let buf = '';
    child.stdout.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\n')) >= 0) { const [, n, p, t] = buf.slice(0, i).split(' '); buf = buf.slice(i + 1); seen.push({ name: n, partition: Number(p), t: Number(t) }); last.set(`${n} ${p}`, Number(t)); } });
    return child;
  };
  const survivor = spawnMember('survivor');
  let victim = spawnMember('victim');
  const results = [];
  const waitUntil = async (pred, ms) => { const t0 = c.now(); while (c.now() - t0 < ms) { if (pred()) return true; await c.sleep(20); } return false; };
  for (let k = 0; k < kills; k++) {
    // both members consuming steadily
    if (!await waitUntil(() => [...Array(P).keys()].some((p) => c.now() - (last.get(`victim ${p}`) || 0) < 500) && [...Array(P).keys()].some((p) => c.now() - (last.get(`survivor ${p}`) || 0) < 500), 120000)) throw new Error('victim never got partitions');
    await c.sleep(3000);
    const owned = [...Array(P).keys()].filter((p) => c.now() - (last.get(`victim ${p}`) || 0) < 1000);
    victim.kill('SIGKILL');
    const killedAt = c.now();
    const restart = !mode.endsWith('-norestart');
    if (restart) victim = spawnMember('victim');
    const ok = await waitUntil(() => owned.every((p) => seen.some((s) => s.partition === p && s.t > killedAt)), 120000);
    const per = owned.map((p) => seen.find((s) => s.partition === p && s.t > killedAt)?.t - killedAt);
    const gap = Math.max(...per);
    results.push(gap);
    c.log({ ev: 'kill', k, owned, ok, takeoverMs: gap, by: owned.map((p) => seen.find((s) => s.partition === p && s.t > killedAt)?.name) });
    seen.splice(0, seen.length);
    if (!restart) victim = spawnMember('victim');
  }
  producing = false;
  survivor.kill('SIGKILL'); victim.kill('SIGKILL');
  await producer.disconnect();
  console.log('SUMMARY ' + JSON.stringify({ client, mode, sessionMs, kills, takeoverMs: results, median: c.median(results), max: Math.max(...results) }));
}

if (process.argv[2] === 'member') member().catch((e) => { console.error(e); process.exit(1); });
else orchestrate(process.argv[2] || 'ckjs', process.argv[3] || 'static', Number(process.argv[4] || 5), Number(process.argv[5] || 6000)).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
