import type { CommandAck, DeviceTwin } from '@fleetstream/domain';
import { AvroTopicProducer, DeviceCommandResponder, DeviceReaction, fleetGroups } from '@fleetstream/kafka';
import { CommandAckRecord, DeviceCommandRecord, DeviceEventRecord, readAvroSchema, RegistryCodec, toCommandAckRecord } from '@fleetstream/serde';
import type { CommandView } from '../apps/server/src/commands/command.view';
import { ServerProcess } from './support/server-process';
import { createTestStack, eventually, TestStack } from './support/test-stack';
import { adminHeaders } from './support/http';
import { commandEventsOnTopic, notEndedOnce } from './support/command-topic';

/** How the test's devices answer, by device id; the first attempt of dev-lost gets lost. */
function react(command: DeviceCommandRecord): DeviceReaction {
  switch (command.deviceId) {
    case 'dev-lost':
      return command.attempt === 1 ? { answer: false } : { answer: true, stages: ['delivered', 'accepted', 'succeeded'] };
    case 'dev-reject':
      return { answer: true, stages: ['rejected'], detail: 'unsupported firmware' };
    case 'dev-slow':
    case 'dev-stuck':
      return { answer: true, stages: ['delivered'] };
    default:
      return { answer: true, stages: ['delivered', 'accepted', 'succeeded'], result: { ok: true } };
  }
}

