import type { INestApplication } from '@nestjs/common';
import type { CommandRequest } from '@fleetstream/domain';
import {
  CommandEventRecord, CommandStateSnapshot, DeviceEventRecord, readAvroSchema, RegistryCodec, schemaWithout, SUBJECT_COMPATIBILITY, toCommandEventRecord, TwinSnapshot,
} from '@fleetstream/serde';
import { randomUUID } from 'node:crypto';
import { commandView } from '../apps/server/src/commands/command.view';
import type { CreateCommandDto } from '../apps/server/src/commands/command.dto';
import { CommandStateReadModel } from '../apps/server/src/commands/command-state-read-model';
import { CommandsService } from '../apps/server/src/commands/commands.service';
import { DeviceEventsPublisher } from '../apps/server/src/twins/device-events.publisher';
import { TwinReadModel } from '../apps/server/src/twins/twin-read-model';
import { twinView } from '../apps/server/src/twins/twin.view';
import { startTestApp } from './support/test-app';
import { createTestStack, eventually, readTopic, TestStack } from './support/test-stack';

const REQUESTER = 'key:ops-bot';
const CANCELLER = 'jwt:alice@example.com';
const PATCHER = 'jwt:bob@example.com';
const REMOVER = 'key:admin-tool';

/** The fields each schema gained for the audit trail. */
const ADDED: Record<string, string[]> = {
  'command-event': ['actor'],
  'command-state': ['requestedBy', 'cancelledBy'],
  'device-event': ['actor'],
  'device-twin': ['desiredChangedAt', 'desiredChangedBy'],
};

/**
 * The caller a REST call names reaches the topics themselves: the command's events on
 * fleet.commands (the REST API's intents and the saga's CANCELLED), its state on
 * fleet.command-state, the device events on fleet.device-events and the twin on fleet.twins
 * (written by the twin processor). Driven through the services the controllers call, on the real
 * stack; the topics are read committed. The views are what GET /commands/:id and GET
 * /devices/:id/twin answer, built from the read models those routes read.
 */
