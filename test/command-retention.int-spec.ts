import { readTopicsToEnd } from '@fleetstream/kafka';
import { CommandEventRecord, CommandStateSnapshot, fromCommandStateSnapshot, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import type { CommandView } from '../apps/server/src/commands/command.view';
import { ServerProcess } from './support/server-process';
import { createTestStack, eventually, TestStack } from './support/test-stack';

const RETENTION_S = 2;

interface StateRecord {
  value: Buffer | null;
  timestamp: number;
  updatedAt: number | null;
}

describe('command retention on the real stack', () => {
  let stack: TestStack;
  let server: ServerProcess;
  const serverEnv = { PROCESSORS: 'twins,commands', COMMAND_RETENTION_S: String(RETENTION_S), COMMAND_TICK_MS: '50' };

  const post = async (deviceId: string, body: object) =>
    (await server.request<CommandView>('POST', `/devices/${deviceId}/commands`, body)).body.commandId;
  const status = async (commandId: string) => (await server.request<CommandView>('GET', `/commands/${commandId}`)).status;
  const until = (commandId: string, state: string) =>
    eventually(async () => (await server.request<CommandView>('GET', `/commands/${commandId}`)).body, (view) => view?.state === state);

  /**
   * fleet.command-state as the topic holds it (committed only): each key's records in order, with
   * the state's updatedAt (when it ended, for a terminal one), a tombstone's value null.
   */
  async function commandStateRecords(): Promise<Map<string, StateRecord[]>> {
    const codec = new RegistryCodec<CommandStateSnapshot>(stack.registry, readAvroSchema('command-state'));
    const byKey = new Map<string, StateRecord[]>();
    await readTopicsToEnd(stack.kafka, [stack.topics.commandState], async (records) => {
      for (const { key, value, timestamp } of records) {
        const commandId = key!.toString('utf8');
        const decoded = value === null ? null : await codec.decode(value);
        if (decoded && !decoded.ok) throw new Error(decoded.rejection.error);
        const updatedAt = decoded ? fromCommandStateSnapshot(decoded.value).updatedAt : null;
        byKey.set(commandId, [...(byKey.get(commandId) ?? []), { value, timestamp, updatedAt }]);
      }
    }, { groupPrefix: `${stack.config.TOPIC_PREFIX}.check`, timeoutMs: 30_000 });
    return byKey;
  }

  async function commandEvents(): Promise<Map<string, string[]>> {
    const codec = new RegistryCodec<CommandEventRecord>(stack.registry, readAvroSchema('command-event'));
    const byCommand = new Map<string, string[]>();
    await readTopicsToEnd(stack.kafka, [stack.topics.commands], async (records) => {
      for (const record of records) {
        const decoded = await codec.decode(record.value);
        if (!decoded.ok) throw new Error(decoded.rejection.error);
        byCommand.set(decoded.value.commandId, [...(byCommand.get(decoded.value.commandId) ?? []), decoded.value.type.toLowerCase()]);
      }
    }, { groupPrefix: `${stack.config.TOPIC_PREFIX}.check`, timeoutMs: 30_000 });
    return byCommand;
  }

  /** The command's records end with one tombstone, written no earlier than the retention after its last state. */
  function expectForgotten(records: StateRecord[] | undefined): void {
    expect(records).toBeDefined();
    const tombstones = records!.filter((record) => record.value === null);
    expect(tombstones).toHaveLength(1);
    expect(records!.at(-1)!.value).toBeNull();
    const lastState = records!.at(-2)!;
    expect(lastState.value).not.toBeNull();
    // the broker's timestamps and the service's clock are one machine's: a little slack for rounding
    expect(records!.at(-1)!.timestamp - lastState.updatedAt!).toBeGreaterThanOrEqual(RETENTION_S * 1000 - 5);
  }

  beforeAll(async () => {
    stack = await createTestStack();
    server = await (await ServerProcess.create(stack, serverEnv)).start();
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('tombstones ended commands on fleet.command-state after the retention, GET → 404, events stay; open commands stay', async () => {
    // no device is online: a short time to live expires, an operator cancels, a long one stays queued
    const expired = await post('dev-r1', { name: 'reboot', ttlSeconds: 0.3 });
    const cancelled = await post('dev-r2', { name: 'update' });
    const open = await post('dev-r3', { name: 'sync', ttlSeconds: 600 });
    await until(cancelled, 'queued');
    expect((await server.request<CommandView>('POST', `/commands/${cancelled}/cancel`, {})).body.state).toBe('cancelled');
    await until(expired, 'expired');

    for (const commandId of [expired, cancelled]) await eventually(() => status(commandId), (code) => code === 404, 15_000);
    const listed = await server.request<{ commands: CommandView[] }>('GET', '/devices/dev-r1/commands');
    expect(listed.body.commands.map((view) => view.commandId)).not.toContain(expired);
    expect(await status(open)).toBe(200);

    const states = await commandStateRecords();
    expectForgotten(states.get(expired));
    expectForgotten(states.get(cancelled));
    expect(states.get(open)!.every((record) => record.value !== null)).toBe(true);

    const events = await commandEvents();
    expect(events.get(expired)).toEqual(['requested', 'expired']);
    expect(events.get(cancelled)).toEqual(['requested', 'cancellation_requested', 'cancelled']);
  });

  it('after a restart, still tombstones commands that ended before it', async () => {
    const expired = await post('dev-r4', { name: 'reboot', ttlSeconds: 0.3 });
    await until(expired, 'expired');
    await server.kill();
    // ended less than the retention ago, and the service is down: not forgotten yet
    expect((await commandStateRecords()).get(expired)!.every((record) => record.value !== null)).toBe(true);

    server = await (await ServerProcess.create(stack, serverEnv)).start();
    await eventually(() => status(expired), (code) => code === 404, 15_000);
    const states = await commandStateRecords();
    expectForgotten(states.get(expired));
    expect([...states.values()].filter((records) => records.at(-1)!.value !== null)).toHaveLength(1); // the open command of dev-r3
  });
});