describe('command saga on the real stack', () => {
  let stack: TestStack;
  let server: ServerProcess;
  let device: DeviceCommandResponder;
  let gateway: AvroTopicProducer<DeviceEventRecord>;

  const post = (deviceId: string, body: object, headers: Record<string, string> = {}) =>
    server.request<CommandView & { message?: string | string[] }>('POST', `/devices/${deviceId}/commands`, body, headers);
  const command = async (commandId: string) => (await server.request<CommandView>('GET', `/commands/${commandId}`)).body;
  const until = (commandId: string, state: string, timeoutMs = 20_000) =>
    eventually(() => command(commandId), (view) => view?.state === state, timeoutMs);
  const events = (view: CommandView) => view.history.map((entry) => entry.event);
  const sentTo = (deviceId: string, action = 'EXECUTE') => device.received.filter((m) => m.deviceId === deviceId && m.action === action);

  /** The device's gateway reports it on- or offline; resolves once its twin says so. */
  async function connectivity(deviceId: string, online: boolean): Promise<void> {
    await gateway.send([{ deviceId, requestId: `gw-${Date.now()}`, at: Date.now(), kind: 'CONNECTIVITY', patchJson: null, expectedVersion: null, online }]);
    await eventually(
      () => server.request<{ connectivity: DeviceTwin['connectivity'] }>('GET', `/devices/${deviceId}/twin`),
      (twin) => twin.status === 200 && twin.body.connectivity.online === online,
    );
  }

  /** A device's acknowledgment, as its gateway would send it; resolves once the saga has consumed it. */
  async function acknowledge(ack: CommandAck): Promise<void> {
    const codec = new RegistryCodec<CommandAckRecord>(stack.registry, readAvroSchema('command-ack'));
    const value = await codec.encode(await codec.register(`${stack.topics.deviceAcks}-value`), toCommandAckRecord(ack, Date.now()));
    const producer = stack.kafka.producer();
    await producer.connect();
    const [written] = await producer.send({ topic: stack.topics.deviceAcks, messages: [{ key: ack.deviceId, value }] });
    await producer.disconnect();
    const admin = stack.kafka.admin();
    await admin.connect();
    const committed = async () => {
      const [offsets] = await admin.fetchOffsets({ groupId: fleetGroups(stack.config.TOPIC_PREFIX).commandSaga, topics: [stack.topics.deviceAcks] });
      return Number(offsets?.partitions.find((p) => p.partition === written!.partition)?.offset ?? -1);
    };
    await eventually(committed, (next) => next > Number(written!.baseOffset)).finally(() => admin.disconnect());
  }

  const serverEnv = { PROCESSORS: 'twins,commands', COMMAND_BACKOFF_INITIAL_MS: '200', COMMAND_TICK_MS: '50' };

  beforeAll(async () => {
    stack = await createTestStack();
    server = await (await ServerProcess.create(stack, serverEnv)).start();
    device = new DeviceCommandResponder(stack.kafka, stack.registry, stack.topics, { groupId: `${stack.config.TOPIC_PREFIX}.devices`, react, stageDelayMs: 20 });
    await device.start();
    gateway = new AvroTopicProducer(stack.kafka, new RegistryCodec<DeviceEventRecord>(stack.registry, readAvroSchema('device-event')), stack.topics.deviceEvents, (e) => e.deviceId);
    await gateway.connect();
    for (const deviceId of ['dev-ok', 'dev-lost', 'dev-reject', 'dev-slow', 'dev-idem']) await connectivity(deviceId, true);
  });

  afterAll(async () => {
    await device?.stop();
    await gateway?.disconnect();
    await server?.stop();
  });

  describe('when the device is online and answers', () => {
    it('runs requested → sent → delivered → accepted → succeeded, with the result', async () => {
      const created = await post('dev-ok', { name: 'reboot', params: { delaySeconds: 1 } });
      expect(created.status).toBe(202);
      expect(created.headers.get('location')).toBe(`/commands/${created.body.commandId}`);
      const done = await until(created.body.commandId, 'succeeded');
      expect(events(done)).toEqual(['requested', 'sent', 'delivered', 'accepted', 'succeeded']);
      expect(done).toMatchObject({ attempts: 1, result: { ok: true }, name: 'reboot', params: { delaySeconds: 1 } });
      expect(sentTo('dev-ok').filter((m) => m.commandId === done.commandId)).toHaveLength(1);
    });
  });

  describe('when the device is offline', () => {
    it('holds the command and sends it when the device returns before the time to live', async () => {
      const created = await post('dev-away', { name: 'update', ttlSeconds: 60 });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await command(created.body.commandId)).toMatchObject({ state: 'queued', attempts: 0 });
      await connectivity('dev-away', true);
      const done = await until(created.body.commandId, 'succeeded');
      expect(events(done)).toEqual(['requested', 'sent', 'delivered', 'accepted', 'succeeded']);
    });

    it('expires the command when the device does not return in time', async () => {
      await connectivity('dev-gone', false);
      const created = await post('dev-gone', { name: 'update', ttlSeconds: 1 });
      const expired = await until(created.body.commandId, 'expired');
      expect(events(expired)).toEqual(['requested', 'expired']);
      expect(sentTo('dev-gone')).toHaveLength(0);
    });
  });

  describe('when an acknowledgment is lost', () => {
    it('sends again after the delivery timeout and backoff, and succeeds', async () => {
      const created = await post('dev-lost', { name: 'sync', timeouts: { deliverySeconds: 0.5 }, maxAttempts: 3 });
      const done = await until(created.body.commandId, 'succeeded');
      expect(events(done)).toEqual(['requested', 'sent', 'retry_scheduled', 'sent', 'delivered', 'accepted', 'succeeded']);
      expect(sentTo('dev-lost').map((m) => m.attempt)).toEqual([1, 2]);
    });
  });

  describe('when the device rejects', () => {
    it('ends rejected with the reason', async () => {
      const created = await post('dev-reject', { name: 'format-disk' });
      const done = await until(created.body.commandId, 'rejected');
      expect(done.detail).toBe('unsupported firmware');
    });
  });

  describe('when an operator cancels', () => {
    it('cancels a queued command without the device ever seeing it', async () => {
      await connectivity('dev-off', false);
      const created = await post('dev-off', { name: 'reboot' });
      await until(created.body.commandId, 'queued');
      const cancelled = await server.request<CommandView>('POST', `/commands/${created.body.commandId}/cancel`, { reason: 'wrong device' });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject({ state: 'cancelled', detail: 'wrong device' });
      expect(sentTo('dev-off')).toHaveLength(0);
    });

    it('cancels a command in flight and tells the device to stop; a second cancel is a conflict', async () => {
      const created = await post('dev-slow', { name: 'long-job' });
      await until(created.body.commandId, 'delivered');
      const cancelled = await server.request<CommandView>('POST', `/commands/${created.body.commandId}/cancel`, {});
      expect(cancelled.body.state).toBe('cancelled');
      await eventually(async () => sentTo('dev-slow', 'CANCEL').length, (n) => n === 1);
      const again = await server.request<{ message: string }>('POST', `/commands/${created.body.commandId}/cancel`, {});
      expect(again.status).toBe(409);
      expect(again.body.message).toContain('already ended: cancelled');
    });
  });

  describe('when a request repeats', () => {
    it('returns the same command for the same Idempotency-Key and body, 409 for another body', async () => {
      const headers = { 'Idempotency-Key': 'op-42' };
      const first = await post('dev-idem', { name: 'reboot', params: { a: 1, b: 2 } }, headers);
      const repeat = await post('dev-idem', { params: { b: 2, a: 1 }, name: 'reboot' }, headers);
      expect(repeat.status).toBe(202);
      expect(repeat.headers.get('idempotent-replayed')).toBe('true');
      expect(repeat.body.commandId).toBe(first.body.commandId);
      const conflict = await post('dev-idem', { name: 'shutdown' }, headers);
      expect(conflict.status).toBe(409);
      expect(conflict.body.message).toContain('different body');
      await until(first.body.commandId, 'succeeded');
      expect(sentTo('dev-idem')).toHaveLength(1);
    });
  });

  describe('when a request is malformed', () => {
    it.each([
      [{}, 'name must be 1 to 128'],
      [{ name: 'x', params: [1] }, 'params must be a JSON object'],
      [{ name: 'x', ttlSeconds: -1 }, 'ttlSeconds must not be less than 0.1'],
      [{ name: 'x', timeouts: { deliverySeconds: 'soon' } }, 'timeouts.deliverySeconds must be a number'],
      [{ name: 'x', maxAttempts: 0 }, 'maxAttempts must not be less than 1'],
      [{ name: 'x', colour: 'red' }, 'property colour should not exist'],
    ])('%j → 400 naming the field', async (body, message) => {
      const response = await post('dev-ok', body);
      expect(response.status).toBe(400);
      expect(JSON.stringify(response.body.message)).toContain(message);
    });

    it('404 for an unknown command', async () => {
      expect((await server.request('GET', '/commands/no-such-command')).status).toBe(404);
      expect((await server.request('POST', '/commands/no-such-command/cancel', {})).status).toBe(404);
    });
  });

  describe('when the service is killed mid-saga and restarted', () => {
    it('resumes every command and ends each in exactly one terminal state', async () => {
      await connectivity('dev-later', false);
      const held = await post('dev-later', { name: 'update', ttlSeconds: 120 });
      const stuck = await post('dev-stuck', { name: 'calibrate', timeouts: { acceptanceSeconds: 3 } });
      await connectivity('dev-stuck', true);
      await until(stuck.body.commandId, 'delivered');
      await server.kill();
      server = await (await ServerProcess.create(stack, serverEnv)).start();
      // the acceptance deadline was set before the crash; the restarted saga still enforces it
      const timedOut = await until(stuck.body.commandId, 'timed_out');
      expect(timedOut.history.filter((entry) => entry.event === 'timed_out')).toEqual([expect.objectContaining({ stage: 'acceptance' })]);
      await connectivity('dev-later', true);
      await until(held.body.commandId, 'succeeded');
      expect(sentTo('dev-later')).toHaveLength(1);
      // answers that come after the end: the stuck device finishes late, the other one repeats itself
      await acknowledge({ commandId: stuck.body.commandId, deviceId: 'dev-stuck', stage: 'succeeded', attempt: 1, detail: null, result: null });
      await acknowledge({ commandId: held.body.commandId, deviceId: 'dev-later', stage: 'succeeded', attempt: 1, detail: null, result: null });

      // the topic itself, not a view that stops at the first terminal event
      const onTopic = await commandEventsOnTopic(stack);
      expect(onTopic.get(stuck.body.commandId)).toEqual(['requested', 'sent', 'delivered', 'timed_out']);
      expect(onTopic.get(held.body.commandId)).toEqual(['requested', 'sent', 'delivered', 'accepted', 'succeeded']);
      expect(notEndedOnce(onTopic)).toEqual([]);
    });
  });

  describe('when desired state changes', () => {
    const desiredSent = (deviceId: string) => sentTo(deviceId, 'DESIRED_STATE').map((m) => ({ params: JSON.parse(m.paramsJson) as unknown, version: m.version }));
    const patchDesired = (deviceId: string, patch: object) =>
      server.request('PATCH', `/devices/${deviceId}/twin/desired`, patch, { 'content-type': 'application/merge-patch+json' });

    it('publishes it to the device, and again when an offline device comes back', async () => {
      await connectivity('dev-desired', true);
      expect((await patchDesired('dev-desired', { reportEverySeconds: 5 })).status).toBe(200);
      await eventually(async () => desiredSent('dev-desired'), (sent) => sent.length === 1);
      expect(desiredSent('dev-desired')[0]!.params).toEqual({ reportEverySeconds: 5 });

      await connectivity('dev-desired', false);
      await patchDesired('dev-desired', { firmware: '2.0.0' });
      await eventually(async () => desiredSent('dev-desired'), (sent) => sent.length === 2);
      await connectivity('dev-desired', true);
      const sent = await eventually(async () => desiredSent('dev-desired'), (all) => all.length === 3);
      expect(sent[2]!.params).toEqual({ reportEverySeconds: 5, firmware: '2.0.0' });
      expect(sent[2]!.version).toBeGreaterThan(sent[1]!.version!);
    });
  });

  describe('GET /devices/:id/commands', () => {
    it('lists a device\'s commands newest first, filtered by state', async () => {
      const list = await server.request<{ commands: CommandView[] }>('GET', '/devices/dev-idem/commands?state=succeeded');
      expect(list.body.commands.map((c) => c.name)).toEqual(['reboot']);
      const bad = await server.request<{ message: string[] }>('GET', '/devices/dev-idem/commands?state=done');
      expect(bad.status).toBe(400);
    });

    it('counts commands by state on /metrics', async () => {
      const metrics = await (await fetch(`${server.url}/metrics`, { headers: adminHeaders })).text();
      expect(metrics).toMatch(/fleetstream_commands\{state="succeeded"\} [1-9]/);
    });
  });
});