describe('who asked, on the topics', () => {
  let stack: TestStack;
  let app: INestApplication;

  /** Every record of a topic, decoded; waits for at least `expected` of them. */
  async function decoded<T>(topic: string, schema: string, expected: number): Promise<T[]> {
    const codec = new RegistryCodec<T>(stack.registry, readAvroSchema(schema));
    const values: T[] = [];
    for (const record of await readTopic(stack, topic, expected)) {
      if (record.value === null) continue;
      const result = await codec.decode(record.value);
      if (!result.ok) throw new Error(`${topic}/${record.partition}@${record.offset}: ${result.rejection.error}`);
      values.push(result.value);
    }
    return values;
  }

  /** Resolves once the command-state read model (what GET /commands/:id reads) holds the command. */
  const recorded = (commandId: string) => eventually(async () => app.get(CommandStateReadModel).get(commandId), (state) => state !== undefined);

  beforeAll(async () => {
    stack = await createTestStack();
    process.env.PROCESSORS = 'twins,commands';
    app = await startTestApp(stack);
  });

  afterAll(async () => {
    await app?.close();
    delete process.env.PROCESSORS;
  });

  describe('when a command is requested by one caller and cancelled by another', () => {
    let commandId: string;

    beforeAll(async () => {
      const commands = app.get(CommandsService);
      // the device has never been seen, so the command waits queued until the cancellation
      const { state } = await commands.request('pump-audit', { name: 'reboot' } as CreateCommandDto, undefined, REQUESTER);
      commandId = state.request.commandId;
      await recorded(commandId);
      const outcome = await commands.cancel(commandId, 'wrong pump', CANCELLER);
      expect(outcome).toMatchObject({ settled: true, state: { status: 'cancelled' } });
    });

    it('fleet.commands carries the requester on REQUESTED and the canceller on CANCELLATION_REQUESTED and CANCELLED', async () => {
      const events = (await decoded<CommandEventRecord>(stack.topics.commands, 'command-event', 3)).filter((event) => event.commandId === commandId);
      expect(events.map((event) => [event.type, event.actor])).toEqual([
        ['REQUESTED', REQUESTER],
        ['CANCELLATION_REQUESTED', CANCELLER],
        ['CANCELLED', CANCELLER],
      ]);
    });

    it('fleet.command-state keeps both on the cancelled state', async () => {
      const states = (await decoded<CommandStateSnapshot>(stack.topics.commandState, 'command-state', 2)).filter((state) => state.commandId === commandId);
      expect(states.at(-1)).toMatchObject({ status: 'CANCELLED', requestedBy: REQUESTER, cancelledBy: CANCELLER });
    });

    it('the command view shows who requested and who cancelled', () => {
      expect(commandView(app.get(CommandsService).get(commandId))).toMatchObject({ state: 'cancelled', requestedBy: REQUESTER, cancelledBy: CANCELLER });
    });
  });

  describe('when a caller patches desired state', () => {
    const deviceId = 'valve-audit';
    let patchedAt: number;

    beforeAll(async () => {
      const events = app.get(DeviceEventsPublisher);
      patchedAt = Date.now();
      await events.publish({ deviceId, requestId: randomUUID(), at: patchedAt, kind: 'DESIRED_PATCH', patchJson: '{"rate":5}', expectedVersion: null, online: null, actor: PATCHER });
    });

    it('fleet.twins carries who last changed desired state, and when', async () => {
      const twins = (await decoded<TwinSnapshot>(stack.topics.twins, 'device-twin', 1)).filter((twin) => twin.deviceId === deviceId);
      expect(twins.at(-1)).toMatchObject({ desiredJson: '{"rate":5}', desiredChangedBy: PATCHER, desiredChangedAt: patchedAt });
    });

    it('the twin view shows it', async () => {
      const twin = await eventually(async () => app.get(TwinReadModel).get(deviceId), (found) => found !== undefined);
      expect(twinView(twin!, Date.now(), 300_000)).toMatchObject({ desired: { rate: 5 }, desiredChangedBy: PATCHER, desiredChangedAt: new Date(patchedAt).toISOString() });
    });
  });

  describe('when a caller removes a device another one configured', () => {
    const deviceId = 'valve-removed';

    it('fleet.device-events carries the caller of the patch and of the removal', async () => {
      const events = app.get(DeviceEventsPublisher);
      await events.publish({ deviceId, requestId: randomUUID(), at: Date.now(), kind: 'DESIRED_PATCH', patchJson: '{"rate":1}', expectedVersion: null, online: null, actor: PATCHER });
      await events.publish({ deviceId, requestId: randomUUID(), at: Date.now(), kind: 'REMOVE', patchJson: null, expectedVersion: null, online: null, actor: REMOVER });
      const recorded = (await decoded<DeviceEventRecord>(stack.topics.deviceEvents, 'device-event', 3)).filter((event) => event.deviceId === deviceId);
      expect(recorded.map((event) => [event.kind, event.actor])).toEqual([
        ['DESIRED_PATCH', PATCHER],
        ['REMOVE', REMOVER],
      ]);
    });
  });

  describe('when the topics hold records from before the audit fields', () => {
    /** Registers the schema as it was before the audit fields under `subject` and encodes `value` with it, as an older version did. */
    async function encodeAsOld(schema: string, subject: string, value: object): Promise<Buffer> {
      const codec = new RegistryCodec<object>(stack.registry, schemaWithout(readAvroSchema(schema), ADDED[schema]!));
      const old = Object.fromEntries(Object.entries(value).filter(([field]) => !ADDED[schema]!.includes(field)));
      return codec.encode(await codec.register(subject), old);
    }

    async function produce(topic: string, key: string, value: Buffer): Promise<void> {
      const producer = stack.kafka.producer();
      await producer.connect();
      await producer.send({ topic, acks: -1, messages: [{ key, value }] });
      await producer.disconnect();
    }

    it(`the registry takes each new schema after the old one (${SUBJECT_COMPATIBILITY})`, async () => {
      for (const [schema, fields] of Object.entries(ADDED)) {
        const subject = `${stack.config.TOPIC_PREFIX}.evolve-${schema}-value`;
        await new RegistryCodec(stack.registry, schemaWithout(readAvroSchema(schema), fields)).register(subject);
        await expect(new RegistryCodec(stack.registry, readAvroSchema(schema)).register(subject)).resolves.toBeGreaterThan(0);
      }
    });

    it('an old desired patch still applies, and the twin knows nobody as its changer', async () => {
      const deviceId = 'valve-old';
      const patch = { deviceId, requestId: randomUUID(), at: Date.now(), kind: 'DESIRED_PATCH', patchJson: '{"rate":9}', expectedVersion: null, online: null };
      await produce(stack.topics.deviceEvents, deviceId, await encodeAsOld('device-event', `${stack.topics.deviceEvents}-value`, patch));
      const twin = await eventually(async () => app.get(TwinReadModel).get(deviceId), (found) => found !== undefined);
      expect(twin).toMatchObject({ desired: { rate: 9 }, desiredChangedBy: null, desiredChangedAt: patch.at });
    });

    it('an old command request still runs, and the command knows nobody as its requester', async () => {
      const request: CommandRequest = {
        commandId: `old-${randomUUID()}`, deviceId: 'pump-old', name: 'reboot', params: {}, ttlMs: 3_600_000,
        timeouts: { deliveryMs: 30_000, acceptanceMs: 60_000, executionMs: 600_000 }, maxAttempts: 5,
        backoff: { initialMs: 1000, maxMs: 60_000 }, ordered: true, idempotencyKey: null, bodyHash: 'old', requestedBy: null,
      };
      const record = toCommandEventRecord({ type: 'CommandRequested', data: request, metadata: { at: Date.now() } });
      await produce(stack.topics.commands, request.deviceId, await encodeAsOld('command-event', `${stack.topics.commands}-value`, record));
      await recorded(request.commandId);
      expect(commandView(app.get(CommandsService).get(request.commandId))).toMatchObject({ state: 'queued', requestedBy: null, cancelledBy: null });
    });
  });
});
